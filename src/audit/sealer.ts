// The sealer: numbers committed audit events and hash-chains them, after the transactions that
// recorded them have committed. Bank writes only INSERT unsealed rows, so none of them waits on a
// chain-wide lock; the chain's order is decided here, once, by the seq this assigns.
//
// Order rule: each sealing transaction takes the committed unsealed rows it can see in
// (event_time, id) order and gives them head.seq + 1, + 2, ... An event whose transaction commits
// after a sealing pass simply gets a later seq than events sealed in that pass, even if its
// event_time is earlier. The seq, not the time, defines the chain, so the order is unambiguous.
//
// One sealer at a time across processes: on PostgreSQL a transaction-scoped advisory lock (a
// second sealer skips its turn instead of queueing) plus FOR UPDATE on the chain head row; on
// SQLite the database's single writer serializes sealing transactions.
import { assert } from "../util/assert";
import { LockMode } from "@mikro-orm/core";
import type { Database, Tx } from "../db/database";
import { AuditChainHead, AuditEvent } from "../db/entities";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { limits } from "../limits";
import { auditRowOf, chainHash, type AuditEventFields, type AuditEventRow } from "./chain";

/** pg_try_advisory_xact_lock key of the sealer: "bankdaud" as a big-endian int64. */
export const SEALER_LOCK_KEY = "7089068695982536036";

export interface ChainHead {
  seq: number;
  hash: string;
  /** The id of the event at seq (empty before the first). */
  eventId: string;
}

export interface SealResult {
  sealed: number;
  /** True when another sealer held the lock (PostgreSQL): nothing was done. */
  skipped: boolean;
}

interface Seal {
  id: string;
  seq: number;
  prevHash: string;
  prevEventId: string;
  hash: string;
}

/** Seals up to `batchMax` committed unsealed events in one short transaction of its own. */
export async function sealBatch(db: Database, batchMax: number = limits.auditSealBatchMax): Promise<SealResult> {
  return db.transaction(async (tx) => {
    if (!(await takeSealerLock(tx))) return { sealed: 0, skipped: true };
    const head = await readHead(tx, true);
    const rows = await unsealed(tx, batchMax);
    if (rows.length === 0) return { sealed: 0, skipped: false };
    const seals = chain(head, rows);
    assert(seals.length === rows.length, "one seal per unsealed event");
    assert(seals[0]!.seq === head.seq + 1, "the batch continues the chain at head.seq + 1");
    await writeSeals(tx, seals);
    const last = seals[seals.length - 1]!;
    assert(last.seq === head.seq + seals.length, "the batch's seqs are contiguous");
    await tx.em.nativeUpdate(AuditChainHead, { id: 1 }, { seq: last.seq, hash: last.hash, eventId: last.id });
    return { sealed: seals.length, skipped: false };
  });
}

/** Seals until nothing committed is left unsealed, another sealer has the lock, or `enough()`
 * says so. Returns how many events this call sealed. */
export async function sealAll(db: Database, enough: () => boolean = () => false): Promise<number> {
  return (await sealUntilDone(db, enough)).sealed;
}

/** sealAll, also telling whether the last batch found nothing more committed to seal. */
async function sealUntilDone(db: Database, enough: () => boolean): Promise<{ sealed: number; drained: boolean }> {
  let sealed = 0;
  for (;;) {
    const result = await sealBatch(db);
    sealed += result.sealed;
    if (result.skipped) return { sealed, drained: false };
    if (result.sealed < limits.auditSealBatchMax) return { sealed, drained: true };
    if (enough()) return { sealed, drained: false };
  }
}

export function countUnsealed(db: Database): Promise<number> {
  return db.read((tx) => tx.em.count(AuditEvent, { seq: null }));
}

/** Whether any event waits to be sealed: stops at the first one whatever plan the database
 * picks (a COUNT(*) here was a 12 ms sequential scan under stale statistics, 5 times a second). */
export async function hasUnsealed(db: Database): Promise<boolean> {
  return (await db.read((tx) => tx.em.findOne(AuditEvent, { seq: null }, { fields: ["id"], disableIdentityMap: true }))) !== null;
}

export async function readHead(tx: Tx, forUpdate = false): Promise<ChainHead> {
  const lockMode = forUpdate ? LockMode.PESSIMISTIC_WRITE : undefined;
  const row = await tx.em.findOne(AuditChainHead, { id: 1 }, { lockMode, disableIdentityMap: true });
  // Migration 0001 inserts the row; its absence means the table was tampered with.
  if (!row) throw new Error("audit_chain_head row missing");
  return { seq: row.seq, hash: row.hash, eventId: row.eventId };
}

/** Committed unsealed events in chain order. Through the entity's QueryBuilder without
 * hydration: a busy bank seals thousands of events a second, and the hash covers the stored
 * values as they are. */
