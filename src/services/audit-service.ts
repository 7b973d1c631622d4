// bank.v1.AuditService: reading and verifying the audit log. The auth interceptor admits only
// the roles the contract lists (AUDITOR, ADMIN); this adapter maps messages to the domain.
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import type { Database } from "../db/database";
import type { Reader } from "../db/replica";
import { AuditService, ListAuditEventsResponseSchema, VerifyAuditLogResponseSchema } from "../../gen/bank/v1/audit_service_pb";
import { listAuditEvents } from "../audit/query";
import { sealAll } from "../audit/sealer";
import { verifyChain } from "../audit/verifier";
import { auditEventToMessage, millis } from "./mapping/audit";

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
      const page = await listAuditEvents(db, filter, { pageSize: req.pageSize, pageToken: req.pageToken }, replica ?? db);
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
