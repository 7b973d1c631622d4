// Records audit events: the one writer of audit_events rows. A mutation's event is written with
// the same Tx as the mutation, so it commits or rolls back with it: one event through the unit of
// work (recordAudit), or a batch's events in one set-based statement (the posting engine's batch
// write, src/ledger/store/, through auditRowSet / insertAuditEvents; columns from the entity).
// Rows are written unsealed (seq NULL); the sealer (sealer.ts) numbers and hash-chains them after
// commit.
import type { Tx } from "../db/database";
import type { CallInfo } from "../call-info";
import { uuidv7 } from "../util/ids";
import { AuditEvent, Table, rowSetOf, type AuditEventEntity } from "../db/entities";

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

/** An unsealed audit_events row of an event (its details checked for secrets, a UUIDv7 of nowMs). */
export function auditEvent(event: AuditInput, nowMs: number): AuditEventEntity {
  const details = event.details ?? {};
  for (const key of Object.keys(details)) {
    if (FORBIDDEN_KEY.test(key)) throw new Error(`audit details must not carry secrets (key ${key})`);
  }
  return {
    id: uuidv7(nowMs), eventTime: nowMs, actorId: event.actorId, action: event.action, targetId: event.targetId, outcome: event.outcome,
    clientAddress: event.clientAddress, requestId: event.requestId, details: JSON.stringify(details), seq: null, prevHash: null, prevEventId: null, hash: null,
  };
}

export async function recordAudit(tx: Tx, event: AuditInput, nowMs: number = Date.now()): Promise<string> {
  const row = auditEvent(event, nowMs);
  // Persisted in the unit of work: inserted by its flush, right before COMMIT.
  tx.em.persist(tx.em.create(AuditEvent, row));
  return row.id;
}

/** The columns an unsealed row is written with: the event, not the chain (seq, prev_hash,
 * prev_event_id and hash stay NULL until the sealer fills them). */
const AUDIT_EVENTS = new Table(AuditEvent);
const UNSEALED = new Set<keyof AuditEventEntity>(["seq", "prevHash", "prevEventId", "hash"]);
const EVENT_COLUMNS = AUDIT_EVENTS.written.filter((c) => !UNSEALED.has(c.property as keyof AuditEventEntity));

/** A JSON row set of unsealed events (for insertAuditEvents). */
const eventRowSet = rowSetOf(EVENT_COLUMNS);
export function auditRowSet(events: readonly Omit<AuditEventEntity, "seq" | "prevHash" | "prevEventId" | "hash">[]): string {
  return eventRowSet(events);
}

/** The row set's columns (SqlEngine.jsonRows). */
export const AUDIT_ROW_SET_COLUMNS = EVENT_COLUMNS.map((c) => ({ name: c.name, type: c.type }));

/** `INSERT INTO audit_events (...) SELECT r.... FROM <rowSet>`: unsealed events from a row set of auditRowSet. */
export function insertAuditEvents(rowSet: string): string {
  return `INSERT INTO ${AUDIT_EVENTS.name} (${EVENT_COLUMNS.map((c) => c.name).join(", ")}) SELECT ${EVENT_COLUMNS.map((c) => `r.${c.name}`).join(", ")} FROM ${rowSet}`;
}
