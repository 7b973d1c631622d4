// What a batch writes, as row sets: one JSON array per table (see SqlEngine.jsonRows), shared by
// both engines' statements (batch-postgres.ts writes them all in one statement, batch-sqlite.ts
// one statement per table). The tables' columns come from their entities (columns.ts); the rest
// are the batch's own sets (balance deltas, status changes, key outcomes).
import type { Row } from "../../db/database";
import type { JsonColumn } from "../../db/engine";
import { AUDIT_ROW_SET_COLUMNS, auditRowSet, insertAuditEvents } from "../../audit/recorder";
import { assert, type AuditRow, type EntryRow, type LockedAccount, type TransactionRow } from "../engine/batch-rows";
import type { TransactionStatus } from "../types";
import { ACCOUNTS, ENTRIES, TRANSACTIONS, entryEntity, json, toLockedAccount, transactionEntity } from "./columns";
import { KEY_COLUMNS, type KeyRow } from "./keys";

const text = (name: string): JsonColumn => ({ name, type: "text" });
const bigint = (name: string): JsonColumn => ({ name, type: "bigint" });

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

export const TRANSACTION_COLUMNS = TRANSACTIONS.jsonColumns();
export const ENTRY_COLUMNS = ENTRIES.jsonColumns();
const USAGE_COLUMNS = (["usageDay", "depositUsed", "withdrawalUsed", "transferOutUsed", "incomingUsed"] as const).map((p) => ACCOUNTS.column(p));
export const ACCOUNT_DELTA_COLUMNS = [text(ACCOUNTS.column("id")), bigint("delta"), bigint("held_delta"), bigint("entries"), bigint(ACCOUNTS.column("updateTime")), ...USAGE_COLUMNS.map(bigint)];
export const STATUS_COLUMNS = [text("id"), text("status"), text("from_status"), bigint("update_time")];
export const OUTCOME_COLUMNS = [...KEY_COLUMNS, text("outcome")];
export const AUDIT_COLUMNS: readonly JsonColumn[] = AUDIT_ROW_SET_COLUMNS;
/** The inserts of a batch's new rows from their row set `r`. */
export const INSERT_TRANSACTIONS = (rowSet: string): string => TRANSACTIONS.insertFrom(rowSet);
export const INSERT_ENTRIES = (rowSet: string): string => ENTRIES.insertFrom(rowSet);
export const INSERT_AUDITS = (rowSet: string): string => insertAuditEvents(rowSet);
/** An account's change: balances by their delta (atomic), today's usage set (the row is locked). */
export const ACCOUNT_SET = [
  ...(["balance", "held"] as const).map((p, i) => `${ACCOUNTS.column(p)} = accounts.${ACCOUNTS.column(p)} + r.${i === 0 ? "delta" : "held_delta"}`),
  `${ACCOUNTS.column("entryCount")} = accounts.${ACCOUNTS.column("entryCount")} + r.entries`,
  ...[ACCOUNTS.column("updateTime"), ...USAGE_COLUMNS].map((c) => `${c} = r.${c}`),
].join(", ");
export { KEY_MATCH } from "./keys";

/** The JSON parameters of a batch's writes. */
export function batchParams(w: BatchWrites): { transactions: string; entries: string; accounts: string; statuses: string; released: string; outcomes: string; audits: string } {
  return {
    transactions: TRANSACTIONS.json(w.transactions.map(transactionEntity)),
    entries: ENTRIES.json(w.entries.map(entryEntity)),
    accounts: json(w.accounts.map(({ before, after }) => ({
      id: after.id, delta: after.balance - before.balance, held_delta: after.held - before.held, entries: after.entryCount - before.entryCount, update_time: after.updateTimeMs,
      usage_day: after.usage.day, deposit_used: after.usage.deposit, withdrawal_used: after.usage.withdrawal, transfer_out_used: after.usage.transferOut,
      incoming_used: after.usage.incoming,
    }))),
    statuses: json([...w.statusChanges].map(([id, c]) => ({ id, status: c.status, from_status: c.from, update_time: c.updateTimeMs }))),
    released: json(w.released.map((k) => ({ caller_id: k.callerId, method: k.method, request_id: k.requestId }))),
    outcomes: json(w.outcomes.map((k) => ({ caller_id: k.callerId, method: k.method, request_id: k.requestId, outcome: k.outcome }))),
    audits: auditRowSet(w.audits),
  };
}

/** Conservation on what the database returns: every changed account was updated once, and holds
 * exactly the balance, held total, entry count and daily usage the batch computed. */
export function assertStoredAccounts(returned: readonly Row[], accounts: readonly { before: LockedAccount; after: LockedAccount }[]): void {
  assert(returned.length === accounts.length, "every changed account was updated");
  const expected = new Map(accounts.map((a) => [a.after.id, a.after]));
  for (const row of returned) {
    const stored = toLockedAccount(row);
    const computed = expected.get(stored.id);
    assert(computed !== undefined, "the database updated an account the batch did not change");
    expected.delete(stored.id);
    assert(stored.balance === computed.balance, "the stored balance is the one the batch computed");
    assert(stored.held === computed.held, "the stored held total is the one the batch computed");
    assert(stored.entryCount === computed.entryCount, "the stored entry count is the one the batch computed");
    assert(stored.usage.day === computed.usage.day && stored.usage.deposit === computed.usage.deposit && stored.usage.withdrawal === computed.usage.withdrawal
      && stored.usage.transferOut === computed.usage.transferOut && stored.usage.incoming === computed.usage.incoming, "the stored daily usage is the one the batch computed");
  }
}
