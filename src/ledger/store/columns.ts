// The ledger's tables as its statements spell them: one row mapping per table, its column list
// read from the MikroORM entity (src/db/entities.ts, columnsOf), so that entities, query builders
// and raw statements name the same columns and a column added to an entity reaches every select
// list, insert and row set by itself (test/ledger/store-columns.test.ts). BIGINT money is read
// as text (CAST ... AS TEXT works on both engines) and parsed with BigInt, so no precision is
// lost; PostgreSQL returns other BIGINTs (times, counters) as strings, hence Number().
import type { Row } from "../../db/database";
import { Account, Entry, Table, Transaction, type AccountEntity, type EntryEntity, type TransactionEntity } from "../../db/entities";
import type { AccountKind, AccountStatus, AccountType, AccountView, LimitSetting, TransactionStatus, TransactionType, TransactionView } from "../types";

export { json } from "../../db/entities";

export const ACCOUNTS = new Table(Account);
export const TRANSACTIONS = new Table(Transaction);
export const ENTRIES = new Table(Entry);

/** Every account column (money as text). */
export function accountColumns(prefix = ""): string {
  return ACCOUNTS.select(prefix);
}

/** Every transaction column (money as text). */
export function transactionColumns(prefix = ""): string {
  return TRANSACTIONS.select(prefix);
}

/** A limit column as the domain has it: null = the default, -1 = no limit, else minor units. */
function limitSetting(value: bigint | null | undefined): LimitSetting {
  return value === null || value === undefined ? null : value === -1n ? "unlimited" : value;
}

/** The column value of a limit setting. */
export function limitColumn(setting: LimitSetting): string | null {
  return setting === null ? null : setting === "unlimited" ? "-1" : setting.toString();
}

/** An account entity as the ledger sees it: the one mapping of an accounts row, whether it came
 * from the unit of work, a query builder or a raw statement (toAccount). */
export function accountView(a: AccountEntity): AccountView {
  return {
    id: a.id,
    number: a.number,
    ownerId: a.ownerId ?? "",
    kind: a.kind as AccountKind,
    currency: a.currency,
    type: a.accountType as AccountType,
    status: a.status as AccountStatus,
    displayName: a.displayName,
    balance: a.balance,
    held: a.held,
    overdraftLimit: a.overdraftLimit,
    createTimeMs: a.createTime,
    updateTimeMs: a.updateTime,
    version: a.version,
    shard: a.shard ?? 0,
    limits: { deposit: limitSetting(a.depositLimit), withdrawal: limitSetting(a.withdrawalLimit), transferOut: limitSetting(a.transferOutLimit), incoming: limitSetting(a.incomingLimit) },
    usage: { day: a.usageDay ?? 0, deposit: a.depositUsed ?? 0n, withdrawal: a.withdrawalUsed ?? 0n, transferOut: a.transferOutUsed ?? 0n, incoming: a.incomingUsed ?? 0n },
  };
}

/** A row of accountColumns() -> the account. */
export function toAccount(row: Row): AccountView {
  return accountView(ACCOUNTS.entity(row));
}

/** An account and its entry count (the position of its last entry; what the posting engine locks). */
export type CountedAccount = AccountView & { entryCount: number };

/** The account without its entry count, as the ledger's callers see it. */
export function withoutCount({ entryCount: _entries, ...account }: CountedAccount): AccountView {
  return account;
}

/** A new account's row: what its opening names, everything else at its starting value (no money,
 * no entries, version 1, the currency's default limits). */
export function newAccountEntity(a: Pick<AccountEntity, "id" | "number" | "ownerId" | "kind" | "currency" | "accountType" | "displayName" | "shard">, nowMs: number): AccountEntity {
  return {
    ...a, status: "ACTIVE", balance: 0n, held: 0n, overdraftLimit: 0n, entryCount: 0, version: 1, createTime: nowMs, updateTime: nowMs,
    depositLimit: null, withdrawalLimit: null, transferOutLimit: null, incomingLimit: null, usageDay: 0, depositUsed: 0n, withdrawalUsed: 0n, transferOutUsed: 0n, incomingUsed: 0n,
  };
}

/** A row of accountColumns() -> the account with its entry count. */
export function toLockedAccount(row: Row): CountedAccount {
  const entity = ACCOUNTS.entity(row);
  return { ...accountView(entity), entryCount: entity.entryCount };
}

/** A transaction entity as the ledger sees it: the one mapping of a transactions row. */
export function transactionView(t: TransactionEntity): TransactionView {
  return {
    id: t.id,
    type: t.txType as TransactionType,
    status: t.status as TransactionStatus,
    currency: t.currency,
    amount: t.amount,
    fromAccountId: t.fromAccountId ?? "",
    toAccountId: t.toAccountId ?? "",
    description: t.description,
    requestId: t.requestId,
    initiatedBy: t.initiatedBy,
    reversesId: t.reversesId ?? "",
    holdId: t.holdId ?? "",
    expireTimeMs: t.expireTime ?? null,
    createTimeMs: t.createTime,
  };
}

/** A transaction as written: the view and its update time -> the entity (ids "" -> NULL). */
export function transactionEntity(t: TransactionView & { updateTimeMs: number }): TransactionEntity {
  return {
    id: t.id, txType: t.type, status: t.status, currency: t.currency, amount: t.amount, fromAccountId: t.fromAccountId || null,
    toAccountId: t.toAccountId || null, description: t.description, requestId: t.requestId, initiatedBy: t.initiatedBy,
    reversesId: t.reversesId || null, holdId: t.holdId || null, expireTime: t.expireTimeMs, createTime: t.createTimeMs, updateTime: t.updateTimeMs,
  };
}

/** A row of transactionColumns() -> the transaction. */
export function toTransaction(row: Row): TransactionView {
  return transactionView(TRANSACTIONS.entity(row));
}

/** An entry as written (its id is the database's). */
export function entryEntity(e: { transactionId: string; accountId: string; seq: number; amount: bigint; balanceAfter: bigint; createTimeMs: number }): Omit<EntryEntity, "id"> {
  return { transactionId: e.transactionId, accountId: e.accountId, seq: e.seq, amount: e.amount, balanceAfter: e.balanceAfter, createTime: e.createTimeMs };
}
