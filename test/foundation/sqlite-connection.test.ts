// Goal: SQLite units of work take the one connection in turns (src/db/sqlite.ts): a read never
// sees another unit of work's uncommitted rows, money travels as exact text (sqlite3 would bind
// a BigInt as NULL), and a unit of work that waits past limits.dbConnectTimeoutMs for its turn
// fails as unavailable instead of queueing without bound, while the ones behind it still run.
import { Database, DatabaseUnavailableError } from "../../src/db/database";
import { limits } from "../../src/limits";
import { createTestDatabase, type TestDatabase } from "../support/db";

describe("the SQLite connection", () => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase("sqlite");
    db = await Database.open(tdb.config);
    await db.migrate();
  });
  afterAll(async () => {
    await db.close();
    await tdb.drop();
  });

  const insert = "INSERT INTO login_throttle (throttle_key, failures, window_start, blocked_until) VALUES (?, ?, 0, ?)";
  const count = (key: string) => db.read(async (tx) => Number((await tx.one<{ n: number }>("SELECT COUNT(*) AS n FROM login_throttle WHERE throttle_key = ?", [key]))?.n));
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  test("a read waits for an open transaction and never sees its uncommitted rows", async () => {
    const key = `test:isolation-${Date.now()}`;
    let readDone = false;
    const writer = db.transaction(async (tx) => {
      await tx.run(insert, [key, 1, 0]);
      await sleep(200);
      expect(readDone).toBe(false);
      throw new Error("roll back");
    });
    const reader = count(key).then((n) => {
      readDone = true;
      return n;
    });
    await expect(writer).rejects.toThrow("roll back");
    expect(await reader).toBe(0);
  });

  test("a bigint parameter is stored exactly, not as NULL", async () => {
    const key = `test:bigint-${Date.now()}`;
    await db.transaction((tx) => tx.run(insert, [key, 1, 9_007_199_254_740_993n]));
    const row = await db.read((tx) => tx.one<{ v: string }>("SELECT CAST(blocked_until AS TEXT) AS v FROM login_throttle WHERE throttle_key = ?", [key]));
    expect(row).toEqual({ v: "9007199254740993" });
  });

  test(`a unit of work waiting more than ${limits.dbConnectTimeoutMs} ms for its turn fails UNAVAILABLE; the next ones run`, async () => {
    const key = `test:queue-${Date.now()}`;
    const holder = db.transaction(async (tx) => {
      await tx.run(insert, [key, 1, 0]);
      await sleep(limits.dbConnectTimeoutMs + 500);
    });
    await sleep(50);
    const starved = db.read((tx) => tx.one("SELECT 1 AS ok"));
    await expect(starved).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await holder;
    expect(await count(key)).toBe(1);
    expect(await db.read((tx) => tx.one("SELECT 1 AS ok"))).toEqual({ ok: 1 });
  }, limits.dbConnectTimeoutMs * 3);
});
