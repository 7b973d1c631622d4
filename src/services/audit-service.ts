// bank.v1.AuditService: reading and verifying the audit log. The auth interceptor admits only
// the roles the contract lists (AUDITOR, ADMIN); this adapter maps messages to the domain.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import type { Database } from "../db/database";
import type { Reader } from "../db/replica";
import { invalidArgument } from "../errors";
import { AuditService, ListAuditEventsResponseSchema, VerifyAuditLogResponseSchema } from "../../gen/bank/v1/audit_service_pb";
import { AuditEventSchema, AuditOutcome, type AuditEvent } from "../../gen/bank/v1/audit_event_pb";
import type { AuditEventRow } from "../audit/chain";
import { listAuditEvents } from "../audit/query";
import { sealAll } from "../audit/sealer";
import { verifyChain } from "../audit/verifier";

export interface AuditServiceDeps {
  db: Database;
  /** The read replica's router (db/replica.ts), for listings; the primary when absent. */
  replica?: Reader;
}

export function auditRoutes(deps: AuditServiceDeps): (router: ConnectRouter) => void {
  return (router) => router.service(AuditService, auditServiceImpl(deps));
}

export function auditServiceImpl({ db, replica }: AuditServiceDeps): ServiceImpl<typeof AuditService> {
  return {
    async listAuditEvents(req) {
      const filter = {
        actorId: req.actorId,
        action: req.action,
        targetId: req.targetId,
        startMs: millis(req.startTime, "start_time"),
        endMs: millis(req.endTime, "end_time"),
      };
      const page = await listAuditEvents(replica ?? db, filter, { pageSize: req.pageSize, pageToken: req.pageToken });
      return create(ListAuditEventsResponseSchema, { events: page.rows.map(auditEventToMessage), nextPageToken: page.nextPageToken });
    },

    async verifyAuditLog() {
      // Seal what has committed so far, so that the answer covers every event recorded
      // before the call (another process may be sealing: then it seals them).
      await sealAll(db);
      const result = await verifyChain(db);
      return create(VerifyAuditLogResponseSchema, {
        ok: result.ok,
        eventsChecked: BigInt(result.eventsChecked),
        firstBadEventId: result.firstBadEventId,
        problem: result.ok ? "" : `seq ${result.badSeq}: ${result.problem}`,
      });
    },
  };
}

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
function millis(ts: Timestamp | undefined, field: string): number | undefined {
  if (ts === undefined) return undefined;
  if (ts.seconds < -62_135_596_800n || ts.seconds > 253_402_300_799n || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw invalidArgument("INVALID_TIMESTAMP", `${field} is outside the valid range.`, { field });
  }
  return timestampMs(ts);
}