async function unsealed(tx: Tx, batchMax: number): Promise<AuditEventRow[]> {
  const events = await tx.em
    .createQueryBuilder(AuditEvent)
    .select("*")
    .where({ seq: null })
    .orderBy({ eventTime: "asc", id: "asc" })
    .limit(batchMax)
    .execute<AuditEventFields[]>("all");
  return events.map(auditRowOf);
}

/** False when another PostgreSQL sealer is at work. On SQLite, takes the write lock first, so
 * that every read of this transaction sees the latest commit (a no-op write in plain SQL: the
 * entity API has no statement that writes a row without changing it). */
async function takeSealerLock(tx: Tx): Promise<boolean> {
  const lockSql = tx.engine.tryTransactionLockSql(SEALER_LOCK_KEY);
  if (lockSql) {
    const row = await tx.one<{ locked: boolean }>(lockSql);
    return row?.locked === true;
  }
  await tx.run(`UPDATE audit_chain_head SET seq = seq WHERE id = 1`);
  return true;
}

/** Computes the seals of `rows`, in order, continuing the chain from `head`. */
function chain(head: ChainHead, rows: AuditEventRow[]): Seal[] {
  let seq = head.seq;
  let prevHash = head.hash;
  let prevEventId = head.eventId;
  return rows.map((row) => {
    assert(row.seq === null, "only unsealed events are chained");
    seq += 1;
    const hash = chainHash(prevHash, { ...row, seq, prev_event_id: prevEventId });
    const seal = { id: row.id, seq, prevHash, prevEventId, hash };
    prevHash = hash;
    prevEventId = row.id;
    return seal;
  });
}

/** The seals' rows as one JSON parameter (SqlEngine.jsonRows), whatever their number. */
const SEAL_COLUMNS = [
  { name: "id", type: "text" },
  { name: "seq", type: "bigint" },
  { name: "prev_hash", type: "text" },
  { name: "prev_event_id", type: "text" },
  { name: "hash", type: "text" },
] as const;

/** One set-based UPDATE for the whole batch (kept in SQL: the unit of work would send one UPDATE
 * per event, and this is the sealer's hot statement). UPDATE ... FROM works on both engines
 * (SQLite >= 3.33); the statement starts with UPDATE so that the SQLite driver reports the rows
 * it changed. Each row is found by its id: the unary + keeps SQLite's planner off the seq index,
 * where "seq IS NULL" made every event still unsealed the outer loop times the batch (25 million
 * steps per batch of 500 behind 50,000 unsealed events: the bench's seeding took minutes to seal
 * and held the write lock throughout). */
async function writeSeals(tx: Tx, seals: Seal[]): Promise<void> {
  const rows = seals.map((s) => ({ id: s.id, seq: String(s.seq), prev_hash: s.prevHash, prev_event_id: s.prevEventId, hash: s.hash }));
  const changed = await tx.run(
    `UPDATE audit_events SET seq = v.seq, prev_hash = v.prev_hash, prev_event_id = v.prev_event_id, hash = v.hash
       FROM ${tx.engine.jsonRows("v", SEAL_COLUMNS)} WHERE audit_events.id = v.id AND +audit_events.seq IS NULL`,
    [JSON.stringify(rows)],
  );
  // Only this transaction may seal (lock above); anything else is a bug: roll back.
  assert(changed === seals.length, "the sealer's UPDATE sealed every event of its batch");
}

/** Runs sealing in the background: a pass every auditSealIntervalMs while events are waiting,
 * and a last one at stop(). Keeps metrics.auditUnsealed current. */
export class AuditSealer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly metrics?: Metrics,
    private readonly logger?: Logger,
    private readonly intervalMs: number = limits.auditSealIntervalMs,
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    try {
      const deadlineMs = Date.now() + limits.auditShutdownSealMs;
      await sealAll(this.db, () => Date.now() >= deadlineMs);
      this.metrics?.auditUnsealed.set(await countUnsealed(this.db));
    } catch (err) {
      this.logger?.warn({ err }, "audit: sealing at shutdown failed; the next sealer will seal the rest");
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    try {
      if (!(await hasUnsealed(this.db))) {
        this.metrics?.auditUnsealed.set(0);
        return;
      }
      if (this.stopped) return;
      const { drained } = await sealUntilDone(this.db, () => this.stopped);
      // Drained: the last batch saw nothing more committed, so the backlog as of this pass is
      // zero and no count is needed. Otherwise (another process holds the sealer lock, or
      // shutdown) the gauge shows the exact backlog.
      this.metrics?.auditUnsealed.set(drained ? 0 : await countUnsealed(this.db));
    } catch (err) {
      // An outage or a conflict: the events stay unsealed and the next pass retries.
      this.logger?.warn({ err }, "audit: sealing pass failed");
    }
  }
}
