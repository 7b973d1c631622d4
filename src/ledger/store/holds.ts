// The hold sweeper's read: the holds past their expire_time (commands/expire.ts expires each
// through the posting engine, under its row lock).
import type { Database } from "../../db/database";

/** Up to `max` pending holds whose expire_time is at or before `nowMs`, oldest first. */
export function dueHolds(db: Database, nowMs: number, max: number): Promise<{ id: string }[]> {
  return db.read((tx) =>
    tx.all<{ id: string }>(`SELECT id FROM transactions WHERE status = 'PENDING' AND expire_time <= ? ORDER BY expire_time LIMIT ?`, [nowMs, max]),
  );
}
