// The database: SQLite (embedded default) or PostgreSQL, and the one place that knows how each
// engine spells what differs. MikroORM holds the schema (entities, migrations); units of work run
// on the drivers directly (postgres.ts: a pg pool with prepared statements and pipelined round
// trips; sqlite.ts: one sqlite3 connection, one unit of work at a time), which the benchmark
// measured at a fraction of MikroORM's per-call CPU (docs/performance.md).
//
// Money columns are BIGINT. The sqlite3 driver returns integers as JS numbers, which lose
// precision past 2^53, so money is always read through `money(column)` (a text cast on SQLite)
// and parsed with BigInt(). Times are BIGINT epoch milliseconds on both engines.
import { MikroORM, type Options } from "@mikro-orm/core";
import { SqliteDriver } from "@mikro-orm/sqlite";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import { Migrator } from "@mikro-orm/migrations";
import type { PoolClient, QueryResult } from "pg";
import type { DatabaseConfig } from "../config";
import { limits } from "../limits";
import { entities } from "./entities";
import { migrationsFor } from "./migrations";
import type { Metrics } from "../metrics";
import { PgPool, type PipelineError } from "./postgres";
import { SQLITE_PRAGMAS, SqliteConnection } from "./sqlite";

export type Dialect = "sqlite" | "postgres";
export type Row = Record<string, unknown>;

/** A unit of work inside one database transaction. */
export interface Tx {
  readonly dialect: Dialect;
  all<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  one<T = Row>(sql: string, params?: unknown[]): Promise<T | undefined>;
  /** Runs a write and returns the number of rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /**
   * A write whose result nobody needs (an audit event, an idempotency key): it runs, in order,
   * before the next statement of this transaction or before COMMIT. On PostgreSQL it travels in
   * the same round trip as that statement (or as COMMIT), so a failure of it (a unique key
   * taken) surfaces there, and the transaction rolls back. Only inside a transaction.
   */
  defer(sql: string, params?: unknown[]): void;
  /**
   * Runs statements one after the other and returns each one's rows; on PostgreSQL in ONE round
   * trip. When one fails, the error carries the rows of those that completed before it
   * (`BatchError.completedRows`), so that the caller can explain the failure from them.
   */
  batch(statements: readonly { sql: string; params: unknown[] }[]): Promise<Row[][]>;
  /** Called after a successful commit (never on rollback). */
  afterCommit(fn: () => void): void;
}

/** An error of Tx.batch: the rows of the statements that completed before the failing one. */
export interface BatchError extends Error {
  completedRows?: Row[][];
}

export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super("database unavailable", { cause });
    this.name = "DatabaseUnavailableError";
  }
}

export class TransactionConflictError extends Error {
  constructor(cause: unknown) {
    super("transaction conflict persisted after retries", { cause });
    this.name = "TransactionConflictError";
  }
}

export interface TransactionOptions {
  /** Set false for work that must not be repeated (none today). */
  retry?: boolean;
}

export class Database {
  private constructor(
    readonly orm: MikroORM,
    readonly dialect: Dialect,
    private readonly metrics?: Metrics,
    /** PostgreSQL: the pool every unit of work runs on (MikroORM's own pool only migrates). */
    private readonly pg?: PgPool,
    /** SQLite: the connection every unit of work runs on (MikroORM's own only migrates). */
    private readonly sqlite?: SqliteConnection,
  ) {}

