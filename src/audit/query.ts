// Reading the audit log: filtered, newest first, keyset-paginated on (event_time, id), so a page
// costs the same however deep it is and events recorded meanwhile never shift later pages.
import type { Database } from "../db/database";
import { invalidArgument } from "../errors";
import { limits } from "../limits";
import { AUDIT_EVENT_COLUMNS, type AuditEventRow } from "./chain";
import { decodePageToken, encodePageToken, pageSizeOf } from "../pagination";

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

export async function listAuditEvents(db: Database, filter: AuditFilter, page: { pageSize: number; pageToken: string }): Promise<AuditPage> {
  checkFilter(filter);
  const size = pageSizeOf(page.pageSize);
  const cursor = decodePageToken(page.pageToken, filter, CURSOR);
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (filter.actorId !== "") add("actor_id = ?", filter.actorId);
  if (filter.action !== "") add("action = ?", filter.action);
  if (filter.targetId !== "") add("target_id = ?", filter.targetId);
  if (filter.startMs !== undefined) add("event_time >= ?", filter.startMs);
  if (filter.endMs !== undefined) add("event_time < ?", filter.endMs);
  if (cursor) add("(event_time < ? OR (event_time = ? AND id < ?))", cursor.t, cursor.t, cursor.i);
  const rows = await db.read((tx) =>
    tx.all<AuditEventRow>(
      `SELECT ${AUDIT_EVENT_COLUMNS} FROM audit_events ${where.length > 0 ? "WHERE " + where.join(" AND ") : ""}
        ORDER BY event_time DESC, id DESC LIMIT ?`,
      [...params, size + 1],
    ),
  );
  const more = rows.length > size;
  const shown = more ? rows.slice(0, size) : rows;
  const last = shown[shown.length - 1];
  return { rows: shown, nextPageToken: more && last ? encodePageToken(filter, { t: Number(last.event_time), i: last.id }) : "" };
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
