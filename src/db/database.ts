// The database: MikroORM over SQLite (embedded default) or PostgreSQL. Every unit of work runs in
// a forked EntityManager's em.transactional (writes) or on a fork of its own (reads); the cold
// paths use the entities (entities.ts), and set-based statements of the posting engine go through
// the same EntityManager's connection inside its transaction (Tx.all / Tx.run: em.getKysely(),
// MikroORM 7's query runner, bound to the unit of work's transaction, with bound parameters). What
// differs between the engines lives behind SqlEngine (sqlite-engine.ts, postgres-engine.ts).
//
// Money columns are BIGINT. Raw SQL reads money as text (CAST(... AS TEXT)) and parses it with
// BigInt(); entities read it through MoneyType, which does the same. Times are BIGINT epoch
// milliseconds on both engines.
import * as fs from "node:fs";
import * as path from "node:path";
import { MikroORM, type MigrationObject, type Options } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/sql";
import { Migrator } from "@mikro-orm/migrations";
import { CompiledQuery } from "kysely";
import type { Pool } from "pg";
import { WorkQueue } from "../util/work-queue";
import { assert } from "../util/assert";
import type { DatabaseConfig } from "../config";
import { limits } from "../limits";
import type { Metrics } from "../metrics";
import type { Dialect, SqlEngine } from "./engine";
import { entities } from "./entities";
import { migrationsFor } from "./migrations";
import { postgresEngine } from "./postgres-engine";
import { sqliteEngine } from "./sqlite-engine";
import { HostFollower, probeAll, type FollowerLog } from "./primary";
import { CallAbortedError, DatabaseUnavailableError, ReadOnlyViolationError, TransactionConflictError, classifyDbError, type DbErrorKind } from "./errors";

export type { Dialect, SqlEngine } from "./engine";
export type Row = Record<string, unknown>;

export interface TransactionOptions {
  /** Set false for work that must not be repeated. */
  retry?: boolean;
  /**
   * The call's abort signal (its deadline, or the client going away). Work is not started once
   * it has fired, and a unit of work whose signal fires before COMMIT rolls back.
   */
  signal?: AbortSignal;
}

/** A unit of work: a forked EntityManager, inside a transaction or (reads) not. */
export class Tx {
  constructor(
    /** The unit of work's EntityManager: entities are read and persisted through it. */
    readonly em: EntityManager,
    readonly engine: SqlEngine,
    private readonly hooks: (() => void)[],
    readonly inTransaction: boolean,
    /** A unit of work on the read replica: run() is refused (tx.all must be a SELECT; the
     * standby refuses anything else itself). */
    private readonly readOnly = false,
  ) {}

  get dialect(): Dialect {
    return this.engine.dialect;
  }

  /** Runs a statement that returns rows (a SELECT, or a write with RETURNING). */
  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.execute(sql, params, "all")) as T[];
  }

  async one<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  /** Runs an INSERT, UPDATE or DELETE without RETURNING; returns the number of rows it changed. */
  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    if (this.readOnly) throw new ReadOnlyViolationError("a write statement");
    const result = (await this.execute(sql, params, "run")) as { affectedRows?: number };
    return result.affectedRows ?? 0;
  }

  /** Called after a successful commit (never on rollback). */
  afterCommit(fn: () => void): void {
    if (!this.inTransaction) throw new Error("afterCommit outside a transaction");
    this.hooks.push(fn);
  }

  /**
   * Bound SQL through the unit of work's own connection: em.getKysely() is MikroORM's query
   * runner bound to the unit of work's transaction (outside one, to the pool). The parameters
   * travel as bind parameters, never spliced into the text (MikroORM's em.execute formats them
   * into the SQL: the posting engine's JSON row sets, hundreds of kilobytes for a full batch, were
   * escaped into every statement, which the benchmark's profile showed as most of the server's
   * time).
   */
  private async execute(sql: string, params: readonly unknown[], method: "all" | "run"): Promise<unknown> {
    const bound = params.map((p) => this.engine.bindable(p));
    const result = await this.em.getKysely().executeQuery(CompiledQuery.raw(this.engine.placeholders(sql), bound));
    return method === "all" ? result.rows : { affectedRows: Number(result.numAffectedRows ?? 0n) };
  }
}

