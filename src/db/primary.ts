// Following the primary of a PostgreSQL formation (pg_auto_failover: a monitor, a primary and a
// standby; docs/deploy.md, "High availability"). BANK_DATABASE_URL names every node in libpq's
// multi-host form (src/db/postgres-url.ts); node-postgres connects to one host, so bankd finds the
// one that accepts writes itself and hands the pool that host (its `connectionString`, public pg
// configuration), and hands it another one when the primary moves.
//
// Finding it: a probe round asks every host at once, on a short connection of its own,
//   SELECT pg_is_in_recovery(), current_setting('transaction_read_only'), ...
// and never takes the URL's order as a hint. A host is writable when it is not in recovery AND its
// sessions are not read-only: right after its promotion pg_auto_failover keeps the new primary
// read-only (default_transaction_read_only, state stop_replication) until the old one is known to
// be down, and a write there fails with SQLSTATE 25006, so "not in recovery" alone would pick it
// too early (libpq's target_session_attrs=read-write checks transaction_read_only the same way).
// Two writable hosts at once (an old primary not yet demoted beside the new one) are told apart by
// their timeline: promotion starts a new one, so the higher timeline is the newer primary; two on
// the same timeline are refused (no host until it resolves).
//
// When: at start (none writable: the process refuses to start, naming every host and what it
// answered); after a lost connection, a connection that cannot be made, or a write refused as
// read-only (25006), at once; while no host is writable, every limits.dbPrimaryProbeIntervalMs;
// while one is, every limits.dbPrimaryCheckMs that host alone (which also reads its
// synchronous_standby_names: empty means commits are acknowledged without a standby's copy, which
// is logged and exposed as bankd_db_synchronous_standby_missing; bankd serves on).
//
// Meanwhile: a unit of work that needs a connection while no host is writable waits up to
// limits.dbPrimaryWaitMs for a round to find one, then fails with SQLSTATE 08001
// (sqlclient_unable_to_establish_sqlconnection), which Database turns into UNAVAILABLE
// DATABASE_UNAVAILABLE; health is NOT_SERVING until a host is writable again.
import { Client, type Pool, type PoolClient } from "pg";
import { limits } from "../limits";
import type { Metrics } from "../metrics";
import { formatHost, type HostPort, type MultiHostUrl, type WantedRole } from "./postgres-url";

export interface FollowerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ProbeResult {
  host: HostPort;
  state: "writable" | "read-only" | "standby" | "unreachable";
  /** The primary's timeline (from its current WAL file name); undefined on a standby. */
  timeline?: number;
  /** synchronous_standby_names as the host reports it. */
  syncStandbyNames?: string;
  /** Why the host is unreachable (the driver's first line). */
  error?: string;
  /** Unreachable because it did not answer in time (rather than refusing): it may be merely slow. */
  timedOut?: boolean;
}

const PROBE_SQL = `SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') AS read_only,
  current_setting('synchronous_standby_names') AS sync_names,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END AS timeline`;

