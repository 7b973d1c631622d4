// A minimal SQL client for the bench's own statements (fresh databases, the pgbench helper table,
// the ledger check, the SQLite baseline). It is independent of src/db on purpose: the bench checks
// the product's ledger with code that does not share the product's data layer.
//
// Placeholders are `?` on both engines (rewritten to $1, $2... for PostgreSQL). Money and other
// BIGINT columns should be cast to text in the SELECT list: better-sqlite3 returns integers as JS numbers.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import Database from "better-sqlite3";
import { SQLITE_PRAGMAS } from "../src/db/sqlite-engine";
import type { Engine } from "./args";

export type Row = Record<string, unknown>;

export interface SqlClient {
  readonly engine: Engine;
  all<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs one statement; returns its rows (if any) and the number of rows it changed or returned. */
  run(sql: string, params?: readonly unknown[]): Promise<{ rows: Row[]; count: number }>;
  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export async function connect(engine: Engine, url: string): Promise<SqlClient> {
  return engine === "postgres" ? connectPostgres(url) : connectSqlite(url.replace(/^sqlite:/, ""));
}

async function connectPostgres(url: string): Promise<SqlClient> {
  const client = new Client({ connectionString: url, application_name: "bankd-bench" });
  await client.connect();
  return {
    engine: "postgres",
    all: async <T>(sql: string, params: unknown[] = []) => {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      return (await client.query(text, params)).rows as T[];
    },
    run: async (sql, params = []) => {
      let n = 0;
      const result = await client.query(sql.replace(/\?/g, () => `$${++n}`), [...params]);
      return { rows: result.rows as Row[], count: result.rowCount ?? 0 };
    },
    exec: async (sql) => void (await client.query(sql)),
    close: () => client.end(),
  };
}

/** Opens an SQLite file with the same driver (better-sqlite3) and pragmas as bankd (WAL,
 * synchronous=FULL, busy timeout). better-sqlite3 is synchronous; each call still answers a
 * promise, as the PostgreSQL client does. */
export async function connectSqlite(file: string): Promise<SqlClient> {
  const db = new Database(file, { timeout: 5000 });
  for (const pragma of SQLITE_PRAGMAS) db.exec(pragma);
  // bankd itself waits for a busy write lock asynchronously (busy_timeout 0 in SQLITE_PRAGMAS);
  // the bench's own client may block, so it waits as a plain SQLite client does.
  db.pragma("busy_timeout = 5000");
  // Integers beyond 2^53 come back as BigInt (money is cast to text anyway).
  const prepare = (sql: string) => db.prepare(sql).safeIntegers(false);
  return {
    engine: "sqlite",
    // A statement without rows (INSERT without RETURNING) answers [] as pg does; better-sqlite3's
    // all() refuses such a statement.
    all: async <T>(sql: string, params: unknown[] = []) => {
      const stmt = prepare(sql);
      if (stmt.reader) return stmt.all(...params) as T[];
      stmt.run(...params);
      return [];
    },
    exec: async (sql) => void db.exec(sql),
    run: async (sql, params = []) => {
      const stmt = prepare(sql);
      if (stmt.reader) {
        const rows = stmt.all(...params) as Row[];
        return { rows, count: rows.length };
      }
      return { rows: [], count: stmt.run(...params).changes };
    },
    close: async () => void db.close(),
  };
}

export interface BenchDatabase {
  engine: Engine;
  /** BANK_DATABASE_URL for bankd. */
  url: string;
  /** A directory for bankd's data (signing keys) and the SQLite file. */
  dataDir: string;
  drop(): Promise<void>;
}

/** A fresh, empty database: a new PostgreSQL database on the admin URL's server, or an SQLite
 * file in a new temporary directory. `drop` removes it. */
export async function createBenchDatabase(engine: Engine, postgresAdminUrl: string): Promise<BenchDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `bankd-bench-${engine}-`));
  if (engine === "sqlite") {
    return { engine, url: `sqlite:${path.join(dataDir, "bank.db")}`, dataDir, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `bankd_bench_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = await connectPostgres(postgresAdminUrl);
  try {
    await admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    engine,
    url: url.toString(),
    dataDir,
    drop: async () => {
      const c = await connectPostgres(postgresAdminUrl);
      try {
        await c.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
