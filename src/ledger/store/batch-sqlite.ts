// The posting engine's statements: set-based, each one statement for the whole batch whatever
// its size, with the rows in ONE bound JSON parameter (SqlEngine.jsonRows spells the row set per
// engine). They run on the batch's unit of work (Tx: the forked EntityManager's connection,
// inside its transaction).
import type { Row, Tx } from "../../db/database";
import type { JsonColumn } from "../../db/engine";
import { assert, type AuditRow, type EntryRow, type LockedAccount, type TransactionRow } from "../posting";
import { accountColumns, toAccount, toTransaction, transactionColumns } from "./columns";
import type { TransactionStatus, TransactionView } from "../types";

const text = (name: string): JsonColumn => ({ name, type: "text" });
const bigint = (name: string): JsonColumn => ({ name, type: "bigint" });

/** JSON text of rows: bigints as decimal strings (exact), everything else as is. */
export function json(rows: readonly Record<string, unknown>[]): string {
  return JSON.stringify(rows, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
}

export interface KeyRow {
  callerId: string;
  method: string;
  requestId: string;
  payloadHash: string;
  payloadFields: string;
}

export interface StoredKey extends KeyRow {
  outcome: string;
}

export const keyId = (k: Pick<KeyRow, "callerId" | "method" | "requestId">): string => `${k.callerId}\u0000${k.method}\u0000${k.requestId}`;

const KEY_COLUMNS = [text("caller_id"), text("method"), text("request_id")];

/**
 * Claims idempotency keys: inserts the ones nobody holds (outcome empty until the batch writes
 * it, in the same transaction) in key order, so that two batches claiming overlapping keys queue
 * instead of deadlocking. A key held by a transaction in flight makes this wait for its commit.
 * Returns the ids (keyId) of the keys this batch now holds.
 */
export async function claimKeys(tx: Tx, keys: readonly KeyRow[], nowMs: number): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = tx.engine.jsonRows("r", [...KEY_COLUMNS, text("payload_hash"), text("payload_fields")]);
  const claimed = await tx.all<{ caller_id: string; method: string; request_id: string }>(
    `INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time)
     SELECT r.caller_id, r.method, r.request_id, r.payload_hash, r.payload_fields, '', ? FROM ${rows} WHERE 1 = 1
      ORDER BY r.caller_id, r.method, r.request_id ON CONFLICT DO NOTHING RETURNING caller_id, method, request_id`,
    [nowMs, json(keys.map((k) => ({ caller_id: k.callerId, method: k.method, request_id: k.requestId, payload_hash: k.payloadHash, payload_fields: k.payloadFields })))],
  );
  return new Set(claimed.map((r) => keyId({ callerId: r.caller_id, method: r.method, requestId: r.request_id })));
}

/** The stored keys (with their outcomes) of these key ids: keys another unit of work committed. */
export async function readKeys(tx: Tx, keys: readonly Pick<KeyRow, "callerId" | "method" | "requestId">[]): Promise<Map<string, StoredKey>> {
  if (keys.length === 0) return new Map();
  const found = await tx.all<{ caller_id: string; method: string; request_id: string; payload_hash: string; payload_fields: string; outcome: string }>(
    `SELECT k.caller_id, k.method, k.request_id, k.payload_hash, k.payload_fields, k.outcome
       FROM idempotency_keys k JOIN ${tx.engine.jsonRows("r", KEY_COLUMNS)}
         ON k.caller_id = r.caller_id AND k.method = r.method AND k.request_id = r.request_id`,
    [json(keys.map((k) => ({ caller_id: k.callerId, method: k.method, request_id: k.requestId })))],
  );
  return new Map(found.map((r) => {
    const stored: StoredKey = { callerId: r.caller_id, method: r.method, requestId: r.request_id, payloadHash: r.payload_hash, payloadFields: r.payload_fields, outcome: r.outcome };
    return [keyId(stored), stored];
  }));
}

/** Locks transaction rows (holds to settle, transactions to reverse) in ascending id order. */
export async function lockTransactions(tx: Tx, ids: readonly string[]): Promise<Map<string, TransactionView>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.all(
    `SELECT ${transactionColumns()} FROM transactions WHERE id IN (SELECT v FROM ${tx.engine.jsonRows("r", [text("v")])}) ORDER BY id${tx.engine.lockRows}`,
    [JSON.stringify([...new Set(ids)].map((v) => ({ v })))],
  );
  return new Map(rows.map((r) => [String(r.id), toTransaction(r)]));
}