/** Asks one host what it is, within limits.dbProbeTimeoutMs. Never throws. */
export async function probeHost(url: string, host: HostPort): Promise<ProbeResult> {
  const client = new Client({ connectionString: url, application_name: "bankd-probe", connectionTimeoutMillis: limits.dbProbeTimeoutMs, query_timeout: limits.dbProbeTimeoutMs });
  // A server that goes away under the probe must not become an unheard 'error'.
  client.on("error", () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = (async () => {
      await client.connect();
      return (await client.query<{ standby: boolean; read_only: string; sync_names: string; timeline: string | null }>(PROBE_SQL)).rows[0]!;
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${limits.dbProbeTimeoutMs} ms`)), limits.dbProbeTimeoutMs);
    });
    answer.catch(() => undefined);
    const row = await Promise.race([answer, timeout]);
    if (row.standby) return { host, state: "standby", syncStandbyNames: row.sync_names };
    const timeline = row.timeline === null ? undefined : Number.parseInt(row.timeline, 16);
    return { host, state: row.read_only === "on" ? "read-only" : "writable", timeline, syncStandbyNames: row.sync_names };
  } catch (err) {
    return { host, state: "unreachable", error: firstLine(err), timedOut: /no answer within|timeout/i.test(firstLine(err)) };
  } finally {
    clearTimeout(timer);
    client.end().catch(() => undefined);
  }
}

/** Probes every host at once and picks the one that fits `role`; `keep` (the host in use) wins
 * among equals, so a standby reader does not hop between standbys. */
export async function probeAll(url: MultiHostUrl, role: WantedRole, keep?: HostPort): Promise<{ chosen?: ProbeResult; results: ProbeResult[]; ambiguous?: string }> {
  const results = await Promise.all(url.hosts.map((h) => probeHost(url.urlFor(h), h)));
  if (role === "standby") {
    const standbys = results.filter((r) => r.state === "standby");
    return { chosen: standbys.find((r) => keep !== undefined && sameHost(r.host, keep)) ?? standbys[0], results };
  }
  const writable = results.filter((r) => r.state === "writable");
  if (writable.length <= 1) return { chosen: writable[0], results };
  const newest = Math.max(...writable.map((r) => r.timeline ?? -1));
  const onNewest = writable.filter((r) => (r.timeline ?? -1) === newest);
  if (onNewest.length === 1) return { chosen: onNewest[0], results };
  return { results, ambiguous: `${onNewest.map((r) => formatHost(r.host)).join(" and ")} all accept writes on timeline ${newest}` };
}

/** What each host answered, for a log line or a start-up error. */
export function describeResults(results: readonly ProbeResult[]): string {
  return results
    .map((r) => {
      const what = r.state === "unreachable" ? `unreachable (${r.error})` : r.state === "standby" ? "a standby (in recovery)" : r.state === "read-only" ? "read-only (transaction_read_only = on)" : "accepts writes";
      return `${formatHost(r.host)}: ${what}`;
    })
    .join("; ");
}

/** The process cannot start on this multi-host URL (every host unreachable, or none writable). */
export class DatabaseHostsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseHostsError";
  }
}

export interface FollowerOptions {
  /** The environment variable the URL came from (named in errors). */
  name: string;
  log?: FollowerLog;
  metrics?: Metrics;
}

/** Knows which host of a multi-host URL to use now, and tells when that changes. */
export class HostFollower {
  private target: HostPort | undefined;
  private readonly listeners = new Set<(target: HostPort | undefined) => void>();
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** A full round was asked for while one ran: another follows it. */
  private again = false;
  private stopped = false;
  private syncMissingSince: number | undefined;
  private syncWarnedAt = 0;
  /** The last round's summary, logged when it changes (not every round). */
  private lastSummary = "";

  private constructor(
    readonly url: MultiHostUrl,
    private readonly opts: FollowerOptions,
  ) {}

  /**
   * Finds the host to use before anything else runs. For the primary, a URL with no writable host
   * is refused (DatabaseHostsError naming each host and what it answered); a standby reader may
   * start without one (its reads go to the primary meanwhile).
   */
  static async start(url: MultiHostUrl, opts: FollowerOptions): Promise<HostFollower> {
    const follower = new HostFollower(url, opts);
    const { chosen, results, ambiguous } = await probeAll(url, url.role);
    if (url.role === "primary" && !chosen) {
      const all = results.every((r) => r.state === "unreachable");
      const why = ambiguous ?? (all ? `none of its ${results.length} hosts answers` : `none of its ${results.length} hosts accepts writes`);
      throw new DatabaseHostsError(`${opts.name}: ${why} (${describeResults(results)}). bankd needs the formation's primary up to start; check the hosts and the formation's state (pg_autoctl show state).`);
    }
    follower.setTarget(chosen, results);
    follower.schedule(chosen ? limits.dbPrimaryCheckMs : limits.dbPrimaryProbeIntervalMs);
    return follower;
  }

  /** The host in use now; undefined while none fits (a failover in progress). */
  get current(): HostPort | undefined {
    return this.target;
  }

  /** The single-host URL of the host in use now. */
  currentUrl(): string | undefined {
    return this.target ? this.url.urlFor(this.target) : undefined;
  }

  onChange(listener: (target: HostPort | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Waits up to `ms` for a host (at once when one is known). */
  async waitForTarget(ms: number): Promise<HostPort | undefined> {
    if (this.target || this.stopped) return this.target;
    this.suspect();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.push(done);
    });
    return this.target;
  }

  /** An error on a connection to the host in use: when it says the connection was lost or a write
   * was refused as read-only, a full round starts now. Other errors (a constraint, a timeout of a
   * slow statement) say nothing about where the primary is. */
  suspect(err?: unknown): void {
    if (this.stopped || (err !== undefined && !isHostLoss(err))) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.tick(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const w of this.waiters.splice(0)) w();
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(false), ms);
    this.timer.unref();
  }

  /** One check: the host in use alone (periodic), or every host (`full`, or no host in use). */
  private tick(full: boolean): void {
    this.running = (async () => {
      try {
        if (!full && this.target) {
          const result = await probeHost(this.url.urlFor(this.target), this.target);
          if (this.fits(result)) {
            this.observeSync(result);
            return;
          }
          this.opts.log?.warn({ host: formatHost(this.target), answered: describeResults([result]) }, "the database host in use no longer fits; asking every host");
        }
        const { chosen, results, ambiguous } = await probeAll(this.url, this.url.role, this.target);
        if (ambiguous) this.opts.log?.error({ hosts: describeResults(results) }, `several hosts accept writes: ${ambiguous}; none is used until one remains`);
        // The host in use only failed to answer in time (a busy machine), and no other host fits:
        // keep it (its connections fail by themselves if it is really gone) and ask again soon,
        // rather than dropping every connection of a slow but healthy primary.
        const mine = this.target && results.find((r) => sameHost(r.host, this.target!));
        if (!chosen && !ambiguous && mine?.state === "unreachable" && mine.timedOut) {
          this.opts.log?.warn({ host: formatHost(mine.host), hosts: describeResults(results) }, "the database host in use did not answer the probe in time; kept, asking again");
          this.again = true;
          return;
        }
        this.setTarget(chosen, results);
      } catch (err) {
        this.opts.log?.error({ err }, "a probe round failed");
      }
    })().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.tick(true);
        return;
      }
      this.schedule(this.target ? limits.dbPrimaryCheckMs : limits.dbPrimaryProbeIntervalMs);
    });
  }

  private fits(r: ProbeResult): boolean {
    return this.url.role === "primary" ? r.state === "writable" : r.state === "standby";
  }

  private setTarget(chosen: ProbeResult | undefined, results: readonly ProbeResult[]): void {
    const next = chosen?.host;
    const changed = !(next === this.target || (next !== undefined && this.target !== undefined && sameHost(next, this.target)));
    const summary = describeResults(results);
    if (this.url.role === "primary") this.opts.metrics?.dbPrimaryAvailable.set(next ? 1 : 0);
    if (chosen) this.observeSync(chosen);
    if (changed) {
      const previous = this.target;
      this.target = next;
      if (next && previous) this.opts.metrics?.dbPrimarySwitches.inc();
      const role = this.url.role === "primary" ? "primary" : "standby";
      if (next) this.opts.log?.info({ host: formatHost(next), previous: previous ? formatHost(previous) : null, hosts: summary }, `the database ${role} is ${formatHost(next)}`);
      else this.opts.log?.warn({ previous: previous ? formatHost(previous) : null, hosts: summary }, `no database host is a ${role} now; retrying every ${limits.dbPrimaryProbeIntervalMs} ms`);
      for (const listener of this.listeners) listener(next);
    } else if (!next && summary !== this.lastSummary) {
      this.opts.log?.warn({ hosts: summary }, `still no database ${this.url.role} host`);
    }
    this.lastSummary = summary;
    if (next) for (const w of this.waiters.splice(0)) w();
  }

  /** synchronous_standby_names on the primary: empty = no standby holds a commit before it is
   * acknowledged. Warned about (once, then every limits.dbSyncStandbyWarnEveryMs), never refused. */
  private observeSync(r: ProbeResult): void {
    if (this.url.role !== "primary" || r.state !== "writable") return;
    const missing = (r.syncStandbyNames ?? "").trim() === "";
    this.opts.metrics?.dbSyncStandbyMissing.set(missing ? 1 : 0);
    const now = Date.now();
    if (!missing) {
      if (this.syncMissingSince !== undefined) this.opts.log?.info({ host: formatHost(r.host), synchronousStandbyNames: r.syncStandbyNames }, "the primary commits synchronously to a standby again");
      this.syncMissingSince = undefined;
      return;
    }
    this.syncMissingSince ??= now;
    if (now - this.syncWarnedAt < limits.dbSyncStandbyWarnEveryMs) return;
    this.syncWarnedAt = now;
    this.opts.log?.warn(
      { host: formatHost(r.host), sinceMs: now - this.syncMissingSince },
      "the primary's synchronous_standby_names is empty: commits are acknowledged without a standby's copy (losing this node now loses them); bankd serves on",
    );
  }
}

/**
 * The connections of a pg Pool on the host a HostFollower names: a Pool per host, made when the
 * follower moves (from `make`, with that host's URL) and the previous one ended (its idle
 * connections close at once, the ones in use when released). It has the shape kysely's
 * PostgresDialect takes (connect, end).
 */
export class FollowingPool {
  private pool: Pool | undefined;
  private host: HostPort | undefined;
  private ended = false;

  constructor(
    private readonly follower: HostFollower,
    private readonly make: (url: string) => Pool,
  ) {
    this.moveTo(follower.current);
    follower.onChange((target) => this.moveTo(target));
  }

  /** The current pool's pg configuration (kysely's PostgresPool shape). */
  get options(): object {
    return this.pool?.options ?? {};
  }

  async connect(): Promise<PoolClient> {
    let pool = this.pool;
    // Writes wait a little for the new primary; a standby reader does not (its reads go to the
    // primary at once: src/db/replica.ts).
    if (!pool && !this.ended && this.follower.url.role === "primary") {
      await this.follower.waitForTarget(limits.dbPrimaryWaitMs);
      pool = this.pool;
    }
    if (!pool) throw noHostError(this.follower.url.role);
    try {
      return await pool.connect();
    } catch (err) {
      this.follower.suspect(err);
      throw err;
    }
  }

  async end(): Promise<void> {
    this.ended = true;
    await this.follower.stop();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private moveTo(target: HostPort | undefined): void {
    if (this.ended || (target && this.host && sameHost(target, this.host))) return;
    const old = this.pool;
    this.host = target;
    this.pool = target ? this.make(this.follower.url.urlFor(target)) : undefined;
    // Its connections lead to the old host: idle ones close now, busy ones when released.
    old?.end().catch(() => undefined);
  }
}

/** The error a unit of work gets while no host fits: SQLSTATE 08001, which Database classifies
 * as the database being unavailable (UNAVAILABLE DATABASE_UNAVAILABLE). */
function noHostError(role: WantedRole): Error {
  return Object.assign(new Error(role === "primary" ? "no database host accepts writes (a failover in progress?)" : "no database host is a standby"), { code: "08001" });
}

const LOSS_CODES = new Set(["25006", "57P01", "57P02", "57P03", "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ETIMEDOUT"]);
const LOSS_MESSAGES = /Connection terminated|terminating connection|Connection ended unexpectedly|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed and is not queryable|connect ECONNREFUSED/;

/** A lost or refused connection, or a write refused as read-only (the host was demoted). */
export function isHostLoss(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && typeof e === "object" && depth < 5; e = e.cause as typeof e, depth++) {
    const code = String(e.code ?? "");
    if (LOSS_CODES.has(code) || code.startsWith("08")) return true;
    if (LOSS_MESSAGES.test(String(e.message ?? ""))) return true;
  }
  return false;
}

function sameHost(a: HostPort, b: HostPort): boolean {
  return a.host === b.host && a.port === b.port;
}

function firstLine(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown } | undefined;
  const message = String(e?.message ?? err).split("\n")[0]!.slice(0, 200);
  return message === "" && e?.code ? String(e.code) : message;
}
