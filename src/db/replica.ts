// The read replica (BANK_DATABASE_REPLICA_URL): a PostgreSQL hot standby that serves the reads
// which tolerate limits.replicaLagMaxMs of staleness (statements, balances at a past instant,
// audit listings). Nothing that decides about money, authorizes a caller or feeds a stream reads
// it; those use the primary directly and never come here.
//
// How stale is the replica? Every limits.replicaLagCheckMs this process asks the primary for
// pg_current_wal_flush_lsn() at time T, then the replica for pg_last_wal_replay_lsn(). Every
// transaction visible on the primary at T has its commit record at or before that LSN (bankd
// commits synchronously, so a commit is flushed before it becomes visible), and a standby makes a
// transaction visible when it replays the commit record. So once the replica has replayed up to
// the LSN sampled at T, it holds everything committed before T, and its data is at most now - T
// old. The samples of the last replicaLagMaxMs are kept, so a replica that trails a busy primary
// by a little is still credited with the newest sample it has passed.
//
// This is correct when the primary is idle, which the usual alternative is not:
// now() - pg_last_xact_replay_timestamp() grows without bound while nothing commits, although the
// replica then holds everything. Here an idle primary's flush LSN stops moving, the replica
// replays up to it, and every new sample is passed at once. A heartbeat row would work too, but
// costs a table and a write per interval on the primary.
//
// Reads never wait for a measurement: each compares now with the newest sample the replica has
// passed. A read sent to the replica that fails for any reason (the replica went down, a query
// cancelled by a recovery conflict) is retried on the primary, so the replica's troubles never
// reach a client; the replica is then treated as unavailable until a measurement succeeds again.
import { limits } from "../limits";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { type Database, type Tx } from "./database";
import { CallAbortedError, ReadOnlyViolationError } from "./errors";

/** What the readers need: the primary's Database and the replica router have it alike. */
export type Reader = Pick<Database, "read">;

/** Metric labels of bankd_replica_reads_total{target, reason}. */
const TARGET = { replica: "replica", primary: "primary" } as const;
const REASON = { fresh: "fresh", lagging: "lagging", unavailable: "unavailable", notStandby: "not_standby", error: "error" } as const;
type Reason = (typeof REASON)[keyof typeof REASON];
/** SQLSTATE 25006 read_only_sql_transaction: a write reached the standby (a programming error). */
const READ_ONLY_SQLSTATE = "25006";

interface Sample {
  atMs: number;
  lsn: bigint;
}

export interface ReplicaRouterOptions {
  metrics?: Metrics;
  logger?: Logger;
  /** Epoch milliseconds. */
  clock?: () => number;
  /** Defaults to limits.replicaLagCheckMs. */
  checkIntervalMs?: number;
}

export class ReplicaRouter implements Reader {
  /** Primary LSNs sampled in the last replicaLagMaxMs that the replica had not yet replayed. */
  private samples: Sample[] = [];
  /** The replica holds every commit the primary had at this instant (undefined: unknown). */
  private caughtUpAtMs: number | undefined;
  /** Why the replica is not usable regardless of its lag (the last measurement failed, or it is
   * not a standby); undefined when it answered as a standby. */
  private down: Reason | undefined = REASON.unavailable;
  /** The reason reported last, so that a change of state is logged once, not per read. */
  private lastReason: Reason | undefined;
  private timer: NodeJS.Timeout | undefined;
  private measuring: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The last measurement failed (its failure is logged once, not every interval). */
  private failing = false;
  private readonly clock: () => number;

  constructor(
    private readonly primary: Database,
    readonly replica: Database,
    private readonly opts: ReplicaRouterOptions = {},
  ) {
    if (!replica.readOnly) throw new Error("the replica database must be opened read-only");
    this.clock = opts.clock ?? Date.now;
  }

  /** Measures once (so that reads may use the replica from the start), then every interval. */
  async start(): Promise<void> {
    await this.measure();
    this.schedule();
  }

  /** Stops measuring; the databases are closed by their owner. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.measuring;
  }

  /** How old the replica's data may be now, in ms; undefined when unknown. */
  stalenessMs(): number | undefined {
    return this.caughtUpAtMs === undefined ? undefined : this.clock() - this.caughtUpAtMs;
  }

