// The hash chain's definition: which stored columns an event's hash covers, in which order, and
// how they are encoded. The sealer (sealer.ts) and the verifier (verifier.ts) both use only this
// file, and docs/audit.md describes it so that anyone can re-verify a chain with other tools.
import { createHash } from "node:crypto";
import type { AuditEventEntity } from "../db/entities";

/** The chain's hash before its first event (audit_chain_head's initial value). */
export const GENESIS_HASH = "0".repeat(64);

/** One audit_events row as stored. BIGINT columns arrive as numbers (SQLite) or strings
 * (PostgreSQL); seq, prev_hash, prev_event_id and hash are NULL until the event is sealed. */
export interface AuditEventRow {
  id: string;
  event_time: number | string;
  actor_id: string;
  action: string;
  target_id: string;
  outcome: string;
  client_address: string;
  request_id: string;
  details: string;
  seq: number | string | null;
  prev_hash: string | null;
  prev_event_id: string | null;
  hash: string | null;
}

/** Every column of audit_events, in the order of the canonical encoding (then the chain's
 * own prev_hash and hash). */
export const AUDIT_EVENT_COLUMNS =
  "id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details, seq, prev_event_id, prev_hash, hash";

/** An audit event read through its entity (properties), as a stored row (columns). Integer
 * columns may arrive as numbers or as decimal strings (a QueryBuilder's unhydrated rows); both
 * encode the same. */
export function auditRowOf(e: AuditEventFields): AuditEventRow {
  return {
    id: e.id,
    event_time: e.eventTime,
    actor_id: e.actorId,
    action: e.action,
    target_id: e.targetId,
    outcome: e.outcome,
    client_address: e.clientAddress,
    request_id: e.requestId,
    details: e.details,
    seq: e.seq,
    prev_hash: e.prevHash,
    prev_event_id: e.prevEventId,
    hash: e.hash,
  };
}

/** AuditEventEntity's fields, integers as numbers or decimal strings. */
export type AuditEventFields = Omit<AuditEventEntity, "eventTime" | "seq"> & { eventTime: number | string; seq: number | string | null };

/** The fields a hash covers besides the previous hash: the row with its chain position. */
export type SealedFields = Omit<AuditEventRow, "hash" | "prev_hash">;

/**
 * The canonical encoding of an event: a JSON array (ECMAScript JSON.stringify, no whitespace)
 * of every stored column except prev_hash and hash, each as a string, in this fixed order:
 *   [id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details,
 *    seq, prev_event_id]
 * event_time and seq are base-10 integers; a NULL becomes "" (only prev_event_id of the very
 * first event is empty). Strings are taken exactly as stored (details is the JSON text itself).
 */
export function canonicalEvent(row: SealedFields): string {
  return JSON.stringify([
    row.id,
    intText(row.event_time),
    row.actor_id,
    row.action,
    row.target_id,
    row.outcome,
    row.client_address,
    row.request_id,
    row.details,
    intText(row.seq),
    row.prev_event_id ?? "",
  ]);
}

/** hash = lowercase hex SHA-256 over the UTF-8 bytes of prevHash (64 hex characters) followed
 * by the canonical encoding. */
export function chainHash(prevHash: string, row: SealedFields): string {
  return createHash("sha256").update(prevHash, "utf8").update(canonicalEvent(row), "utf8").digest("hex");
}

function intText(value: number | string | null): string {
  if (value === null) return "";
  // PostgreSQL returns BIGINT as text already; SQLite as a number, exact below 2^53.
  return typeof value === "string" ? value : String(Math.trunc(value));
}
