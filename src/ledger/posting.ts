// The posting function: the only code that changes accounts.balance and accounts.held
// (post, and lockAndPost which sends the lock and the write in one round trip and checks before
// commit instead of before the write).
//
// One posting = one transaction row + one entry per touched account (entries are append-only,
// numbered per account by seq, and carry balance_after), applied with atomic SQL:
//   1. the accounts were locked by lockAccounts (one SELECT ... WHERE id IN (...) ORDER BY id
//      FOR UPDATE: ascending id order, so two opposite transfers cannot deadlock);
//   2. checks that are expected to fail become DomainErrors, before anything is written:
//      status, currency, the floor (balance - held + overdraft_limit >= 0), the balance limit
//      (lockAndPost, for postings whose legs are known before the lock, on PostgreSQL: the
//      write follows the lock in the same round trip and the checks run before COMMIT; a
//      refusal rolls the write back, so nothing of it is ever committed or seen by others);
//   3. INSERT the transaction; one UPDATE ... RETURNING of every touched account; one INSERT of
//      all entries with the seq and balance_after the database returned (on PostgreSQL all
//      three in one statement, so the locks are held for one round trip fewer than two);
//   4. assertions on what the database returned: entries sum to zero, per currency the
//      touched balances changed by zero in total, holds never negative, the floor held. A
//      failed assertion is a bug: a plain Error, the transaction rolls back, INTERNAL.
import type { Tx } from "../db/database";
import { failedPrecondition } from "../errors";
import { uuidv7 } from "../ids";
import { limits } from "../limits";
import { accountColumns, placeholders, toAccount } from "./rows";
import type { AccountView, TransactionStatus, TransactionType, TransactionView } from "./types";
import { availableOf } from "./types";

export interface LockedAccount extends AccountView {
  entryCount: number;
}

/** Accounts locked for this database transaction, by id. */
export type LockedAccounts = ReadonlyMap<string, LockedAccount>;

/**
 * Locks the accounts with these ids (and these account numbers) in ascending id order and
 * returns them. Missing ones are simply absent. On SQLite the single writer serializes instead.
 */
export async function lockAccounts(tx: Tx, ids: readonly string[], numbers: readonly string[] = []): Promise<LockedAccounts> {
  const statement = lockStatement(tx, ids, numbers);
  return statement ? toLocked(await tx.all(statement.sql, statement.params)) : new Map();
}

function lockStatement(tx: Tx, ids: readonly string[], numbers: readonly string[]): { sql: string; params: unknown[] } | undefined {
  const unique = [...new Set(ids)];
  const where: string[] = [];
  if (unique.length > 0) where.push(`id IN (${placeholders(unique.length)})`);
  if (numbers.length > 0) where.push(`number IN (${placeholders(numbers.length)})`);
  if (where.length === 0) return undefined;
  return {
    sql: `SELECT ${accountColumns()} FROM accounts WHERE ${where.join(" OR ")} ORDER BY id${tx.engine.lockRows}`,
    params: [...unique, ...numbers],
  };
}

function toLocked(rows: Record<string, unknown>[]): LockedAccounts {
  return new Map(rows.map((row) => {
    const account = toAccount(row);
    return [account.id, { ...account, entryCount: Number(row.entry_count) }];
  }));
}

/** One account's part of a posting. */
export interface Leg {
  accountId: string;
  /** Signed change of the ledger balance (an entry of this amount is written, 0 included). */
  amount: bigint;
  /** Signed change of the held total (holds: +, capture / release: -). */
  held: bigint;
}

export interface NewTransaction {
  type: TransactionType;
  status: TransactionStatus;
  currency: string;
  amount: bigint;
  /** null for the settlement side: the money comes from outside the bank. */
  fromAccountId: string | null;
  toAccountId: string | null;
  description: string;
  requestId: string;
  initiatedBy: string;
  reversesId?: string | null;
  holdId?: string | null;
  expireTimeMs?: number | null;
}

export interface Posting {
  transaction: NewTransaction;
  legs: Leg[];
  /** Admin reversals only: skip the floor check (API.md: never below the floor unless forced). */
  force?: boolean;
}

interface Applied {
  leg: Leg;
  before: LockedAccount;
  balance: bigint;
  held: bigint;
  seq: number;
}