  /** Runs `fn` on the replica when it is fresh enough, else (or if that fails) on the primary. */
  async read<T>(fn: (tx: Tx) => Promise<T>, opts: { signal?: AbortSignal } = {}): Promise<T> {
    const reason = this.usable();
    if (reason !== REASON.fresh) {
      this.count(TARGET.primary, reason);
      return this.primary.read(fn, opts);
    }
    try {
      const result = await this.replica.read(fn, opts);
      this.count(TARGET.replica, REASON.fresh);
      return result;
    } catch (err) {
      if (err instanceof CallAbortedError || err instanceof ReadOnlyViolationError) throw err;
      if ((err as { code?: unknown }).code === READ_ONLY_SQLSTATE) throw new ReadOnlyViolationError("a write statement");
      // Until a measurement succeeds again, reads go straight to the primary.
      this.down = REASON.unavailable;
      this.opts.logger?.warn({ err }, "a read on the replica failed; retried on the primary");
      this.count(TARGET.primary, REASON.error);
      return this.primary.read(fn, opts);
    }
  }

  private usable(): Reason {
    if (this.down !== undefined) return this.down;
    const staleness = this.stalenessMs();
    return staleness !== undefined && staleness <= limits.replicaLagMaxMs ? REASON.fresh : REASON.lagging;
  }

  private count(target: string, reason: Reason): void {
    this.opts.metrics?.replicaReads.inc({ target, reason });
    if (reason === REASON.error || reason === this.lastReason) return;
    // A change of where reads go is worth a line; each read is not.
    if (reason === REASON.fresh) this.opts.logger?.info({ stalenessMs: this.stalenessMs() }, "reads that may use the replica go to the replica");
    else this.opts.logger?.warn({ reason, stalenessMs: this.stalenessMs(), boundMs: limits.replicaLagMaxMs }, "reads that may use the replica go to the primary");
    this.lastReason = reason;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.measuring = this.measure().finally(() => this.schedule());
    }, this.opts.checkIntervalMs ?? limits.replicaLagCheckMs);
    this.timer.unref();
  }

  /** One lag measurement (see the top of this file). Never throws. */
  private async measure(): Promise<void> {
    const atMs = this.clock();
    try {
      const primary = await this.primary.read((tx) => tx.one<{ lsn: string }>("SELECT CAST(pg_current_wal_flush_lsn() AS TEXT) AS lsn"));
      this.samples.push({ atMs, lsn: lsnOf(primary!.lsn) });
      const replica = await this.replica.read((tx) =>
        tx.one<{ standby: boolean; lsn: string | null }>("SELECT pg_is_in_recovery() AS standby, CAST(pg_last_wal_replay_lsn() AS TEXT) AS lsn"),
      );
      if (!replica!.standby) {
        // A promoted former standby (or the primary itself) may have diverged: never read it.
        this.down = REASON.notStandby;
        return;
      }
      this.down = undefined;
      if (this.failing) this.opts.logger?.info("the replica answers again");
      this.failing = false;
      const replayed = replica!.lsn === null ? -1n : lsnOf(replica!.lsn);
      const passed = this.samples.filter((s) => s.lsn <= replayed);
      if (passed.length > 0) this.caughtUpAtMs = Math.max(this.caughtUpAtMs ?? 0, ...passed.map((s) => s.atMs));
    } catch (err) {
      this.down = REASON.unavailable;
      if (!this.failing) this.opts.logger?.warn({ err }, "the replica's lag could not be measured; reads that may use it go to the primary");
      this.failing = true;
    } finally {
      // Samples the replica passed are dominated by the newest one; older than the bound, useless.
      const oldest = this.clock() - limits.replicaLagMaxMs;
      this.samples = this.samples.filter((s) => s.atMs > (this.caughtUpAtMs ?? -Infinity) && s.atMs >= oldest);
      const staleness = this.stalenessMs();
      this.opts.metrics?.replicaStaleness.set(this.down !== undefined || staleness === undefined ? -1 : staleness / 1000);
    }
  }
}

/** '16/B374D848' -> its 64-bit position. */
export function lsnOf(text: string): bigint {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(text);
  if (!match) throw new Error(`not an LSN: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}
