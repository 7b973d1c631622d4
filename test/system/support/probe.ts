// Direct, read-only SQL access to a scenario's database, for what the API cannot show: a
// consistent snapshot of every balance at once (one GetBalance per account is not a snapshot),
// and the ledger's own invariants checked from the rows themselves.
//
// PostgreSQL: a small pg pool; snapshots are REPEATABLE READ read-only transactions.
// SQLite: the product's own Database class on the same file; a read transaction in WAL mode is a
// snapshot. SQL is written with `?` placeholders for both.
import { Pool } from "pg";
import { Database } from "../../../src/db/database";

export type Dialect = "postgres" | "sqlite";
export type Row = Record<string, unknown>;

export interface Query {
  all<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Probe extends Query {
  readonly dialect: Dialect;
  /** Runs `fn` inside one consistent snapshot of the whole database. */
  snapshot<T>(fn: (q: Query) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openProbe(databaseUrl: string): Promise<Probe> {
  return databaseUrl.startsWith("sqlite:") ? openSqliteProbe(databaseUrl.slice("sqlite:".length)) : openPgProbe(databaseUrl);
}

function pgSql(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function openPgProbe(url: string): Probe {
  const pool = new Pool({ connectionString: url, max: 3, application_name: "bankd-system-probe" });
  // A probe connection killed by a database restart must not crash the test process.
  pool.on("error", () => undefined);
  const all = async <T>(sql: string, params: unknown[] = []) => (await pool.query(pgSql(sql), params)).rows as T[];
  return {
    dialect: "postgres",
    all,
    snapshot: async (fn) => {
      const c = await pool.connect();
      // A connection killed (database restart) while checked out reports here, not to the pool.
      const ignore = () => undefined;
      c.on("error", ignore);
      try {
        await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        const result = await fn({ all: async <T>(sql: string, params: unknown[] = []) => (await c.query(pgSql(sql), params)).rows as T[] });
        await c.query("COMMIT");
        return result;
      } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        c.off("error", ignore);
        c.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openSqliteProbe(file: string): Promise<Probe> {
  const db = await Database.open({ kind: "sqlite", file });
  const all = <T>(sql: string, params: unknown[] = []) => db.read((tx) => tx.all<T>(sql, params));
  return {
    dialect: "sqlite",
    all,
    snapshot: (fn) => db.transaction((tx) => fn({ all: <T>(sql: string, params: unknown[] = []) => tx.all<T>(sql, params) }), { retry: false }),
    close: () => db.close(),
  };
}

/** BIGINT/SUM results arrive as strings (pg), numbers (sqlite) or null. */
export function big(value: unknown): bigint {
  if (value === null || value === undefined) return 0n;
  return BigInt(typeof value === "number" ? Math.trunc(value) : String(value));
}

/** Row counts of every table of the bankd schema (migration bookkeeping excluded). */
export async function tableCounts(probe: Probe): Promise<Record<string, number>> {
  const tables =
    probe.dialect === "postgres"
      ? (await probe.all<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)).map((r) => r.name)
      : (await probe.all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)).map((r) => r.name);
  const counts: Record<string, number> = {};
  for (const table of tables.filter((t) => t !== "schema_migrations").sort()) {
    const rows = await probe.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`);
    counts[table] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}