/** The non-zero entries of these transactions, in entry order (what a reversal undoes). */
export async function readEntries(tx: Tx, transactionIds: readonly string[]): Promise<Map<string, { accountId: string; amount: bigint }[]>> {
  const out = new Map<string, { accountId: string; amount: bigint }[]>();
  if (transactionIds.length === 0) return out;
  const rows = await tx.all<{ transaction_id: string; account_id: string; amount: string }>(
    `SELECT transaction_id, account_id, CAST(amount AS TEXT) AS amount FROM entries
      WHERE transaction_id IN (SELECT v FROM ${tx.engine.jsonRows("r", [text("v")])}) AND amount <> 0 ORDER BY id`,
    [JSON.stringify([...new Set(transactionIds)].map((v) => ({ v })))],
  );
  for (const r of rows) {
    const list = out.get(r.transaction_id) ?? [];
    list.push({ accountId: r.account_id, amount: BigInt(r.amount) });
    out.set(r.transaction_id, list);
  }
  return out;
}

/**
 * Locks the accounts with these ids and these numbers in ascending id order (PostgreSQL: FOR
 * UPDATE, so two batches touching the same accounts queue instead of deadlocking; SQLite: the
 * single writer serializes) and returns them. Missing ones are simply absent.
 */
export async function lockAccounts(tx: Tx, ids: readonly string[], numbers: readonly string[]): Promise<Map<string, LockedAccount>> {
  if (ids.length === 0 && numbers.length === 0) return new Map();
  // One set of ids, numbers resolved to ids inside it, so that each side is an index lookup (an
  // OR of the two made PostgreSQL scan every account).
  const wanted = numbers.length === 0
    ? `SELECT v FROM ${tx.engine.jsonRows("i", [text("v")])}`
    : `SELECT v FROM ${tx.engine.jsonRows("i", [text("v")])} UNION SELECT a2.id FROM accounts a2 JOIN ${tx.engine.jsonRows("n", [text("v")])} ON a2.number = n.v`;
  const rows = await tx.all(
    `SELECT ${accountColumns()} FROM accounts WHERE id IN (${wanted}) ORDER BY id${tx.engine.lockRows}`,
    numbers.length === 0
      ? [JSON.stringify([...new Set(ids)].map((v) => ({ v })))]
      : [JSON.stringify([...new Set(ids)].map((v) => ({ v }))), JSON.stringify([...new Set(numbers)].map((v) => ({ v })))],
  );
  return new Map(rows.map((row) => {
    const account = toAccount(row);
    return [account.id, { ...account, entryCount: Number(row.entry_count) }];
  }));
}

export interface BatchWrites {
  transactions: readonly TransactionRow[];
  entries: readonly EntryRow[];
  accounts: readonly { before: LockedAccount; after: LockedAccount }[];
  statusChanges: ReadonlyMap<string, { status: TransactionStatus; from: TransactionStatus; updateTimeMs: number }>;
  /** The outcome of every key the batch claimed and keeps. */
  outcomes: readonly (Pick<KeyRow, "callerId" | "method" | "requestId"> & { outcome: string })[];
  /** Keys the batch claimed and gives back (an atomic group that aborted). */
  released: readonly Pick<KeyRow, "callerId" | "method" | "requestId">[];
  audits: readonly AuditRow[];
}

/** Writes everything a batch recorded, one statement per table (SQLite: statements cost no round
 * trip there), and asserts that the database holds exactly the balances the batch computed. */
