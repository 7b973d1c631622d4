// Reading the audit log: filtered, newest first, keyset-paginated on (event_time, id), so a page
// costs the same however deep it is and events recorded meanwhile never shift later pages.
import type { FilterQuery } from "@mikro-orm/core";
import type { Database } from "../db/database";
import type { Reader } from "../db/replica";
import { AuditEvent, type AuditEventEntity } from "../db/entities";
import { invalidArgument } from "../errors";
import { limits } from "../limits";
import { auditRowOf, type AuditEventRow } from "./chain";
import { decodePageToken, encodePageToken, pageSizeOf } from "../util/pagination";
import { tokenSealer } from "../util/sealed-tokens";

export interface AuditFilter {
  /** Exact matches; empty = any. */
  actorId: string;
  action: string;
  targetId: string;
  /** Inclusive lower bound, epoch ms. */
  startMs?: number;
  /** Exclusive upper bound, epoch ms. */
  endMs?: number;
}

export interface AuditPage {
  rows: AuditEventRow[];
  nextPageToken: string;
}

const CURSOR = { t: "number", i: "string" } as const;

/** The events are read through `reader`, which may be the read replica's router: a listing may
 * lag the newest events by limits.replicaLagMaxMs (VerifyAuditLog and the sealer read the
 * primary). Page tokens are sealed with the key the primary `db` holds. */
export async function listAuditEvents(db: Database, filter: AuditFilter, page: { pageSize: number; pageToken: string }, reader: Reader = db): Promise<AuditPage> {
  checkFilter(filter);
  const size = pageSizeOf(page.pageSize);
  const tokens = await tokenSealer(db);
  const cursor = decodePageToken(tokens, page.pageToken, filter, CURSOR);
  const where: FilterQuery<AuditEventEntity>[] = [];
  if (filter.actorId !== "") where.push({ actorId: filter.actorId });
  if (filter.action !== "") where.push({ action: filter.action });
  if (filter.targetId !== "") where.push({ targetId: filter.targetId });
  if (filter.startMs !== undefined) where.push({ eventTime: { $gte: filter.startMs } });
  if (filter.endMs !== undefined) where.push({ eventTime: { $lt: filter.endMs } });
  if (cursor) {
    const [t, i] = [Number(cursor.t), String(cursor.i)];
    where.push({ $or: [{ eventTime: { $lt: t } }, { eventTime: t, id: { $lt: i } }] });
  }
  const events = await reader.read((tx) =>
    tx.em.find(AuditEvent, { $and: where }, { orderBy: { eventTime: "desc", id: "desc" }, limit: size + 1, disableIdentityMap: true }),
  );
  const rows = events.map(auditRowOf);
  const more = rows.length > size;
  const shown = more ? rows.slice(0, size) : rows;
  const last = shown[shown.length - 1];
  return { rows: shown, nextPageToken: more && last ? encodePageToken(tokens, filter, { t: Number(last.event_time), i: last.id }) : "" };
}

function checkFilter(filter: AuditFilter): void {
  for (const [name, value] of [["actor_id", filter.actorId], ["action", filter.action], ["target_id", filter.targetId]] as const) {
    if (value.length > limits.auditFilterCharsMax) {
      throw invalidArgument("FILTER_TOO_LONG", `${name} must be at most ${limits.auditFilterCharsMax} characters.`, { field: name });
    }
  }
  if (filter.startMs !== undefined && filter.endMs !== undefined && filter.startMs >= filter.endMs) {
    throw invalidArgument("INVALID_TIME_RANGE", "start_time must be before end_time.");
  }
}
