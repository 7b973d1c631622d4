// What differs between SQLite and PostgreSQL, behind one interface with one implementation per
// engine (sqlite-engine.ts, postgres-engine.ts). Domain code never branches on the engine: it asks
// the engine how to spell the few things that differ.
import type { Options } from "@mikro-orm/core";
import type { DatabaseConfig } from "../config";

export type Dialect = "sqlite" | "postgres";

/** A column of a JSON row set (see SqlEngine.jsonRows). */
export interface JsonColumn {
  name: string;
  /** text: a string; bigint: an integer sent as a decimal string (money, times, counters). */
  type: "text" | "bigint";
}

/** What Database asks of the driver beneath MikroORM, through MikroORM's public options. */
export interface EngineHooks {
  /** PostgreSQL: the pg Pool was made (Database reads its counters for the pool gauge). */
  onPool?: (pool: import("pg").Pool) => void;
  /** A pooled connection failed (a database restart, the network): once per connection. */
  onConnectionError?: (err: Error) => void;
  /** A ROLLBACK failed (its connection was gone); the connection was released all the same. */
  onRollbackFailed?: (err: unknown) => void;
  /** PostgreSQL: each round trip (bankd_db_round_trips_total). */
  onRoundTrip?: () => void;
  /** PostgreSQL with a multi-host URL: which host the pool connects to now (src/db/primary.ts). */
  follower?: import("./primary").HostFollower;
}

export interface SqlEngine {
  readonly dialect: Dialect;
  /**
   * Appended to a SELECT inside a transaction to lock the rows it returns until COMMIT:
   * PostgreSQL's FOR UPDATE; nothing on SQLite, whose single writer serializes transactions.
   */
  readonly lockRows: string;
  /**
   * A table expression `<alias>` over the rows of ONE JSON array parameter (`?`), each row an
   * object with these columns: how the set-based statements of the posting engine write many
   * rows with one bound parameter. Bigint columns are sent as decimal strings (exact).
   */
  jsonRows(alias: string, columns: readonly JsonColumn[]): string;
  /**
   * Takes a transaction-scoped exclusive lock named by `key` if nobody holds it, without
   * waiting; returns the SQL to run (one row with a boolean-ish column `locked`), or undefined
   * when the engine serializes writers anyway (SQLite: the caller takes the write lock by
   * writing first).
   */
  tryTransactionLockSql(key: string): string | undefined;
  /**
   * The statement that tells other processes, at COMMIT, that ledger entries were written (a
   * wake-up on the change feed's channel, no data), or undefined when the engine has no such
   * thing (SQLite: the change feed polls).
   */
  notifyEntriesSql: string | undefined;
  /** The same for an account status change (freeze, unfreeze, close): the wake-up says so, so that
   * watchers read statuses only when one may have changed, not after every posting. */
  notifyStatusSql: string | undefined;
  /**
   * The statement as this engine's driver takes it: bankd writes `?` for each bound parameter
   * (SQLite's own spelling); PostgreSQL numbers them ($1, $2, ...).
   */
  placeholders(sql: string): string;
  /** A value as the driver must receive it: money and other bigints as exact decimal text, booleans
   * as 1/0 where the driver has no boolean, undefined as NULL. */
  bindable(value: unknown): unknown;
  /** MikroORM options of this engine (driver, connection, pool). */
  ormOptions(config: DatabaseConfig, hooks?: EngineHooks): Partial<Options>;
}
