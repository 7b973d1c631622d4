// Audit domain <-> bank.v1 mapping: audit events out, timestamps in.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { AuditEventSchema, AuditOutcome, type AuditEvent } from "../../../gen/bank/v1/audit_event_pb";
import type { AuditEventRow } from "../../audit/chain";
import { invalidArgument } from "../../errors";

const OUTCOMES: Record<string, AuditOutcome> = {
  SUCCESS: AuditOutcome.SUCCESS,
  DENIED: AuditOutcome.DENIED,
  FAILED: AuditOutcome.FAILED,
};

export function auditEventToMessage(row: AuditEventRow): AuditEvent {
  return create(AuditEventSchema, {
    id: row.id,
    time: timestampFromMs(Number(row.event_time)),
    // The contract leaves actor_id empty for an anonymous caller.
    actorId: row.actor_id === "anonymous" ? "" : row.actor_id,
    action: row.action,
    targetId: row.target_id,
    outcome: OUTCOMES[row.outcome] ?? AuditOutcome.UNSPECIFIED,
    clientAddress: row.client_address,
    requestId: row.request_id,
    details: row.details,
    hash: row.hash ?? "",
    sequence: row.seq === null ? 0n : BigInt(row.seq),
  });
}

/** Timestamp -> epoch ms; INVALID_ARGUMENT outside the range proto3 allows (years 1 to 9999). */
export function millis(ts: Timestamp | undefined, field: string): number | undefined {
  if (ts === undefined) return undefined;
  if (ts.seconds < -62_135_596_800n || ts.seconds > 253_402_300_799n || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw invalidArgument("INVALID_TIMESTAMP", `${field} is outside the valid range.`, { field });
  }
  return timestampMs(ts);
}
