// Goal: the PostgreSQL pool that runs every unit of work (src/db/postgres.ts) survives its
// connections dying: killed between two statements of a transaction (the connection is checked
// out, no query is running) the transaction fails as unavailable, nothing of it is committed,
// the process lives on and the next unit of work gets a fresh connection; killed while idle, the
// next read simply works. Statements run as prepared statements with $n parameters, and the
// `?` -> `$n` rewrite leaves quoted text alone. A transaction pipelines BEGIN with its first
// statement and COMMIT with its deferred writes: a transfer-shaped unit of work is 3 round trips,
// deferred writes run in order before what follows them, and a failing deferred write rolls the
// whole transaction back.
import { Database, DatabaseUnavailableError, classifyDbError } from "../../src/db/database";
import { toNumberedPlaceholders } from "../../src/db/postgres";
import { createTestDatabase, postgresOnly, roundTrips, withClient, type TestDatabase } from "../support/db";

test("? placeholders become $n outside quoted text only", () => {
  expect(toNumberedPlaceholders("SELECT a FROM t WHERE a = ? AND b IN (?, ?)")).toBe("SELECT a FROM t WHERE a = $1 AND b IN ($2, $3)");
  expect(toNumberedPlaceholders("SELECT '?', \"a?\" FROM t WHERE c = ?")).toBe("SELECT '?', \"a?\" FROM t WHERE c = $1");
  expect(toNumberedPlaceholders("SELECT 'it''s ?' WHERE x = ?")).toBe("SELECT 'it''s ?' WHERE x = $1");
  expect(toNumberedPlaceholders("SELECT 1")).toBe("SELECT 1");
});