export class Database {
  /** Units of work running now. */
  private active = 0;
  /** Transaction bodies running now (SQLite: at most one, its connection is taken in turns). */
  private inTransaction = 0;
  /** close() was called: nothing may reconnect behind it (MikroORM 7 would reconnect on use). */
  private closed = false;

  private constructor(
    readonly orm: MikroORM,
    readonly engine: SqlEngine,
    /** How this database was opened (the change feed opens its own connection from it). */
    readonly config: DatabaseConfig,
    private readonly metrics?: Metrics,
    /** The read replica (BANK_DATABASE_REPLICA_URL): read() only. */
    readonly readOnly = false,
    /** SQLite: the one connection, taken in turns (reads too); a unit of work that waits longer
     * than limits.dbConnectTimeoutMs for it fails UNAVAILABLE. */
    private readonly turns?: WorkQueue,
    /** PostgreSQL: MikroORM's pg Pool (for the pool gauge). */
    private readonly pool?: { current?: Pool },
    /** A multi-host URL: which host the pool uses now (src/db/primary.ts). */
    private readonly follower?: HostFollower,
  ) {}

  /** False while a multi-host URL has no host that fits (a failover in progress); always true
   * otherwise (a single host's outages show as failed units of work, not here). */
  get hostAvailable(): boolean {
    return this.follower === undefined || this.follower.current !== undefined;
  }

  /** Called with hostAvailable whenever it may have changed (a multi-host URL only). */
  onHostChange(listener: (available: boolean) => void): () => void {
    return this.follower ? this.follower.onChange((target) => listener(target !== undefined)) : () => undefined;
  }

  /**
   * Where a session of its own (the change feed's LISTEN) connects now: BANK_DATABASE_DIRECT_URL
   * when set (its writable host, probed now, if it names several), else the host the pool uses.
   * Throws (unavailable) when no host fits.
   */
  async sessionUrl(): Promise<string> {
    if (this.config.kind !== "postgres") throw new Error("a session URL is for PostgreSQL");
    const { directUrl, directMultiHost } = this.config;
    if (directMultiHost) {
      const { chosen } = await probeAll(directMultiHost, "primary");
      if (!chosen) throw Object.assign(new Error("no host of BANK_DATABASE_DIRECT_URL accepts writes"), { code: "08001" });
      return directMultiHost.urlFor(chosen.host);
    }
    if (directUrl !== undefined) return directUrl;
    if (!this.follower) return this.config.url;
    await this.follower.waitForTarget(limits.dbPrimaryWaitMs);
    const url = this.follower.currentUrl();
    if (url === undefined) throw Object.assign(new Error("no database host accepts writes"), { code: "08001" });
    return url;
  }

  get dialect(): Dialect {
    return this.engine.dialect;
  }