/** Posts a transaction; returns it as stored. `nowMs` is the caller's clock. */
export async function post(tx: Tx, locked: LockedAccounts, posting: Posting, nowMs: number): Promise<TransactionView> {
  const legs = posting.legs;
  const accounts = legs.map((leg) => locked.get(leg.accountId) ?? fail(`posting touches unlocked account ${leg.accountId}`));
  assertShape(legs);
  checkLegs(posting, accounts);
  // Entry times never go backwards on an account, so balance-at-time can trust create_time.
  const createTimeMs = Math.max(nowMs, ...accounts.map((a) => a.updateTimeMs));
  const id = uuidv7(createTimeMs);
  const t = posting.transaction;
  const applied = await writeStepByStep(tx, transactionRow(id, t, createTimeMs), legs, accounts, createTimeMs);
  assertInvariants(applied, posting.force === true);
  return view(id, t, createTimeMs);
}

/**
 * Locks the posting's accounts and posts it in ONE round trip on PostgreSQL, for postings whose
 * legs do not depend on what the lock reads (a transfer to an account id, a deposit, a
 * withdrawal). The write runs right behind the lock in the same pipeline, so no JavaScript turn
 * passes while the rows are locked and not yet written; then `authorize` and the same checks as
 * post() run on the locked rows, BEFORE anything commits: a refusal is a DomainError and the
 * transaction (the write included) rolls back. When the write itself fails (a foreign key to an
 * account that does not exist, an overflow), the checks run on the locked rows first, so the
 * caller gets the business reason, not the database error. The posting time is computed by the
 * write (the caller's clock, or later if an account was last written later) and returned.
 * On SQLite (no round trips to save): lockAccounts, authorize, post.
 */
export async function lockAndPost(tx: Tx, posting: Posting, nowMs: number, authorize: (locked: LockedAccounts) => void): Promise<TransactionView> {
  const locked = await lockAccounts(tx, posting.legs.map((l) => l.accountId));
  authorize(locked);
  return post(tx, locked, posting, nowMs);
}

function assertShape(legs: Leg[]): void {
  assert(legs.length > 0, "a posting has at least one leg");
  assert(new Set(legs.map((l) => l.accountId)).size === legs.length, "one leg per account");
  assert(sum(legs.map((l) => l.amount)) === 0n, "entries sum to zero");
}

function transactionRow(id: string, t: NewTransaction, timeMs: number): unknown[] {
  return [id, t.type, t.status, t.currency, t.amount.toString(), t.fromAccountId, t.toAccountId, t.description, t.requestId,
    t.initiatedBy, t.reversesId ?? null, t.holdId ?? null, t.expireTimeMs ?? null, timeMs, timeMs];
}

function view(id: string, t: NewTransaction, createTimeMs: number): TransactionView {
  return {
    id,
    type: t.type,
    status: t.status,
    currency: t.currency,
    amount: t.amount,
    fromAccountId: t.fromAccountId ?? "",
    toAccountId: t.toAccountId ?? "",
    description: t.description,
    requestId: t.requestId,
    initiatedBy: t.initiatedBy,
    reversesId: t.reversesId ?? "",
    holdId: t.holdId ?? "",
    createTimeMs,
    expireTimeMs: t.expireTimeMs ?? null,
  };
}

/** The expected failures, checked in a fixed order: status, currency, floor, balance limit. */
function checkLegs(posting: Posting, accounts: LockedAccount[]): void {
  const legs = posting.legs;
  legs.forEach((leg, i) => {
    const account = accounts[i]!;
    // Releasing held money moves nothing, so it may happen on any account (the sweeper
    // expires holds on frozen accounts too); everything else needs an active account.
    const movesMoney = leg.amount !== 0n || leg.held > 0n;
    if (movesMoney && account.status === "CLOSED") {
      throw failedPrecondition("ACCOUNT_CLOSED", "The account is closed; no money can move in or out.", { account_id: account.id });
    }
    if (movesMoney && account.status === "FROZEN") {
      throw failedPrecondition("ACCOUNT_FROZEN", "The account is frozen; no money can move in or out.", { account_id: account.id });
    }
  });
  for (const account of accounts) {
    if (account.currency !== posting.transaction.currency) {
      throw failedPrecondition("CURRENCY_MISMATCH", `The account holds ${account.currency}, not ${posting.transaction.currency}.`, {
        account_id: account.id,
        account_currency: account.currency,
        amount_currency: posting.transaction.currency,
      });
    }
  }
  legs.forEach((leg, i) => {
    const account = accounts[i]!;
    if (account.kind === "CUSTOMER" && !posting.force && lowersAvailable(leg)) {
      const after = availableOf({ balance: account.balance + leg.amount, held: account.held + leg.held, overdraftLimit: account.overdraftLimit });
      if (after < 0n) {
        throw failedPrecondition("INSUFFICIENT_FUNDS", "The available balance is too low for this amount.", { account_id: account.id });
      }
    }
  });
  legs.forEach((leg, i) => {
    const account = accounts[i]!;
    if (abs(account.balance + leg.amount) > limits.balanceMinorAbsMax || account.held + leg.held > limits.balanceMinorAbsMax) {
      throw failedPrecondition("BALANCE_LIMIT_EXCEEDED", "The account balance would exceed the largest balance this bank keeps.", { account_id: account.id });
    }
  });
}

