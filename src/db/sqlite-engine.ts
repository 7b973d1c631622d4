// SQLite: the embedded default. One connection per process (MikroORM's, through knex's pool of
// one), taken in turns by units of work and reads alike: SQLite has a single writer, and a read
// slipped into another unit of work's open transaction on the same connection would see its
// uncommitted rows. Other processes on the same file wait up to busy_timeout for the write lock.
import { SqliteDriver } from "@mikro-orm/sqlite";
import type { Options } from "@mikro-orm/core";
import type { DatabaseConfig } from "../config";
import { limits } from "../limits";
import type { JsonColumn, SqlEngine } from "./engine";

/** Every connection to the file: WAL with synchronous=FULL (an acknowledged commit survives
 * power loss), the busy timeout, and foreign keys. */
export const SQLITE_PRAGMAS = `PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = ${limits.sqliteBusyTimeoutMs}; PRAGMA foreign_keys = ON;`;

interface RawSqliteConnection {
  exec(sql: string, cb: (err: Error | null) => void): void;
}

export const sqliteEngine: SqlEngine = {
  dialect: "sqlite",
  lockRows: "",
  jsonRows(alias: string, columns: readonly JsonColumn[]): string {
    const select = columns
      .map((c) => `CAST(json_extract(j.value, '$.${c.name}') AS ${c.type === "bigint" ? "INTEGER" : "TEXT"}) AS ${c.name}`)
      .join(", ");
    return `(SELECT ${select} FROM json_each(?) AS j) AS ${alias}`;
  },
  tryTransactionLockSql: () => undefined,
  notifyEntriesSql: undefined,
  // sqlite3 through MikroORM's knex dialect answers rows for a query (and for a write with
  // RETURNING), and the statement's { changes } for a write without.
  rowsOf: (result) => (Array.isArray(result) ? (result as Record<string, unknown>[]) : []),
  affectedRowsOf: (result) => (Array.isArray(result) ? result.length : Number((result as { changes?: number } | undefined)?.changes ?? 0)),
  bindable: (value: unknown) => (typeof value === "bigint" ? value.toString() : value === undefined ? null : value),
  ormOptions(config: DatabaseConfig): Partial<Options> {
    if (config.kind !== "sqlite") throw new Error("sqlite engine given a non-SQLite configuration");
    return {
      driver: SqliteDriver,
      dbName: config.file,
      pool: {
        min: 1,
        max: 1,
        // The one connection lives as long as the process.
        idleTimeoutMillis: 2 ** 31 - 1,
        // A unit of work waiting longer than this for the connection fails UNAVAILABLE, as a
        // PostgreSQL caller waiting for a pooled connection does, instead of queueing forever.
        acquireTimeoutMillis: limits.dbConnectTimeoutMs,
        afterCreate: (conn: RawSqliteConnection, done: (err: Error | null, conn: unknown) => void) => {
          conn.exec(SQLITE_PRAGMAS, (err) => done(err, conn));
        },
      },
    } as Partial<Options>;
  },
};
