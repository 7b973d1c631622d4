// PostgreSQL: the production engine. A pool of limits.dbPoolMax connections per process, a pg Pool
// that bankd makes and hands to MikroORM as a kysely dialect (postgres-dialect.ts); rows are
// locked with SELECT ... FOR UPDATE in ascending id order, so concurrent transactions queue
// instead of deadlocking.
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import { createPostgreSqlTypeParsers } from "@mikro-orm/sql";
import type { Options } from "@mikro-orm/core";
import { Pool, types as pgTypes, type PoolClient } from "pg";
import type { DatabaseConfig } from "../config";
import { limits } from "../limits";
import type { JsonColumn, SqlEngine, EngineHooks } from "./engine";
import { BankdPostgresDialect } from "./postgres-dialect";
import { FollowingPool } from "./primary";

/** `?` -> `$n`, once per distinct SQL text (the texts are constants of the code, so the cache
 * holds about a hundred; the bound only guards against an unforeseen source of distinct texts). */
const numbered = new Map<string, string>();

function numberPlaceholders(sql: string): string {
  let out = numbered.get(sql);
  if (out !== undefined) return out;
  out = "";
  let n = 0;
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === "?") {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  if (numbered.size >= limits.dbPreparedStatementsMax) numbered.clear();
  numbered.set(sql, out);
  return out;
}

/** pg's type parsers with MikroORM's overrides (dates, timestamps and intervals kept as text, as
 * MikroORM's own pool would have them; bankd stores times as epoch milliseconds). */
/** text[] (pg's builtins name scalar types only). */
const TEXT_ARRAY_OID = 1009;

function typeParsers(): { getTypeParser: typeof pgTypes.getTypeParser } {
  // Arrays of those types as arrays of text, by pg's own text[] parser.
  const textArray = pgTypes.getTypeParser(TEXT_ARRAY_OID as Parameters<typeof pgTypes.getTypeParser>[0]) as (value: string) => string[];
  const overrides: Record<number, ((value: string) => unknown) | undefined> = createPostgreSqlTypeParsers(textArray);
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") => overrides[oid] ?? pgTypes.getTypeParser(oid, format)) as typeof pgTypes.getTypeParser,
  };
}

/** The pool: its connections, their timeouts, and listeners so that a connection the server drops
 * is reported, never an unheard 'error' that would end the process. */
function makePool(config: Extract<DatabaseConfig, { kind: "postgres" }>, url: string, hooks: EngineHooks | undefined): Pool {
  const pool = new Pool({
    connectionString: url,
    max: limits.dbPoolMax,
    idleTimeoutMillis: limits.dbIdleTimeoutMs,
    // Both the wait for a new connection and the wait for a free one when all are in use.
    connectionTimeoutMillis: limits.dbConnectTimeoutMs,
    // A startup parameter, unless the URL is a transaction pooler's (PgBouncer refuses
    // statement_timeout there): then Database.transaction sets it with SET LOCAL.
    ...(config.directUrl === undefined ? { statement_timeout: limits.statementTimeoutMs } : {}),
    application_name: "bankd",
    keepAlive: true,
    // Queries queued on a connection leave without waiting for the previous answer: the driver
    // sends a transaction's BEGIN with its first statement (postgres-dialect.ts).
    pipeline: true,
    types: typeParsers(),
  });
  pool.on("connect", (client: PoolClient) => {
    // Every 'error' is heard (a dead connection can emit more than one); the first is reported.
    let reported = false;
    client.on("error", (err: Error) => {
      if (!reported) hooks?.onConnectionError?.(err);
      reported = true;
      hooks?.follower?.suspect(err);
    });
  });
  // An idle connection's error, re-emitted by the pool (the client's own listener counted it).
  pool.on("error", () => undefined);
  hooks?.onPool?.(pool);
  return pool;
}

export const postgresEngine: SqlEngine = {
  dialect: "postgres",
  lockRows: " FOR UPDATE",
  jsonRows(alias: string, columns: readonly JsonColumn[]): string {
    return `jsonb_to_recordset(CAST(? AS jsonb)) AS ${alias} (${columns.map((c) => `${c.name} ${c.type}`).join(", ")})`;
  },
  tryTransactionLockSql: (key: string) => `SELECT pg_try_advisory_xact_lock(${BigInt.asIntN(64, BigInt(key)).toString()}) AS locked`,
  notifyEntriesSql: `SELECT pg_notify('bankd_entries', '')`,
  notifyStatusSql: `SELECT pg_notify('bankd_entries', 'status')`,
  placeholders: numberPlaceholders,
  bindable: (value: unknown) => (typeof value === "bigint" ? value.toString() : value === undefined ? null : value),
  ormOptions(config: DatabaseConfig, hooks?: EngineHooks): Partial<Options> {
    if (config.kind !== "postgres") throw new Error("postgres engine given a non-PostgreSQL configuration");
    const follower = hooks?.follower;
    return {
      driver: PostgreSqlDriver,
      // MikroORM reads the database's name from it; a multi-host URL is not one it can parse, so
      // it gets the first host's (the connections themselves come from the pool below).
      clientUrl: follower ? follower.url.urlFor(follower.url.hosts[0]!) : config.url,
      // MikroORM runs on this dialect and its pool instead of making its own. A multi-host URL:
      // the pool of the host that is the primary now (src/db/primary.ts).
      driverOptions: new BankdPostgresDialect({
        pool: follower ? new FollowingPool(follower, (url) => makePool(config, url, hooks)) : makePool(config, config.url, hooks),
        pooled: config.directUrl !== undefined,
        onRollbackFailed: (err) => hooks?.onRollbackFailed?.(err),
        onRoundTrip: hooks?.onRoundTrip,
        onStatementError: follower ? (err) => follower.suspect(err) : undefined,
      }),
    } as Partial<Options>;
  },
};
