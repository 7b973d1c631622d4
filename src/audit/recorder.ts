// Records audit events. A mutation's event is written with the same Tx as the mutation, so it
// commits or rolls back with it. Rows are written unsealed (seq NULL); the sealer (sealer.ts)
// numbers and hash-chains them after commit.
import type { Tx } from "../db/database";
import type { CallInfo } from "../call-info";
import { uuidv7 } from "../util/ids";
import { AuditEvent } from "../db/entities";

export type AuditOutcome = "SUCCESS" | "DENIED" | "FAILED";

export interface AuditInput {
  /** Who: the acting user's id, or "anonymous" / "system". */
  actorId: string;
  /** What: dotted lower-case verb, e.g. "auth.login", "transaction.transfer". */
  action: string;
  /** The object acted on (a user, account or transaction id), or "" when none. */
  targetId: string;
  outcome: AuditOutcome;
  clientAddress: string;
  requestId: string;
  /** Extra facts (amounts, reasons, codes). Never a password, token or hash of one. */
  details?: Record<string, string | number | boolean | null>;
}

/** Keys that could carry a secret; recording one is a programming error. */
const FORBIDDEN_KEY = /pass(word)?|token|secret|hash|authorization|cookie/i;

/** Fields of an event taken from the call being served. */
export function auditBase(info: Pick<CallInfo, "clientAddress" | "requestId" | "principal">): Pick<AuditInput, "actorId" | "clientAddress" | "requestId"> {
  return { actorId: info.principal?.userId ?? "anonymous", clientAddress: info.clientAddress, requestId: info.requestId };
}

export async function recordAudit(tx: Tx, event: AuditInput, nowMs: number = Date.now()): Promise<string> {
  const details = event.details ?? {};
  for (const key of Object.keys(details)) {
    if (FORBIDDEN_KEY.test(key)) throw new Error(`audit details must not carry secrets (key ${key})`);
  }
  const id = uuidv7(nowMs);
  // Persisted in the unit of work: inserted by its flush, right before COMMIT.
  tx.em.persist(tx.em.create(AuditEvent, {
    id, eventTime: nowMs, actorId: event.actorId, action: event.action, targetId: event.targetId, outcome: event.outcome,
    clientAddress: event.clientAddress, requestId: event.requestId, details: JSON.stringify(details), seq: null, prevHash: null, prevEventId: null, hash: null,
  }));
  return id;
}
