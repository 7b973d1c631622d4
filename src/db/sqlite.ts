// SQLite at run time: one sqlite3 connection per process, used by one unit of work at a time.
//
// SQLite has a single writer, and one connection serializes this process's transactions without
// SQLITE_BUSY between them (other processes on the same file wait up to busy_timeout). Reads
// take their turn too: on a single connection a read slipped into another unit of work's open
// transaction would see its uncommitted rows. MikroORM keeps its own connection for migrations;
// units of work go straight to the driver, which the benchmark measured at a third of the CPU
// of MikroORM's fork + transactional + execute per transfer.
import * as sqlite3 from "sqlite3";
import { limits } from "../limits";

export type SqliteRow = Record<string, unknown>;

/** A unit of work waited too long for the connection (see SqliteConnection.exclusive). */
export class SqliteQueueTimeoutError extends Error {
  constructor(waitedMs: number) {
    super(`waited ${waitedMs} ms for the SQLite connection`);
    this.name = "SqliteQueueTimeoutError";
  }
}

/** The PRAGMAs every connection to the file gets: WAL with synchronous=FULL (an acknowledged
 * commit survives power loss), the busy timeout, and foreign keys. */
export const SQLITE_PRAGMAS = `PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = ${limits.sqliteBusyTimeoutMs}; PRAGMA foreign_keys = ON;`;

export class SqliteConnection {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  private busy = false;

  private constructor(private readonly db: sqlite3.Database) {}

  static async open(file: string): Promise<SqliteConnection> {
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const handle: sqlite3.Database = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(handle)));
    });
    const connection = new SqliteConnection(db);
    try {
      await connection.exec(SQLITE_PRAGMAS);
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
    return connection;
  }

  /**
   * Runs `fn` with the connection to itself: units of work take turns, in arrival order. A unit
   * of work that waits longer than limits.dbConnectTimeoutMs for its turn fails with
   * SqliteQueueTimeoutError (UNAVAILABLE to the caller), as a PostgreSQL caller waiting for a
   * pooled connection does, instead of queueing without bound.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise((resolve) => (release = resolve));
    this.waiting++;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      previous.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limits.dbConnectTimeoutMs))),
    ]);
    clearTimeout(timer);
    this.waiting--;
    if (timedOut) {
      // Give up this turn without holding up the ones queued behind it.
      void previous.then(release);
      throw new SqliteQueueTimeoutError(limits.dbConnectTimeoutMs);
    }
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
      release();
    }
  }

  all(sql: string, params: unknown[]): Promise<SqliteRow[]> {
    return new Promise((resolve, reject) => {
      this.db.all(sql, bindable(params), (err: Error | null, rows: SqliteRow[]) => (err ? reject(err) : resolve(rows)));
    });
  }

  /** Runs a write; resolves with the number of rows it changed. */
  run(sql: string, params: unknown[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.db.run(sql, bindable(params), function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve(this.changes);
      });
    });
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  stats(): { used: number; free: number; pending: number } {
    return { used: this.busy ? 1 : 0, free: this.busy ? 0 : 1, pending: this.waiting };
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }
}

/** sqlite3 binds a BigInt as NULL (silently): money travels as its decimal text instead, which
 * SQLite stores as an integer in the INTEGER-affinity BIGINT columns. */
function bindable(params: unknown[]): unknown[] {
  return params.map((p) => (typeof p === "bigint" ? p.toString() : p === undefined ? null : p));
}