export async function writeBatch(tx: Tx, w: BatchWrites): Promise<void> {
  const p = batchParams(w);
  if (w.transactions.length > 0) {
    const inserted = await tx.run(`INSERT INTO transactions (${TRANSACTION_NAMES}) SELECT ${TRANSACTION_NAMES_R} FROM ${tx.engine.jsonRows("r", TRANSACTION_COLUMNS)}`, [p.transactions]);
    assert(inserted === w.transactions.length, "every transaction of the batch was inserted");
  }
  if (w.entries.length > 0) {
    const inserted = await tx.run(`INSERT INTO entries (${ENTRY_NAMES}) SELECT ${ENTRY_NAMES_R} FROM ${tx.engine.jsonRows("r", ENTRY_COLUMNS)}`, [p.entries]);
    assert(inserted === w.entries.length, "every entry of the batch was inserted");
  }
  if (w.accounts.length > 0) {
    // Balances move by their delta (atomic); today's usage is set (the row is locked).
    const returned = await tx.all<Row>(`UPDATE accounts SET ${ACCOUNT_SET} FROM ${tx.engine.jsonRows("r", ACCOUNT_DELTA_COLUMNS)} WHERE accounts.id = r.id RETURNING ${accountColumns("accounts")}`, [p.accounts]);
    assertStoredAccounts(returned, w.accounts);
  }
  if (w.statusChanges.size > 0) {
    const updated = await tx.run(`UPDATE transactions SET status = r.status, update_time = r.update_time FROM ${tx.engine.jsonRows("r", STATUS_COLUMNS)}
      WHERE transactions.id = r.id AND transactions.status = r.from_status`, [p.statuses]);
    // The rows are locked: only this batch can have moved them.
    assert(updated === w.statusChanges.size, "every settled or reversed transaction left its previous status exactly once");
  }
  if (w.released.length > 0) {
    const deleted = await tx.run(`DELETE FROM idempotency_keys WHERE outcome = '' AND EXISTS (SELECT 1 FROM ${tx.engine.jsonRows("r", KEY_COLUMNS)}
      WHERE ${KEY_MATCH})`, [p.released]);
    assert(deleted === w.released.length, "every released key was one this batch claimed");
  }
  if (w.outcomes.length > 0) {
    const updated = await tx.run(`UPDATE idempotency_keys SET outcome = r.outcome FROM ${tx.engine.jsonRows("r", OUTCOME_COLUMNS)}
      WHERE ${KEY_MATCH} AND idempotency_keys.outcome = ''`, [p.outcomes]);
    assert(updated === w.outcomes.length, "every claimed key got its outcome exactly once");
  }
  if (w.audits.length > 0) {
    const inserted = await tx.run(`INSERT INTO audit_events (${AUDIT_NAMES}) SELECT ${AUDIT_NAMES_R} FROM ${tx.engine.jsonRows("r", AUDIT_COLUMNS)}`, [p.audits]);
    assert(inserted === w.audits.length, "every audit event of the batch was inserted");
  }
  // Other processes' watchers hear of these entries at COMMIT (PostgreSQL NOTIFY; SQLite polls).
  if (w.entries.length > 0 && tx.engine.notifyEntriesSql) await tx.all(tx.engine.notifyEntriesSql);
}

// The row sets of a batch's writes: one JSON array per table (see SqlEngine.jsonRows), shared by
// both engines' statements (batch-postgres.ts writes them all in one statement).
export const TRANSACTION_COLUMNS = [text("id"), text("tx_type"), text("status"), text("currency"), bigint("amount"), text("from_account_id"), text("to_account_id"),
  text("description"), text("request_id"), text("initiated_by"), text("reverses_id"), text("hold_id"), bigint("expire_time"), bigint("create_time"), bigint("update_time")];
export const ENTRY_COLUMNS = [text("transaction_id"), text("account_id"), bigint("seq"), bigint("amount"), bigint("balance_after"), bigint("create_time")];
export const ACCOUNT_DELTA_COLUMNS = [text("id"), bigint("delta"), bigint("held_delta"), bigint("entries"), bigint("update_time"),
  bigint("usage_day"), bigint("deposit_used"), bigint("withdrawal_used"), bigint("transfer_out_used"), bigint("incoming_used")];
