// PostgreSQL: the production engine. A pool of limits.dbPoolMax connections per process (MikroORM's,
// through knex); rows are locked with SELECT ... FOR UPDATE in ascending id order, so concurrent
// transactions queue instead of deadlocking.
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import type { Options } from "@mikro-orm/core";
import type { DatabaseConfig } from "../config";
import { limits } from "../limits";
import type { JsonColumn, SqlEngine } from "./engine";

export const postgresEngine: SqlEngine = {
  dialect: "postgres",
  lockRows: " FOR UPDATE",
  jsonRows(alias: string, columns: readonly JsonColumn[]): string {
    return `jsonb_to_recordset(CAST(? AS jsonb)) AS ${alias} (${columns.map((c) => `${c.name} ${c.type}`).join(", ")})`;
  },
  tryTransactionLockSql: (key: string) => `SELECT pg_try_advisory_xact_lock(${BigInt.asIntN(64, BigInt(key)).toString()}) AS locked`,
  notifyEntriesSql: `SELECT pg_notify('bankd_entries', '')`,
  // pg answers { rows, rowCount } for every statement.
  rowsOf: (result) => (result as { rows: Record<string, unknown>[] }).rows,
  affectedRowsOf: (result) => (result as { rowCount: number | null }).rowCount ?? 0,
  bindable: (value: unknown) => (typeof value === "bigint" ? value.toString() : value === undefined ? null : value),
  ormOptions(config: DatabaseConfig): Partial<Options> {
    if (config.kind !== "postgres") throw new Error("postgres engine given a non-PostgreSQL configuration");
    return {
      driver: PostgreSqlDriver,
      clientUrl: config.url,
      pool: { min: 0, max: limits.dbPoolMax, acquireTimeoutMillis: limits.dbConnectTimeoutMs, idleTimeoutMillis: limits.dbIdleTimeoutMs },
      driverOptions: {
        // A failed statement's error message names the statement, not its values.
        compileSqlOnError: false,
        connection: {
          // A startup parameter, unless the URL is a transaction pooler's (PgBouncer refuses
          // statement_timeout there): then Database.transaction sets it with SET LOCAL.
          ...(config.directUrl === undefined ? { statement_timeout: limits.statementTimeoutMs } : {}),
          connectionTimeoutMillis: limits.dbConnectTimeoutMs,
          application_name: "bankd",
          keepAlive: true,
        },
      },
    } as Partial<Options>;
  },
};