test("driver errors sort into what a caller can do: retry the transaction, retry later, or report", () => {
  const kind = (e: object) => classifyDbError(e);
  expect(kind({ code: "40P01" })).toBe("conflict");
  expect(kind({ code: "40001" })).toBe("conflict");
  // A stalled database (statement_timeout, lock timeout) or an unreachable host: nothing
  // committed, the caller is told UNAVAILABLE and may retry with the same request_id.
  for (const code of ["57014", "55P03", "57P01", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED"]) expect([code, kind({ code })]).toEqual([code, "unavailable"]);
  expect(kind({ message: "timeout exceeded when trying to connect" })).toBe("unavailable");
  expect(kind({ name: "SqliteQueueTimeoutError", message: "waited" })).toBe("unavailable");
  expect(kind({ code: "23505" })).toBe("unique");
  expect(kind({ code: "23514" })).toBe("other");
});

test("a value pg cannot serialize fails the pipeline before anything is sent", async () => {
  if (onPostgres.length === 0) return;
  const tdb = await createTestDatabase("postgres");
  const db = await Database.open(tdb.config);
  try {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(db.transaction((tx) => tx.one("SELECT ?::text AS v", [circular]))).rejects.toThrow();
    // The connection is still in step with the server: the next units of work on it work.
    for (let i = 0; i < 3; i++) expect(await db.transaction((tx) => tx.one<{ v: string }>("SELECT ?::text AS v", ["ok"]))).toEqual({ v: "ok" });
  } finally {
    await db.close();
    await tdb.drop();
  }
});

const onPostgres = postgresOnly();
const describePg = onPostgres.length > 0 ? describe : describe.skip;

describePg("the PostgreSQL pool", () => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase("postgres");
    db = await Database.open(tdb.config);
    await db.migrate();
  });
  afterAll(async () => {
    await db.close();
    await tdb.drop();
  });

  const terminate = (pid: number) => withClient(tdb.url, (c) => c.query("SELECT pg_terminate_backend($1)", [pid]));
  const throttleRows = (key: string) => db.read(async (tx) => Number((await tx.one<{ n: string }>("SELECT COUNT(*) AS n FROM login_throttle WHERE throttle_key = ?", [key]))?.n));

  test("a connection killed between two statements: UNAVAILABLE, nothing committed, the next transaction works", async () => {
    const key = `test:killed-${Date.now()}`;
    const attempt = db.transaction(async (tx) => {
      await tx.run("INSERT INTO login_throttle (throttle_key, failures, window_start, blocked_until) VALUES (?, 1, 0, 0)", [key]);
      const row = await tx.one<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      await terminate(row!.pid);
      // The server's FATAL arrives while no query runs on the checked-out connection: without a
      // listener that 'error' event would crash this process.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await tx.run("UPDATE login_throttle SET failures = 2 WHERE throttle_key = ?", [key]);
    });
    await expect(attempt).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(await throttleRows(key)).toBe(0);
    await db.transaction((tx) => tx.run("INSERT INTO login_throttle (throttle_key, failures, window_start, blocked_until) VALUES (?, 1, 0, 0)", [key]));
    expect(await throttleRows(key)).toBe(1);
  });

  test("idle connections killed: the next reads get fresh ones", async () => {
    await Promise.all([1, 2, 3].map(() => db.read((tx) => tx.one("SELECT pg_sleep(0.05)"))));
    await withClient(tdb.url, (c) => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bankd' AND datname = current_database()"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 5; i++) expect(await db.read((tx) => tx.one<{ ok: number }>("SELECT 1 AS ok"))).toEqual({ ok: 1 });
  });

  test("statements are prepared once per connection, with $n parameters", async () => {
    const prepared = await db.transaction(async (tx) => {
      for (let i = 0; i < 3; i++) await tx.one("SELECT throttle_key FROM login_throttle WHERE throttle_key = ?", ["nobody"]);
      return tx.all<{ name: string; statement: string }>("SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE '%login_throttle WHERE throttle_key = $1'");
    });
    expect(prepared).toHaveLength(1);
    expect(prepared[0]!.name).toMatch(/^bankd_\d+$/);
  });

  const insertThrottle = "INSERT INTO login_throttle (throttle_key, failures, window_start, blocked_until) VALUES (?, ?, 0, 0)";

  test("a transfer-shaped unit of work is 3 round trips: BEGIN+lock, the write, deferred writes+COMMIT", async () => {
    const key = `test:trips-${Date.now()}`;
    await db.transaction((tx) => tx.run(insertThrottle, [key, 0]));
    const trips = await roundTrips(() =>
      db.transaction(async (tx) => {
        await tx.one("SELECT failures FROM login_throttle WHERE throttle_key = ? FOR UPDATE", [key]);
        await tx.run("UPDATE login_throttle SET failures = failures + 1 WHERE throttle_key = ?", [key]);
        tx.defer(insertThrottle, [`${key}-a`, 1]);
        tx.defer(insertThrottle, [`${key}-b`, 1]);
      }),
    );
    expect(trips).toBe(3);
    expect(await throttleRows(`${key}-a`)).toBe(1);
    expect(await throttleRows(`${key}-b`)).toBe(1);
    // A unit of work that ran nothing sends nothing.
    expect(await roundTrips(() => db.transaction(async () => 42))).toBe(0);
  });

  test("deferred writes run before the next statement, in order", async () => {
    const key = `test:order-${Date.now()}`;
    const seen = await db.transaction(async (tx) => {
      tx.defer(insertThrottle, [key, 1]);
      tx.defer("UPDATE login_throttle SET failures = 7 WHERE throttle_key = ?", [key]);
      return tx.one<{ failures: number }>("SELECT failures FROM login_throttle WHERE throttle_key = ?", [key]);
    });
    expect(seen).toEqual({ failures: 7 });
  });

  test("a failing deferred write rolls the whole transaction back; the next one works", async () => {
    const key = `test:dup-${Date.now()}`;
    await db.transaction((tx) => tx.run(insertThrottle, [key, 1]));
    const attempt = db.transaction(async (tx) => {
      await tx.run(insertThrottle, [`${key}-kept?`, 1]);
      tx.defer(insertThrottle, [key, 2]);
    });
    const err = await attempt.then(() => undefined, (e: unknown) => e);
    expect(classifyDbError(err)).toBe("unique");
    expect(await throttleRows(`${key}-kept?`)).toBe(0);
    await db.transaction((tx) => tx.run(insertThrottle, [`${key}-next`, 1]));
    expect(await throttleRows(`${key}-next`)).toBe(1);
  });

  test("a statement first prepared in a failed pipeline: the connection is replaced, the statement still works", async () => {
    const key = `test:uncertain-${Date.now()}`;
    await db.transaction((tx) => tx.run(insertThrottle, [key, 1]));
    // Never used before on any connection: its Parse is in the failing pipeline, after the
    // failing deferred write, so the server skips it.
    const fresh = `SELECT failures FROM login_throttle WHERE throttle_key = ? /* ${key} */`;
    const err = await db.transaction(async (tx) => {
      tx.defer(insertThrottle, [key, 2]);
      await tx.one(fresh, [key]);
    }).then(() => undefined, (e: unknown) => e);
    expect(classifyDbError(err)).toBe("unique");
    for (let i = 0; i < 3; i++) expect(await db.transaction((tx) => tx.one(fresh, [key]))).toEqual({ failures: 1 });
  });
});
