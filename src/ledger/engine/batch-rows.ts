// The rows a batch of the posting engine reads locked and writes back (the store's batch
// statements and the in-memory BatchState share them), and the ledger's invariant assertion.
import type { AccountView, TransactionView } from "../types";
import type { AuditEventEntity } from "../../db/entities";

export interface LockedAccount extends AccountView {
  /** Entries posted so far: the next entry's seq is entryCount + 1. */
  entryCount: number;
}

/** A transaction row as the batch will write it (a row created in this batch may already have
 * moved on, e.g. a hold captured in the same batch). */
export interface TransactionRow extends TransactionView {
  updateTimeMs: number;
}

export interface EntryRow {
  transactionId: string;
  accountId: string;
  seq: number;
  amount: bigint;
  balanceAfter: bigint;
  createTimeMs: number;
}

/** An audit event the batch writes: the row the one audit-row writer builds (audit/recorder.ts
 * auditEvent), without the chain's columns, which the sealer fills. */
export type AuditRow = Omit<AuditEventEntity, "seq" | "prevHash" | "prevEventId" | "hash">;

export type AuditDetails = Record<string, string | number | boolean | null>;

export function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new Error(`ledger invariant violated: ${invariant}`);
}

export function fail(message: string): never {
  throw new Error(`ledger invariant violated: ${message}`);
}
