// The accounts table's statements outside the posting engine: reads (by id, by number, an owner's
// page), the locks and conditional updates of the account commands (name, overdraft, status,
// limits: never balances), opening an account, the settlement shards, and the status read of
// WatchAccount. Through the entity (unit of work, query builders) where MikroORM spells the
// statement, raw where a statement is the ledger's own; either way the row comes back as
// columns.ts maps it.
import { LockMode, type FilterQuery } from "@mikro-orm/core";
import type { Row, Tx } from "../../db/database";
import { Account, User, type AccountEntity } from "../../db/entities";
import { preparedQuery } from "../../db/prepared-query";
import type { AccountView, LimitSetting } from "../types";
import { ACCOUNTS, accountColumns, accountView, limitColumn, newAccountEntity, toLockedAccount, type CountedAccount } from "./columns";

/** The account with this id, read raw (`lock`: locked until COMMIT on PostgreSQL). */
export async function readAccount(tx: Tx, id: string, lock = false): Promise<CountedAccount | undefined> {
  const row = await tx.one(`SELECT ${accountColumns()} FROM accounts WHERE id = ?${lock ? tx.engine.lockRows : ""}`, [id]);
  return row && toLockedAccount(row);
}

/** GetAccount's read, on every call: prepared (src/db/prepared-query.ts; bench/coldpaths-micro.ts
 * has the figures). */
const accountById = preparedQuery(Account, "a", (qb, p) => qb.select("*").where({ id: p(0) }));

export async function accountOfId(tx: Tx, id: string): Promise<AccountView | undefined> {
  const account = await accountById.one(tx, [id]);
  return account && accountView(account);
}

export async function accountOfNumber(tx: Tx, number: string): Promise<AccountView | undefined> {
  const account = await tx.em.findOne(Account, { number }, { disableIdentityMap: true });
  return account ? accountView(account) : undefined;
}

/** Customer accounts, newest (highest id) first: one owner's or all, below `beforeId`. */
export async function customerAccounts(tx: Tx, page: { ownerId: string; beforeId?: string; limit: number }): Promise<AccountView[]> {
  const where: FilterQuery<AccountEntity> = { kind: "CUSTOMER" };
  if (page.ownerId !== "") where.ownerId = page.ownerId;
  if (page.beforeId !== undefined) where.id = { $lt: page.beforeId };
  const rows = await tx.em.find(Account, where, { orderBy: { id: "desc" }, limit: page.limit, disableIdentityMap: true });
  return rows.map(accountView);
}

/** The account locked until COMMIT (PostgreSQL; SQLite's single writer serializes). */
export async function lockAccount(tx: Tx, id: string): Promise<AccountView | undefined> {
  const account = await tx.em.findOne(Account, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, disableIdentityMap: true });
  return account ? accountView(account) : undefined;
}

/** Whether the user exists; `lock`: locked until COMMIT (PostgreSQL), so that parallel openings
 * for one owner count that owner's accounts one after another. */
export async function ownerExists(tx: Tx, ownerId: string, lock: boolean): Promise<boolean> {
  const owner = await tx.em.findOne(User, { id: ownerId }, { fields: ["id"], disableIdentityMap: true, ...(lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {}) });
  return owner !== null;
}

/** The owner's accounts that are not closed. */
export function openAccountCount(tx: Tx, ownerId: string): Promise<number> {
  return tx.em.count(Account, { ownerId, status: { $ne: "CLOSED" } });
}

/** Inserts the account unless its number (or id) is taken: ON CONFLICT DO NOTHING (the unit of
 * work's INSERT would fail, and on PostgreSQL a failed statement aborts the whole transaction).
 * Returns whether it was inserted. */
export async function insertAccount(tx: Tx, account: AccountEntity): Promise<boolean> {
  const inserted = await tx.em.createQueryBuilder(Account).insert(account).onConflict().ignore().execute("run");
  return inserted.affectedRows === 1;
}

/** Writes name, overdraft limit, status, version and update time (never balances), conditional
 * on the version read (nativeUpdate): it can never overwrite a change it did not see, and it
 * writes only these columns, whatever else the row holds. Returns the rows changed. */
export function saveAccountState(tx: Tx, next: AccountView, version: number, updateTimeMs: number): Promise<number> {
  return tx.em.nativeUpdate(
    Account,
    { id: next.id, version: next.version },
    { displayName: next.displayName, overdraftLimit: next.overdraftLimit, status: next.status, version, updateTime: updateTimeMs },
  );
}

/** Tells other processes' WatchAccount streams, at COMMIT, that a status changed (PostgreSQL: a
 * NOTIFY in this transaction, never delivered for a rollback; SQLite: nothing, the change feed
 * polls the audit rows). */
export async function notifyStatusChange(tx: Tx): Promise<void> {
  if (tx.engine.notifyStatusSql) await tx.all(tx.engine.notifyStatusSql);
}

/** Sets the four daily limits and bumps the version (the row is locked). */
export async function saveAccountLimits(tx: Tx, id: string, next: Record<"deposit" | "withdrawal" | "transferOut" | "incoming", LimitSetting>, updateTimeMs: number): Promise<void> {
  await tx.run(
    `UPDATE accounts SET deposit_limit = ?, withdrawal_limit = ?, transfer_out_limit = ?, incoming_limit = ?, version = version + 1, update_time = ? WHERE id = ?`,
    [limitColumn(next.deposit), limitColumn(next.withdrawal), limitColumn(next.transferOut), limitColumn(next.incoming), updateTimeMs, id],
  );
}

/** Inserts a currency's missing settlement shards (insert-or-ignore on the unique index
 * accounts_settlement): returns the ids of the ones this call created. */
export async function insertSettlementShards(tx: Tx, currency: string, shards: readonly { id: string; number: string; shard: number; name: string }[], nowMs: number): Promise<string[]> {
  const rows = shards.map((s) => newAccountEntity({ id: s.id, number: s.number, ownerId: null, kind: "SETTLEMENT", currency, accountType: "CHECKING", displayName: s.name, shard: s.shard }, nowMs));
  const created = await tx.all<{ id: string }>(
    `${ACCOUNTS.insertFrom(tx.engine.jsonRows("r", ACCOUNTS.jsonColumns()))} WHERE 1 = 1 ON CONFLICT DO NOTHING RETURNING ${ACCOUNTS.column("id")}`,
    [ACCOUNTS.json(rows)],
  );
  return created.map((r) => r.id);
}

/** Every settlement account: its id, currency and shard. */
export async function settlementAccounts(tx: Tx): Promise<{ id: string; currency: string; shard: number }[]> {
  const found = await tx.all<{ id: string; currency: string; shard: number | string }>(`SELECT id, currency, shard FROM accounts WHERE kind = 'SETTLEMENT' ORDER BY currency, shard`);
  return found.map((r) => ({ id: r.id, currency: r.currency, shard: Number(r.shard) }));
}

/** WatchAccount: the watched accounts whose status is not the one their watcher last reported. */
export async function changedStatuses(tx: Tx, reported: readonly { w: number; account_id: string; status: string }[]): Promise<{ watcherId: number; account: CountedAccount }[]> {
  const s = tx.engine.jsonRows("s", [{ name: "w", type: "bigint" }, { name: "account_id", type: "text" }, { name: "status", type: "text" }]);
  const rows = await tx.all<Row>(`SELECT s.w AS watcher_id, ${accountColumns("a")} FROM accounts a JOIN ${s} ON a.id = s.account_id AND a.status <> s.status`, [JSON.stringify(reported)]);
  return rows.map((row) => ({ watcherId: Number(row.watcher_id), account: toLockedAccount(row) }));
}