export const STATUS_COLUMNS = [text("id"), text("status"), text("from_status"), bigint("update_time")];
export const OUTCOME_COLUMNS = [...KEY_COLUMNS, text("outcome")];
export const AUDIT_COLUMNS = [text("id"), bigint("event_time"), text("actor_id"), text("action"), text("target_id"), text("outcome"), text("client_address"), text("request_id"), text("details")];
const names = (columns: readonly JsonColumn[], prefix = ""): string => columns.map((c) => `${prefix}${c.name}`).join(", ");
export const TRANSACTION_NAMES = names(TRANSACTION_COLUMNS);
export const TRANSACTION_NAMES_R = names(TRANSACTION_COLUMNS, "r.");
export const ENTRY_NAMES = names(ENTRY_COLUMNS);
export const ENTRY_NAMES_R = names(ENTRY_COLUMNS, "r.");
export const AUDIT_NAMES = names(AUDIT_COLUMNS);
export const AUDIT_NAMES_R = names(AUDIT_COLUMNS, "r.");
/** An account's change: balances by their delta (atomic), today's usage set (the row is locked). */
export const ACCOUNT_SET = `balance = accounts.balance + r.delta, held = accounts.held + r.held_delta,
  entry_count = accounts.entry_count + r.entries, update_time = r.update_time, usage_day = r.usage_day,
  deposit_used = r.deposit_used, withdrawal_used = r.withdrawal_used, transfer_out_used = r.transfer_out_used, incoming_used = r.incoming_used`;
export const KEY_MATCH = "idempotency_keys.caller_id = r.caller_id AND idempotency_keys.method = r.method AND idempotency_keys.request_id = r.request_id";

/** The JSON parameters of a batch's writes. */
export function batchParams(w: BatchWrites): { transactions: string; entries: string; accounts: string; statuses: string; released: string; outcomes: string; audits: string } {
  return {
    transactions: json(w.transactions.map((t) => ({
      id: t.id, tx_type: t.type, status: t.status, currency: t.currency, amount: t.amount, from_account_id: t.fromAccountId || null,
      to_account_id: t.toAccountId || null, description: t.description, request_id: t.requestId, initiated_by: t.initiatedBy,
      reverses_id: t.reversesId || null, hold_id: t.holdId || null, expire_time: t.expireTimeMs, create_time: t.createTimeMs, update_time: t.updateTimeMs,
    }))),
    entries: json(w.entries.map((e) => ({ transaction_id: e.transactionId, account_id: e.accountId, seq: e.seq, amount: e.amount, balance_after: e.balanceAfter, create_time: e.createTimeMs }))),
    accounts: json(w.accounts.map(({ before, after }) => ({
      id: after.id, delta: after.balance - before.balance, held_delta: after.held - before.held, entries: after.entryCount - before.entryCount, update_time: after.updateTimeMs,
      usage_day: after.usage.day, deposit_used: after.usage.deposit, withdrawal_used: after.usage.withdrawal, transfer_out_used: after.usage.transferOut,
      incoming_used: after.usage.incoming,
    }))),
    statuses: json([...w.statusChanges].map(([id, c]) => ({ id, status: c.status, from_status: c.from, update_time: c.updateTimeMs }))),
    released: json(w.released.map((k) => ({ caller_id: k.callerId, method: k.method, request_id: k.requestId }))),
    outcomes: json(w.outcomes.map((k) => ({ caller_id: k.callerId, method: k.method, request_id: k.requestId, outcome: k.outcome }))),
    audits: json(w.audits.map((a) => ({
      id: a.id, event_time: a.eventTime, actor_id: a.actorId, action: a.action, target_id: a.targetId, outcome: a.outcome,
      client_address: a.clientAddress, request_id: a.requestId, details: a.details,
    }))),
  };
}

/** Conservation on what the database returns: every changed account was updated once, and holds
 * exactly the balance, held total, entry count and daily usage the batch computed. */
export function assertStoredAccounts(returned: readonly Row[], accounts: readonly { before: LockedAccount; after: LockedAccount }[]): void {
  assert(returned.length === accounts.length, "every changed account was updated");
  const expected = new Map(accounts.map((a) => [a.after.id, a.after]));
  for (const row of returned) {
    const stored = toAccount(row);
    const computed = expected.get(stored.id);
    assert(computed !== undefined, "the database updated an account the batch did not change");
    expected.delete(stored.id);
    assert(stored.balance === computed.balance, "the stored balance is the one the batch computed");
    assert(stored.held === computed.held, "the stored held total is the one the batch computed");
    assert(Number(row.entry_count) === computed.entryCount, "the stored entry count is the one the batch computed");
    assert(stored.usage.day === computed.usage.day && stored.usage.deposit === computed.usage.deposit && stored.usage.withdrawal === computed.usage.withdrawal
      && stored.usage.transferOut === computed.usage.transferOut && stored.usage.incoming === computed.usage.incoming, "the stored daily usage is the one the batch computed");
  }
}
