// Audit events of the ledger. A mutation's event is written with the mutation's Tx; a business
// failure's FAILED event is written in the transaction that records the failure (with the
// idempotency key for money commands, on its own for account commands without a request_id).
import type { Tx } from "../db/database";
import { DomainError } from "../errors";
import { recordAudit, type AuditOutcome } from "../audit/recorder";
import type { Ledger } from "./ledger";
import type { Actor } from "./types";
import type { BusinessRefusals } from "../audit/business-refusals";

export type AuditDetails = Record<string, string | number | boolean | null>;

export async function audit(
  tx: Tx,
  actor: Actor,
  event: { action: string; targetId: string; details?: AuditDetails; outcome?: AuditOutcome },
  nowMs: number,
): Promise<void> {
  await recordAudit(tx, {
    actorId: actor.userId,
    action: event.action,
    targetId: event.targetId,
    outcome: event.outcome ?? "SUCCESS",
    clientAddress: actor.clientAddress,
    requestId: actor.callId,
    details: event.details ?? {},
  }, nowMs);
}

/** The FAILED event of a business failure (DENIED when the caller lacked a permission). With
 * `refusals`, a FAILED one that repeats its principal's action and reason within a window is
 * counted into one aggregated event instead (audit/business-refusals.ts). */
export async function auditFailure(tx: Tx, actor: Actor, action: string, targetId: string, error: DomainError, nowMs: number, details: AuditDetails = {}, refusals?: BusinessRefusals): Promise<void> {
  const outcome = error.kind === "permission_denied" ? "DENIED" : "FAILED";
  const event = { action, targetId, outcome, details: { ...details, code: error.codeName, reason: error.reason } } as const;
  if (refusals && !refusals.recordNow({ ...event, actorId: actor.userId, clientAddress: actor.clientAddress, requestId: actor.callId }, nowMs)) return;
  await audit(tx, actor, event, nowMs);
}

/**
 * Runs a command without request_id (freeze, close, update...) in one transaction. When it
 * fails with a DomainError, the transaction rolls back and a FAILED event is committed on its
 * own before the error is thrown.
 */
export async function auditedCommand<T>(ledger: Ledger, actor: Actor, action: string, targetId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await ledger.db.transaction(fn);
  } catch (err) {
    if (err instanceof DomainError) {
      await ledger.db.transaction((tx) => auditFailure(tx, actor, action, targetId, err, ledger.now(), {}, ledger.refusals));
    }
    throw err;
  }
}
