// The frame every money command runs in: an idempotent database transaction (see
// idempotency.ts) whose business failures are recorded with a FAILED audit event.
import type { Tx } from "../db/database";
import { auditFailure, type AuditDetails } from "./audit";
import { idempotent, type Payload } from "./idempotency";
import type { Ledger } from "./ledger";
import type { Actor } from "./types";

export interface MoneyCommand<T> {
  /** "TransactionService/Transfer": part of the idempotency key. */
  method: string;
  /** Audit action, e.g. "transaction.transfer". */
  action: string;
  requestId: string;
  /** The normalized request, hashed to detect a request_id reused with other values. */
  payload: Payload;
  /** The object a FAILED audit event names (the account or hold acted on). */
  targetId: string;
  /** Extra facts for the FAILED event. */
  failureDetails?: AuditDetails;
  work: (tx: Tx, nowMs: number) => Promise<T>;
}

export async function runMoneyCommand<T>(ledger: Ledger, actor: Actor, command: MoneyCommand<T>): Promise<T> {
  const nowMs = ledger.now();
  return idempotent({
    db: ledger.db,
    key: { callerId: actor.userId, method: command.method, requestId: command.requestId },
    payload: command.payload,
    nowMs,
    // The clock is read again inside: a retried transaction must not reuse a stale time.
    work: (tx) => command.work(tx, ledger.now()),
    recordFailure: (tx, error) => auditFailure(tx, actor, command.action, command.targetId, error, nowMs, { request_id: command.requestId, ...command.failureDetails }),
  });
}

export function moneyDetails(amount: bigint, currency: string, extra: AuditDetails = {}): AuditDetails {
  return { amount: amount.toString(), currency, ...extra };
}
