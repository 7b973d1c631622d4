// The posting engine's statements on SQLite: set-based, each one statement for the whole batch whatever
// its size, with the rows in ONE bound JSON parameter (SqlEngine.jsonRows spells the row set per
// engine). They run on the batch's unit of work (Tx: the forked EntityManager's connection,
// inside its transaction).
import type { Row, Tx } from "../../db/database";
import type { JsonColumn } from "../../db/engine";
import { assert, type LockedAccount } from "../engine/batch-rows";
import type { TransactionView } from "../types";
import {
  ACCOUNT_DELTA_COLUMNS, ACCOUNT_SET, AUDIT_COLUMNS, ENTRY_COLUMNS, INSERT_AUDITS, INSERT_ENTRIES, INSERT_TRANSACTIONS, OUTCOME_COLUMNS, STATUS_COLUMNS,
  TRANSACTION_COLUMNS, assertStoredAccounts, batchParams, type BatchWrites,
} from "./row-sets";
import { accountColumns, toLockedAccount, toTransaction, transactionColumns } from "./columns";
import { KEY_COLUMNS, KEY_MATCH } from "./keys";

const text = (name: string): JsonColumn => ({ name, type: "text" });

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
    const account = toLockedAccount(row);
    return [account.id, account];
  }));
}

/** Writes everything a batch recorded, one statement per table (SQLite: statements cost no round
 * trip there), and asserts that the database holds exactly the balances the batch computed. */
export async function writeBatch(tx: Tx, w: BatchWrites): Promise<void> {
  const p = batchParams(w);
  if (w.transactions.length > 0) {
    const inserted = await tx.run(INSERT_TRANSACTIONS(tx.engine.jsonRows("r", TRANSACTION_COLUMNS)), [p.transactions]);
    assert(inserted === w.transactions.length, "every transaction of the batch was inserted");
  }
  if (w.entries.length > 0) {
    const inserted = await tx.run(INSERT_ENTRIES(tx.engine.jsonRows("r", ENTRY_COLUMNS)), [p.entries]);
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
    const inserted = await tx.run(INSERT_AUDITS(tx.engine.jsonRows("r", AUDIT_COLUMNS)), [p.audits]);
    assert(inserted === w.audits.length, "every audit event of the batch was inserted");
  }
  // Other processes' watchers hear of these entries at COMMIT (PostgreSQL NOTIFY; SQLite polls).
  if (w.entries.length > 0 && tx.engine.notifyEntriesSql) await tx.all(tx.engine.notifyEntriesSql);
}