  static async open(config: DatabaseConfig, metrics?: Metrics, opts: { debug?: boolean } = {}): Promise<Database> {
    const common: Partial<Options> = {
      entities,
      extensions: [Migrator],
      discovery: { warnWhenNoEntities: false },
      debug: opts.debug ?? false,
      allowGlobalContext: false,
      ensureDatabase: false,
      migrations: {
        migrationsList: migrationsFor(config.kind),
        transactional: true,
        allOrNothing: true,
        tableName: "schema_migrations",
        snapshot: false,
        silent: true,
      },
    };
    let orm: MikroORM;
    if (config.kind === "sqlite") {
      orm = await MikroORM.init({
        ...common,
        driver: SqliteDriver,
        dbName: config.file,
        // Migrations only: units of work run on the SqliteConnection opened below.
        pool: {
          min: 1,
          max: 1,
          idleTimeoutMillis: 2 ** 31 - 1,
          afterCreate: (conn: { exec(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) => {
            // WAL with synchronous=FULL: an acknowledged commit survives power loss.
            conn.exec(SQLITE_PRAGMAS, (err) => done(err, conn));
          },
        },
      } as Options);
    } else {
      orm = await MikroORM.init({
        ...common,
        driver: PostgreSqlDriver,
        clientUrl: config.url,
        // Used for migrations only; units of work run on the PgPool below.
        pool: { min: 0, max: 1, acquireTimeoutMillis: limits.dbConnectTimeoutMs },
        driverOptions: {
          // A failed statement's error message names the statement, not its values.
          compileSqlOnError: false,
          connection: {
            statement_timeout: limits.statementTimeoutMs,
            connectionTimeoutMillis: limits.dbConnectTimeoutMs,
            application_name: "bankd",
          },
        },
      } as Options);
    }
    const pg = config.kind === "postgres"
      ? new PgPool({ url: config.url, onConnectionError: () => metrics?.dbConnectionErrors.inc() })
      : undefined;
    let sqlite: SqliteConnection | undefined;
    if (config.kind === "sqlite") {
      try {
        sqlite = await SqliteConnection.open(config.file);
      } catch (err) {
        await orm.close(true).catch(() => undefined);
        throw err;
      }
    }
    const db = new Database(orm, config.kind, metrics, pg, sqlite);
    try {
      // Fails fast when the database cannot be reached.
      await db.read((tx) => tx.one("SELECT 1 AS ok"));
    } catch (err) {
      await pg?.end().catch(() => undefined);
      await sqlite?.close().catch(() => undefined);
      await orm.close(true).catch(() => undefined);
      throw err;
    }
    return db;
  }

  async migrate(): Promise<string[]> {
    const migrator = this.orm.getMigrator();
    const applied = await migrator.up();
    return applied.map((m) => m.name);
  }

  async close(): Promise<void> {
    await this.pg?.end();
    await this.sqlite?.close();
    await this.orm.close(true);
  }

  /** SQL that reads a BIGINT money column as text, so no precision is lost on SQLite. */
  money(column: string, alias = column.replace(/^.*\./, "")): string {
    return this.dialect === "sqlite" ? `CAST(${column} AS TEXT) AS ${alias}` : `${column}::text AS ${alias}`;
  }

  /** `FOR UPDATE` on PostgreSQL; nothing on SQLite, whose single writer serializes instead. */
  get forUpdate(): string {
    return this.dialect === "postgres" ? " FOR UPDATE" : "";
  }

  /** Runs `fn` in one database transaction, retrying deadlocks and serialization failures. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    const attempts = opts.retry === false ? 1 : limits.txRetriesMax + 1;
    for (let attempt = 1; ; attempt++) {
      const started = process.hrtime.bigint();
      const hooks: (() => void)[] = [];
      let result: T;
      try {
        result = this.pg ? await this.pgTransaction(this.pg, fn, hooks) : await this.sqliteTransaction(this.sqlite!, fn, hooks);
      } catch (err) {
        this.observe(started, "rollback");
        const kind = classifyDbError(err);
        if (kind === "conflict" && attempt < attempts) {
          this.metrics?.dbTxRetries.inc();
          await sleep(Math.random() * 5 * attempt);
          continue;
        }
        if (kind === "conflict") throw new TransactionConflictError(err);
        if (kind === "unavailable") throw new DatabaseUnavailableError(err);
        throw err;
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

  /**
   * PostgreSQL: the work on one pooled connection. BEGIN is sent with the first statement and
   * COMMIT with the deferred writes, each in the same round trip (PgPool.pipeline); a unit of
   * work that ran no statement sends neither. A broken connection is discarded.
   */
  private async pgTransaction<T>(pg: PgPool, fn: (tx: Tx) => Promise<T>, hooks: (() => void)[]): Promise<T> {
    const client = await pg.connect();
    const tx = new PgTx(pg, client, hooks);
    let discard: Error | undefined;
    try {
      const result = await fn(tx);
      await tx.commit();
      return result;
    } catch (err) {
      if (classifyDbError(err) === "unavailable" || tx.connectionUncertain) discard = err as Error;
      else if (tx.begun) await client.query("ROLLBACK").catch((rollbackErr: Error) => (discard = rollbackErr));
      throw err;
    } finally {
      client.release(discard);
    }
  }

  /** SQLite: BEGIN, the work, its deferred writes, COMMIT, with the connection to itself. */
  private sqliteTransaction<T>(sqlite: SqliteConnection, fn: (tx: Tx) => Promise<T>, hooks: (() => void)[]): Promise<T> {
    return sqlite.exclusive(async () => {
      await sqlite.exec("BEGIN");
      const tx = new SqliteTx(sqlite, hooks, true);
      try {
        const result = await fn(tx);
        await tx.flush();
        await sqlite.exec("COMMIT");
        return result;
      } catch (err) {
        await sqlite.exec("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  /** Read-only work outside an explicit transaction. */
  async read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      if (this.pg) return await fn(new PgTx(this.pg, undefined, []));
      const sqlite = this.sqlite!;
      return await sqlite.exclusive(() => fn(new SqliteTx(sqlite, [], false)));
    } catch (err) {
      if (classifyDbError(err) === "unavailable") throw new DatabaseUnavailableError(err);
      throw err;
    }
  }

  poolStats(): { used: number; free: number; pending: number } {
    return this.pg ? this.pg.stats() : this.sqlite!.stats();
  }

  private observe(started: bigint, outcome: "commit" | "rollback"): void {
    this.metrics?.dbTxSeconds.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/**
 * A Tx on PostgreSQL: statements on `client` inside a transaction, or on any pooled connection
 * when `client` is undefined (reads). In a transaction, BEGIN and the deferred writes travel with
 * the next statement, and the last deferred writes with COMMIT.
 */
class PgTx implements Tx {
  readonly dialect = "postgres" as const;
  /** BEGIN has been sent (so ROLLBACK is needed on failure). */
  begun = false;
  /** A failed pipeline prepared a statement: discard the connection rather than trust it. */
  connectionUncertain = false;
  private deferred: { sql: string; params: unknown[] }[] = [];

  constructor(
    private readonly pg: PgPool,
    private readonly client: PoolClient | undefined,
    private readonly hooks: (() => void)[],
  ) {}

  async all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.execute(sql, params)).rows as T[];
  }

  async one<T>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.execute(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.execute(sql, params)).rowCount ?? 0;
  }

  defer(sql: string, params: unknown[] = []): void {
    if (!this.client) throw new Error("tx.defer outside a transaction");
    this.deferred.push({ sql, params });
  }

  async batch(statements: readonly { sql: string; params: unknown[] }[]): Promise<Row[][]> {
    if (!this.client) throw new Error("tx.batch outside a transaction");
    return (await this.pipeline(statements)).map((r) => r.rows as Row[]);
  }

  afterCommit(fn: () => void): void {
    this.hooks.push(fn);
  }

  async commit(): Promise<void> {
    if (!this.client || (!this.begun && this.deferred.length === 0)) return;
    await this.pipeline([{ sql: "COMMIT", params: [] }]);
  }

  private async execute(sql: string, params: unknown[]): Promise<QueryResult> {
    if (!this.client) return this.pg.query(undefined, sql, params);
    return (await this.pipeline([{ sql, params }]))[0]!;
  }

  /** [BEGIN,] the deferred writes, then `mine`, in one round trip; returns `mine`'s results. */
  private async pipeline(mine: readonly { sql: string; params: unknown[] }[]): Promise<QueryResult[]> {
    const before = [...(this.begun ? [] : [{ sql: "BEGIN", params: [] }]), ...this.deferred];
    this.begun = true;
    this.deferred = [];
    try {
      return (await this.pg.pipeline(this.client!, [...before, ...mine])).slice(before.length);
    } catch (err) {
      // Whatever the caller makes of this error (it may throw a DomainError explaining it), the
      // connection's prepared statements are then unknown: discard it at release.
      if ((err as PipelineError).connectionUncertain) this.connectionUncertain = true;
      const completed = (err as PipelineError).completedResults;
      if (completed && completed.length > before.length) {
        (err as BatchError).completedRows = completed.slice(before.length).map((r) => r.rows as Row[]);
      }
      throw err;
    }
  }
}

/** A Tx on SQLite: the connection is this unit of work's (SqliteConnection.exclusive). */
class SqliteTx implements Tx {
  readonly dialect = "sqlite" as const;
  private deferred: { sql: string; params: unknown[] }[] = [];

  constructor(
    private readonly sqlite: SqliteConnection,
    private readonly hooks: (() => void)[],
    private readonly inTransaction: boolean,
  ) {}

  async all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    await this.flush();
    return (await this.sqlite.all(sql, params)) as T[];
  }

  async one<T>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    await this.flush();
    return this.sqlite.run(sql, params);
  }

  defer(sql: string, params: unknown[] = []): void {
    if (!this.inTransaction) throw new Error("tx.defer outside a transaction");
    this.deferred.push({ sql, params });
  }

  async batch(statements: readonly { sql: string; params: unknown[] }[]): Promise<Row[][]> {
    if (!this.inTransaction) throw new Error("tx.batch outside a transaction");
    const rows: Row[][] = [];
    try {
      for (const { sql, params } of statements) rows.push(await this.all<Row>(sql, params));
    } catch (err) {
      if (rows.length > 0 && err !== null && typeof err === "object") (err as BatchError).completedRows = rows;
      throw err;
    }
    return rows;
  }

  afterCommit(fn: () => void): void {
    this.hooks.push(fn);
  }

  /** Runs the deferred writes, in order. */
  async flush(): Promise<void> {
    while (this.deferred.length > 0) {
      const { sql, params } = this.deferred.shift()!;
      await this.sqlite.run(sql, params);
    }
  }
}

export type DbErrorKind = "conflict" | "unavailable" | "unique" | "other";

/** Sorts a driver error into what the caller can do about it. */
export function classifyDbError(err: unknown): DbErrorKind {
  if (err instanceof DatabaseUnavailableError) return "unavailable";
  const e = err as { code?: string; errno?: number; message?: string; name?: string; cause?: unknown } | undefined;
  if (!e || typeof e !== "object") return "other";
  const code = String(e.code ?? "");
  // PostgreSQL SQLSTATEs: 40001 serialization_failure, 40P01 deadlock_detected.
  if (code === "40001" || code === "40P01") return "conflict";
  // SQLite: another process holds the write lock past busy_timeout, or a stale snapshot.
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED" || /SQLITE_BUSY/.test(e.message ?? "")) return "conflict";
  if (code === "23505" || code === "SQLITE_CONSTRAINT" && /UNIQUE/.test(e.message ?? "")) return "unique";
  // Connection-level failures: refused, reset, terminated, admin shutdown, too many clients,
  // pool acquisition time-outs.
  // 57014: statement_timeout (a stalled database); 55P03: a lock not available in time. Nothing
  // of the statement committed, so the caller may retry with the same request_id.
  if (["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN",
    "57P01", "57P02", "57P03", "57014", "55P03", "53300", "08000", "08003", "08006", "08001", "08004"].includes(code)) return "unavailable";
  const message = e.message ?? "";
  // After a database restart knex may hand out a transaction whose BEGIN already failed on a
  // dead pooled connection; its first statement then reports this. Nothing ran.
  if (/Transaction query already complete/.test(message)) return "unavailable";
  if (/Connection terminated|terminating connection|timeout exceeded when trying to connect|Client was closed and is not queryable|Knex: Timeout acquiring a connection|connect ECONNREFUSED|Client has encountered a connection error|Connection ended unexpectedly|SQLITE_CANTOPEN|SQLITE_IOERR|SQLITE_FULL/.test(message)) {
    return "unavailable";
  }
  if (e.name === "KnexTimeoutError" || e.name === "ConnectionException" || e.name === "SqliteQueueTimeoutError") return "unavailable";
  if (e.cause && e.cause !== err) return classifyDbError(e.cause);
  return "other";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
