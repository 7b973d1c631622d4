// Test databases: SQLite always (a file in a fresh temporary directory), PostgreSQL as well when
// BANK_TEST_POSTGRES_URL is set (a fresh database per test file, dropped afterwards).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import type { DatabaseConfig } from "../../src/config";
import { Database } from "../../src/db/database";

export type Engine = "sqlite" | "postgres";

export interface TestDatabase {
  engine: Engine;
  /** The value of BANK_DATABASE_URL that selects this database. */
  url: string;
  config: DatabaseConfig;
  dataDir: string;
  drop(): Promise<void>;
}

/** The engines this run covers: ["sqlite"] or ["sqlite", "postgres"]. */
export function engines(): Engine[] {
  return process.env.BANK_TEST_POSTGRES_URL ? ["sqlite", "postgres"] : ["sqlite"];
}

export function postgresOnly(): Engine[] {
  return process.env.BANK_TEST_POSTGRES_URL ? ["postgres"] : [];
}

/** describe.each over ["postgres"] when BANK_TEST_POSTGRES_URL is set, else the same block
 * skipped (describe.each refuses an empty table, which failed `npm test` without PostgreSQL). */
export const describeEachPostgres = process.env.BANK_TEST_POSTGRES_URL ? describe.each(["postgres" as const]) : describe.skip.each(["postgres" as const]);

export async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-test-"));
  if (engine === "sqlite") {
    const file = path.join(dataDir, "bank.db");
    return {
      engine,
      url: `sqlite:${file}`,
      config: { kind: "sqlite", file },
      dataDir,
      drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const admin = process.env.BANK_TEST_POSTGRES_URL;
  if (!admin) throw new Error("BANK_TEST_POSTGRES_URL is not set");
  const name = `bankd_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  await withClient(admin, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    engine,
    url: url.toString(),
    config: { kind: "postgres", url: url.toString() },
    dataDir,
    drop: async () => {
      await withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh test database with the migrations applied, opened: most suites' beforeAll. */
export async function openMigratedDatabase(engine: Engine): Promise<{ tdb: TestDatabase; db: Database }> {
  const tdb = await createTestDatabase(engine);
  const db = await Database.open(tdb.config);
  await db.migrate();
  return { tdb, db };
}

/** Closes what openMigratedDatabase opened and drops the database. */
export async function closeMigratedDatabase(db: Database, tdb: TestDatabase): Promise<void> {
  await db.close();
  await tdb.drop();
}