function lowersAvailable(leg: Leg): boolean {
  return leg.amount - leg.held < 0n;
}

const INSERT_TRANSACTION = `INSERT INTO transactions (id, tx_type, status, currency, amount, from_account_id, to_account_id, description,
  request_id, initiated_by, reverses_id, hold_id, expire_time, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

type UpdatedRow = { id: string; balance: string; held: string; entry_count: string | number; entries_written?: string | number; create_time?: string | number };

/** The UPDATE of every touched account (atomic `balance = balance + delta`), with its params. */
function updateAccountsSql(legs: Leg[], nowMs: number, returning: string): { sql: string; params: unknown[] } {
  const whenAmount = legs.map(() => "WHEN ? THEN CAST(? AS BIGINT)").join(" ");
  return {
    sql: `UPDATE accounts
             SET balance = balance + CASE id ${whenAmount} END,
                 held = held + CASE id ${whenAmount} END,
                 entry_count = entry_count + 1,
                 update_time = ?
           WHERE id IN (${placeholders(legs.length)})
       RETURNING ${returning}`,
    params: [
      ...legs.flatMap((l) => [l.accountId, l.amount.toString()]),
      ...legs.flatMap((l) => [l.accountId, l.held.toString()]),
      nowMs,
      ...legs.map((l) => l.accountId),
    ],
  };
}

/** The writes of a posting: the transaction row, one UPDATE of the touched accounts, the entries. */
async function writeStepByStep(tx: Tx, row: unknown[], legs: Leg[], accounts: LockedAccount[], nowMs: number): Promise<Applied[]> {
  await tx.run(INSERT_TRANSACTION, row);
  const update = updateAccountsSql(legs, nowMs, "id, CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held, entry_count");
  const rows = await tx.all<UpdatedRow>(update.sql, update.params);
  const applied = toApplied(rows, legs, accounts);
  await tx.run(
    `INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) VALUES ${applied.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}`,
    applied.flatMap((a) => [row[0], a.leg.accountId, a.seq, a.leg.amount.toString(), a.balance.toString(), nowMs]),
  );
  return applied;
}

function toApplied(rows: UpdatedRow[], legs: Leg[], accounts: LockedAccount[]): Applied[] {
  assert(rows.length === legs.length, "every touched account was updated");
  const byId = new Map(rows.map((r) => [r.id, r]));
  return legs.map((leg, i) => {
    const r = byId.get(leg.accountId) ?? fail(`account ${leg.accountId} missing from UPDATE ... RETURNING`);
    return { leg, before: accounts[i]!, balance: BigInt(r.balance), held: BigInt(r.held), seq: Number(r.entry_count) };
  });
}

/** TIGER_STYLE assertions, one condition each, on the values the database returned. */
function assertInvariants(applied: Applied[], forced: boolean): void {
  assert(sum(applied.map((a) => a.leg.amount)) === 0n, "entries sum to zero");
  const changeByCurrency = new Map<string, bigint>();
  for (const a of applied) {
    assert(a.balance === a.before.balance + a.leg.amount, "balance changed by exactly the entry amount");
    assert(a.held === a.before.held + a.leg.held, "held changed by exactly the hold delta");
    assert(a.held >= 0n, "held is never negative");
    assert(a.seq === a.before.entryCount + 1, "entry seq follows the account's last entry");
    const currency = a.before.currency;
    changeByCurrency.set(currency, (changeByCurrency.get(currency) ?? 0n) + (a.balance - a.before.balance));
    if (a.before.kind === "CUSTOMER" && !forced && lowersAvailable(a.leg)) {
      assert(a.balance - a.held + a.before.overdraftLimit >= 0n, "a customer balance stays above -overdraft_limit, holds counted");
    }
  }
  for (const change of changeByCurrency.values()) assert(change === 0n, "per currency, the touched balances sum to the same total");
}

function sum(values: bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new Error(`ledger invariant violated: ${invariant}`);
}

function fail(message: string): never {
  throw new Error(`ledger invariant violated: ${message}`);
}
