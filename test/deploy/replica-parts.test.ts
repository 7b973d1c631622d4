// The read replica's parts (BANK_DATABASE_REPLICA_URL; its configuration is checked in
// database-urls.test.ts): the replica's Database is read-only (a write through it is a
// programming error, refused before it reaches the server); LSNs compare as 64-bit positions.
// test/system/replica.test.ts runs bankd against a real streaming replica.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Database } from "../../src/db/database";
import { ReadOnlyViolationError } from "../../src/db/errors";
import { lsnOf } from "../../src/db/replica";

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