  /**
   * Opens the database and checks that it answers. With `readOnly` (the read replica), only
   * read() works and the check is skipped: a replica that is down at start is the replica
   * router's to handle (its reads go to the primary), not a reason to refuse to serve.
   */
  static async open(config: DatabaseConfig, metrics?: Metrics, opts: {
    debug?: boolean;
    readOnly?: boolean;
    onDriverWarning?: (message: string) => void;
    log?: FollowerLog;
    /** The migrations migrate() applies: the shipped folders (src/db/migrations/) unless given
     * (tests: a database made by an earlier release's list). */
    migrations?: MigrationObject[];
  } = {}): Promise<Database> {
    const engine = config.kind === "sqlite" ? sqliteEngine : postgresEngine;
    // A multi-host URL: the host to use is found before anything connects (for the primary, none
    // writable refuses the start with a sentence naming every host's answer).
    const follower = config.kind === "postgres" && config.multiHost
      ? await HostFollower.start(config.multiHost, { name: opts.readOnly ? "BANK_DATABASE_REPLICA_URL" : "BANK_DATABASE_URL", log: opts.log, metrics: opts.readOnly ? undefined : metrics })
      : undefined;
    // The SQLite file's directory (BANK_DATA_DIR by default) is made if missing, as the data
    // directory of a fresh install is.
    if (config.kind === "sqlite" && config.file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(config.file)), { recursive: true });
    const pool: { current?: Pool } = {};
    const engineOptions = engine.ormOptions(config, {
      onPool: (p) => (pool.current = p),
      onConnectionError: (err) => {
        metrics?.dbConnectionErrors.inc();
        opts.onDriverWarning?.(`PostgreSQL connection error: ${err.message}`);
      },
      onRollbackFailed: (err) => opts.onDriverWarning?.(`ROLLBACK failed, its connection released: ${(err as Error)?.message ?? String(err)}`),
      onRoundTrip: metrics ? () => metrics.dbRoundTrips.inc() : undefined,
      follower,
    });
    const orm = await MikroORM.init({
      entities,
      extensions: [Migrator],
      discovery: { warnWhenNoEntities: false },
      debug: opts.debug ?? false,
      allowGlobalContext: false,
      ensureDatabase: false,
      migrations: {
        migrationsList: opts.migrations ?? migrationsFor(config.kind),
        transactional: true,
        // SQLite has one connection: a master transaction around all migrations would hold it
        // while a non-transactional migration waits for it.
        allOrNothing: config.kind === "postgres",
        tableName: "schema_migrations",
        snapshot: false,
        silent: true,
      },
      ...engineOptions,
    } as Options).catch(async (err: unknown) => {
      await follower?.stop();
      throw err;
    });
    const turns = config.kind === "sqlite"
      ? new WorkQueue({
        concurrencyMax: 1,
        queueMax: limits.dbTurnWaitersMax,
        waitMsMax: limits.dbConnectTimeoutMs,
        busy: () => new DatabaseUnavailableError(new Error("no turn on the SQLite connection in time")),
      })
      : undefined;
    const db = new Database(orm, engine, config, metrics, opts.readOnly ?? false, turns, pool, follower);
    if (db.readOnly) return db;
    try {
      // Fails fast when the database cannot be reached.
      await db.read((tx) => tx.one("SELECT 1 AS ok"));
    } catch (err) {
      await orm.close(true).catch(() => undefined);
      throw err;
    }
    return db;
  }

  async migrate(): Promise<string[]> {
    if (this.readOnly) throw new ReadOnlyViolationError("a migration");
    // SQLite: another process may be migrating the same file at start; waiting for its write lock
    // may block this process's event loop here (nothing else runs yet), unlike during serving.
    if (this.dialect === "sqlite") await this.sqliteBusyTimeout(limits.sqliteBusyTimeoutMs);
    try {
      const applied = await this.orm.migrator.up();
      return applied.map((m) => m.name);
    } finally {
      if (this.dialect === "sqlite") await this.sqliteBusyTimeout(0);
    }
  }

  /** SQLite's own wait for a lock another process holds. It blocks the event loop (better-sqlite3
   * is synchronous), so it is 0 while serving: Database.transaction retries a busy write lock
   * asynchronously instead (within limits.sqliteBusyTimeoutMs). */
  private async sqliteBusyTimeout(ms: number): Promise<void> {
    await this.inTurn(() => (this.orm.em.fork() as EntityManager).getKysely().executeQuery(CompiledQuery.raw(`PRAGMA busy_timeout = ${ms}`)));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.orm.close(true);
  }

  /**
   * Runs `fn` as one unit of work: a fresh fork of the EntityManager in em.transactional (its
   * persisted entities are flushed before COMMIT). Deadlocks and serialization failures are
   * retried with a new fork (MikroORM: after an exception, start over). With a signal, work is
   * not started once it has fired, and rolls back if it fires before COMMIT.
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    if (this.readOnly) throw new ReadOnlyViolationError("a transaction");
    const attempts = opts.retry === false ? 1 : limits.txRetriesMax + 1;
    // SQLite: a write lock held by another process is waited for here, asynchronously, for as
    // long as SQLite's busy_timeout would have blocked the event loop.
    const busyUntil = Date.now() + limits.sqliteBusyTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      this.throwIfClosed();
      throwIfAborted(opts.signal);
      const started = process.hrtime.bigint();
      const hooks: (() => void)[] = [];
      let result: T;
      this.active++;
      try {
        result = await this.inTurn(() => this.orm.em.fork().transactional(async (em) => {
          this.inTransaction++;
          // SQLite's one connection is taken in turns: a second transaction body running now
          // would share the first one's transaction.
          assert(this.dialect !== "sqlite" || this.inTransaction === 1, "SQLite runs one transaction at a time");
          try {
            const tx = new Tx(em as EntityManager, this.engine, hooks, true);
            const value = await fn(tx);
            await em.flush();
            // The last moment to change our mind: after this, COMMIT is sent.
            throwIfAborted(opts.signal);
            return value;
          } finally {
            this.inTransaction--;
            assert(this.inTransaction >= 0, "transaction bodies end as often as they start");
          }
        }));
      } catch (err) {
        this.observe(started, "rollback");
        const kind = this.classify(err);
        const sqliteBusy = this.dialect === "sqlite" && kind === "conflict" && opts.retry !== false && Date.now() < busyUntil;
        if (kind === "conflict" && (attempt < attempts || sqliteBusy)) {
          this.metrics?.dbTxRetries.inc();
          await sleep(sqliteBusy ? Math.min(50, 2 ** attempt) * (0.5 + Math.random()) : Math.random() * 5 * attempt);
          continue;
        }
        if (kind === "conflict") throw new TransactionConflictError(err);
        if (kind === "unavailable") throw new DatabaseUnavailableError(err);
        throw err;
      } finally {
        this.active--;
        assert(this.active >= 0, "units of work end as often as they start");
      }
      // Committed: nothing after this point may turn the outcome into a failure (or a retry).
      this.observe(started, "commit");
      for (const hook of hooks) {
        try {
          hook();
        } catch (err) {
          process.emitWarning(err as Error);
        }
      }
      return result;
    }
  }

  /** Read-only work on a fork of its own, outside an explicit transaction. */
  async read<T>(fn: (tx: Tx) => Promise<T>, opts: { signal?: AbortSignal } = {}): Promise<T> {
    this.throwIfClosed();
    throwIfAborted(opts.signal);
    this.active++;
    try {
      return await this.inTurn(() => fn(new Tx(this.orm.em.fork() as EntityManager, this.engine, [], false, this.readOnly)));
    } catch (err) {
      if (this.classify(err) === "unavailable") throw new DatabaseUnavailableError(err);
      throw err;
    } finally {
      this.active--;
    }
  }

  /** Connections in use, free, and units of work waiting for one: SQLite's one connection from
   * the turn queue, PostgreSQL's from the pg Pool's own counters. */
  poolStats(): { used: number; free: number; pending: number } {
    if (this.turns) {
      const used = this.turns.runningCount;
      return { used, free: 1 - used, pending: this.turns.waitingCount };
    }
    const pool = this.pool?.current;
    if (!pool) return { used: 0, free: limits.dbPoolMax, pending: 0 };
    const used = pool.totalCount - pool.idleCount;
    return { used, free: limits.dbPoolMax - used, pending: pool.waitingCount };
  }

  /** classifyDbError, except that on the read replica a write refused as read-only (25006) is
   * the caller's error (ReplicaRouter reports it as one), not the primary having moved. */
  private classify(err: unknown): DbErrorKind {
    const kind = classifyDbError(err);
    return kind === "unavailable" && this.readOnly && sqlstate(err) === "25006" ? "other" : kind;
  }

  private throwIfClosed(): void {
    if (this.closed) throw new DatabaseUnavailableError(new Error("the database is closed"));
  }

  /** Runs `work` on SQLite's one connection once it is this unit of work's turn; on PostgreSQL at
   * once (the pool hands out connections). */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    return this.turns ? this.turns.run(work) : work();
  }

  private observe(started: bigint, outcome: "commit" | "rollback"): void {
    this.metrics?.dbTxSeconds.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CallAbortedError(signal.reason);
}

function sqlstate(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && typeof e === "object" && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
