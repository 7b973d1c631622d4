// SQLite: the embedded default. One connection per process (on better-sqlite3 through bankd's
// kysely dialect, sqlite-dialect.ts), taken in turns by units of work and reads alike (Database's turn
// queue): SQLite has a single writer, and a read slipped into another unit of work's open
// transaction on the same connection would see its uncommitted rows. A unit of work that finds
// the write lock held by another process on the same file retries (Database.transaction) for up
// to limits.sqliteBusyTimeoutMs.
import { SqliteDriver } from "@mikro-orm/sqlite";
import type { Options } from "@mikro-orm/core";
import type { DatabaseConfig } from "../config";
import type { JsonColumn, SqlEngine } from "./engine";
import { BankdSqliteDialect } from "./sqlite-dialect";

/** Every connection to the file: WAL with synchronous=FULL (an acknowledged commit survives
 * power loss), no busy wait (better-sqlite3 is synchronous: SQLite's own wait for another
 * process's lock would block the event loop; Database retries a busy write lock asynchronously
 * instead, and waits synchronously only while migrating at start), and foreign keys. One
 * statement each (the driver prepares one statement at a time). */
export const SQLITE_PRAGMAS: readonly string[] = [
  "PRAGMA journal_mode = WAL",
  "PRAGMA synchronous = FULL",
  "PRAGMA busy_timeout = 0",
  "PRAGMA foreign_keys = ON",
];

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
  notifyStatusSql: undefined,
  placeholders: (sql) => sql,
  // better-sqlite3 binds a BigInt exactly, but bankd binds money as decimal text on both engines
  // (the columns' INTEGER affinity stores it as an integer); it refuses booleans.
  bindable: (value: unknown) =>
    typeof value === "bigint" ? value.toString() : typeof value === "boolean" ? (value ? 1 : 0) : value === undefined ? null : value,
  ormOptions(config: DatabaseConfig): Partial<Options> {
    if (config.kind !== "sqlite") throw new Error("sqlite engine given a non-SQLite configuration");
    return {
      driver: SqliteDriver,
      dbName: config.file,
      // MikroORM runs on bankd's dialect (statements prepared once, sqlite-dialect.ts).
      driverOptions: new BankdSqliteDialect({ file: config.file, pragmas: SQLITE_PRAGMAS }),
    } as Partial<Options>;
  },
};
