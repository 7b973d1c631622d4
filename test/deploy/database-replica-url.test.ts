// BANK_DATABASE_REPLICA_URL: a read replica for the reads that may be stale. Only for PostgreSQL,
// validated like the main URL; the replica's Database is read-only (a write through it is a
// programming error, refused before it reaches the server); LSNs compare as 64-bit positions.
// test/system/replica.test.ts runs bankd against a real streaming replica.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, loadConfig } from "../../src/config";
import { Database, ReadOnlyViolationError } from "../../src/db/database";
import { lsnOf } from "../../src/db/replica";

const primary = "postgres://bankd@postgres:5432/bankd";
const replica = "postgres://bankd@replica:5432/bankd";

test("set: the database configuration carries it", () => {
  expect(loadConfig({ BANK_DATABASE_URL: primary, BANK_DATABASE_REPLICA_URL: replica }).database).toEqual({ kind: "postgres", url: primary, replicaUrl: replica });
});

test("unset: none (every read uses BANK_DATABASE_URL)", () => {
  expect(loadConfig({ BANK_DATABASE_URL: primary }).database).toEqual({ kind: "postgres", url: primary });
});

test.each([
  [{ BANK_DATABASE_REPLICA_URL: replica }, /BANK_DATABASE_REPLICA_URL is for PostgreSQL/],
  [{ BANK_DATABASE_URL: "sqlite:./x.db", BANK_DATABASE_REPLICA_URL: replica }, /BANK_DATABASE_REPLICA_URL is for PostgreSQL/],
  [{ BANK_DATABASE_URL: primary, BANK_DATABASE_REPLICA_URL: "mysql://x/y" }, /BANK_DATABASE_REPLICA_URL must start with postgres:\/\//],
  [{ BANK_DATABASE_URL: primary, BANK_DATABASE_REPLICA_URL: "postgres://h:5432" }, /BANK_DATABASE_REPLICA_URL names no database/],
])("refused: %j", (env, problem) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  try {
    loadConfig(env);
  } catch (err) {
    expect((err as ConfigError).problems.join("\n")).toMatch(problem);
  }
});

test("a read-only Database reads, and refuses transactions, write statements and migrations", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-readonly-"));
  const db = await Database.open({ kind: "sqlite", file: path.join(dir, "r.db") }, undefined, { readOnly: true });
  try {
    expect(await db.read((tx) => tx.one<{ ok: number }>("SELECT 1 AS ok"))).toEqual({ ok: 1 });
    await expect(db.read((tx) => tx.run("CREATE TABLE t (x INTEGER)"))).rejects.toThrow(ReadOnlyViolationError);
    await expect(db.transaction(async () => 1)).rejects.toThrow(ReadOnlyViolationError);
    await expect(db.migrate()).rejects.toThrow(ReadOnlyViolationError);
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("LSNs compare as positions, not as text", () => {
  expect(lsnOf("0/16B3748")).toBe(0x16b3748n);
  expect(lsnOf("1/0") > lsnOf("0/FFFFFFFF")).toBe(true);
  expect(lsnOf("A/10") > lsnOf("9/FFFFFFF0")).toBe(true);
  expect(() => lsnOf("nonsense")).toThrow();
});
