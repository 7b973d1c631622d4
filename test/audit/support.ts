// Helpers of the audit tests: recording sample events, reading the chain, and tampering with
// stored rows the way someone with database access would (plain SQL, outside bankd's code).
import type { Database } from "../../src/db/database";
import type { Role } from "../../gen/bank/v1/access_pb";
import type { TestApp } from "../support/app";
import { createTestUser, type TestUser } from "../support/users";
import { recordAudit, type AuditInput } from "../../src/audit/recorder";
import { AUDIT_EVENT_COLUMNS, GENESIS_HASH, type AuditEventRow } from "../../src/audit/chain";

export function sampleEvent(i: number, overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    actorId: `actor-${i % 3}`,
    action: i % 2 === 0 ? "transaction.deposit" : "auth.login",
    targetId: `target-${i}`,
    outcome: i % 4 === 3 ? "FAILED" : "SUCCESS",
    clientAddress: "127.0.0.1",
    requestId: `req-${i}`,
    details: { amount_minor: String(100 * i), note: `event ${i} ✓` },
    ...overrides,
  };
}

/** Records `count` events, each in its own committed transaction, at times `baseMs + i`. */
export async function recordEvents(db: Database, count: number, baseMs = 1_700_000_000_000): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await db.transaction((tx) => recordAudit(tx, sampleEvent(i), baseMs + i)));
  return ids;
}

/** Sealed events in seq order, then unsealed ones. */
export function chainRows(db: Database): Promise<AuditEventRow[]> {
  return db.read((tx) => tx.all<AuditEventRow>(`SELECT ${AUDIT_EVENT_COLUMNS} FROM audit_events ORDER BY seq IS NULL, seq, event_time, id`));
}

export async function idAtSeq(db: Database, seq: number): Promise<string> {
  const row = await db.read((tx) => tx.one<{ id: string }>(`SELECT id FROM audit_events WHERE seq = ?`, [seq]));
  if (!row) throw new Error(`no event at seq ${seq}`);
  return row.id;
}

export async function resetChain(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.run(`DELETE FROM audit_events`);
    await tx.run(`UPDATE audit_chain_head SET seq = 0, hash = ?, event_id = '' WHERE id = 1`, [GENESIS_HASH]);
  });
}

export interface Snapshot {
  rows: AuditEventRow[];
  head: { seq: number | string; hash: string; event_id: string };
}

export async function snapshot(db: Database): Promise<Snapshot> {
  const rows = await chainRows(db);
  const head = await db.read((tx) => tx.one<Snapshot["head"]>(`SELECT seq, hash, event_id FROM audit_chain_head WHERE id = 1`));
  return { rows, head: head! };
}

/** Puts the audit tables back exactly as they were at `snap`. */
export async function restore(db: Database, snap: Snapshot): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.run(`DELETE FROM audit_events`);
    for (const r of snap.rows) {
      await tx.run(`INSERT INTO audit_events (${AUDIT_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        r.id, r.event_time, r.actor_id, r.action, r.target_id, r.outcome, r.client_address, r.request_id, r.details, r.seq, r.prev_event_id, r.prev_hash, r.hash,
      ]);
    }
    await tx.run(`UPDATE audit_chain_head SET seq = ?, hash = ?, event_id = ? WHERE id = 1`, [snap.head.seq, snap.head.hash, snap.head.event_id]);
  });
}

/** Swaps the seq of the events at seq a and b, as a person editing the table by hand would. */
export async function swapSeq(db: Database, a: number, b: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.run(`UPDATE audit_events SET seq = -1 WHERE seq = ?`, [a]);
    await tx.run(`UPDATE audit_events SET seq = ? WHERE seq = ?`, [a, b]);
    await tx.run(`UPDATE audit_events SET seq = ? WHERE seq = -1`, [b]);
  });
}

/** Creates users one after another: password checks are queued per process, and creating many at
 * once only makes them wait (or be refused as busy on a loaded machine). */
export async function createUsers(t: TestApp, ...roleSets: Role[][]): Promise<TestUser[]> {
  const users: TestUser[] = [];
  for (const roles of roleSets) users.push(await createTestUser(t, roles));
  return users;
}
