// Goal: the database layer (src/db/database.ts) runs every unit of work through MikroORM and
// holds up on both engines: a SQLite read waits for an open transaction on the one connection
// and never sees its uncommitted rows; money travels exactly (SQLite's driver would bind a BigInt
// as NULL, and read a BIGINT as a lossy double); a unit of work whose call is aborted (deadline,
// client gone) before COMMIT rolls back and one aborted before it starts never runs; driver
// errors sort into retry / unavailable / report; and on PostgreSQL a connection killed in the
// middle of a transaction fails it as UNAVAILABLE with nothing committed while the process lives
// on, and killed idle connections are replaced.
import { Database } from "../../src/db/database";
import { CallAbortedError, DatabaseUnavailableError, classifyDbError } from "../../src/db/errors";
import { limits } from "../../src/limits";
import { engines, postgresOnly, withClient, type TestDatabase, openMigratedDatabase, closeMigratedDatabase } from "../support/db";
import { waitUntil } from "../support/wait";

const insert = "INSERT INTO login_throttle (throttle_key, failures, window_start, blocked_until) VALUES (?, ?, 0, ?)";

test("driver errors sort into what a caller can do: retry the transaction, retry later, or report", () => {
  const kind = (e: object) => classifyDbError(e);
  expect(kind({ code: "40P01" })).toBe("conflict");
  expect(kind({ code: "40001" })).toBe("conflict");
  expect(kind({ code: "SQLITE_BUSY", message: "SQLITE_BUSY: database is locked" })).toBe("conflict");
  // A stalled database (statement_timeout, lock timeout) or an unreachable host: nothing
  // committed, the caller is told UNAVAILABLE and may retry with the same request_id.
  for (const code of ["57014", "55P03", "57P01", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED"]) expect([code, kind({ code })]).toEqual([code, "unavailable"]);
  expect(kind({ message: "timeout exceeded when trying to connect" })).toBe("unavailable");
  expect(kind({ message: "Connection terminated unexpectedly" })).toBe("unavailable");
  expect(kind({ message: "Client was closed and is not queryable" })).toBe("unavailable");
  // better-sqlite3 reports SQLite's extended result codes.
  expect(kind({ code: "SQLITE_BUSY_SNAPSHOT", message: "database is locked" })).toBe("conflict");
  for (const code of ["SQLITE_CANTOPEN", "SQLITE_IOERR_WRITE", "SQLITE_FULL", "SQLITE_READONLY_DBMOVED"]) expect([code, kind({ code })]).toEqual([code, "unavailable"]);
  expect(kind(new TypeError("The database connection is not open"))).toBe("unavailable");
  expect(kind({ code: "23505" })).toBe("unique");
  expect(kind({ code: "SQLITE_CONSTRAINT_UNIQUE", message: "UNIQUE constraint failed: users.email" })).toBe("unique");
  expect(kind({ code: "SQLITE_CONSTRAINT_PRIMARYKEY", message: "UNIQUE constraint failed: idempotency_keys.caller_id" })).toBe("unique");
  expect(kind({ code: "SQLITE_CONSTRAINT_FOREIGNKEY", message: "FOREIGN KEY constraint failed" })).toBe("other");
  expect(kind({ code: "23514" })).toBe("other");
  expect(kind(new Error("a bug"))).toBe("other");
});

describe.each(engines())("units of work on %s", (engine) => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => ({ tdb, db } = await openMigratedDatabase(engine)));
  afterAll(() => closeMigratedDatabase(db, tdb));
  const count = (key: string) => db.read(async (tx) => Number((await tx.one<{ n: number | string }>("SELECT COUNT(*) AS n FROM login_throttle WHERE throttle_key = ?", [key]))?.n));

  test("a bigint parameter is stored and read back exactly, past 2^53", async () => {
    const key = `test:bigint-${Date.now()}`;
    await db.transaction((tx) => tx.run(insert, [key, 1, 9_007_199_254_740_993n]));
    const row = await db.read((tx) => tx.one<{ v: string }>("SELECT CAST(blocked_until AS TEXT) AS v FROM login_throttle WHERE throttle_key = ?", [key]));
    expect(row).toEqual({ v: "9007199254740993" });
  });

  test("a unit of work whose call is aborted before COMMIT rolls back; one aborted before it starts never runs", async () => {
    const key = `test:abort-${Date.now()}`;
    const call = new AbortController();
    const work = db.transaction(async (tx) => {
      await tx.run(insert, [key, 1, 0]);
      call.abort(new Error("deadline"));
    }, { signal: call.signal });
    await expect(work).rejects.toBeInstanceOf(CallAbortedError);
    expect(await count(key)).toBe(0);
    let ran = false;
    await expect(db.transaction(async () => void (ran = true), { signal: call.signal })).rejects.toBeInstanceOf(CallAbortedError);
    expect(ran).toBe(false);
  });

  test("a failing unit of work leaves nothing behind, and the next one works", async () => {
    const key = `test:fail-${Date.now()}`;
    await expect(db.transaction(async (tx) => {
      await tx.run(insert, [key, 1, 0]);
      await tx.run(insert, [key, 1, 0]);
    })).rejects.toThrow();
    expect(await count(key)).toBe(0);
    await db.transaction((tx) => tx.run(insert, [key, 1, 0]));
    expect(await count(key)).toBe(1);
  });
});

const describeSqlite = engines().includes("sqlite") ? describe : describe.skip;
describeSqlite("the SQLite connection", () => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => ({ tdb, db } = await openMigratedDatabase("sqlite")));
  afterAll(() => closeMigratedDatabase(db, tdb));

  test("a read waits for an open transaction and never sees its uncommitted rows", async () => {
    const key = `test:isolation-${Date.now()}`;
    let readDone = false;
    let inserted!: () => void;
    const insertedNow = new Promise<void>((resolve) => (inserted = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const writer = db.transaction(async (tx) => {
      await tx.run(insert, [key, 1, 0]);
      inserted();
      await released;
      // The reader is queued for the connection: give it every chance to slip in (a round trip
      // through the driver each), and check it never does while this transaction holds it.
      for (let i = 0; i < 20; i++) {
        await tx.one("SELECT 1 AS ok");
        expect(readDone).toBe(false);
      }
      throw new Error("roll back");
    });
    await insertedNow;
    const reader = db.read(async (tx) => Number((await tx.one<{ n: number }>("SELECT COUNT(*) AS n FROM login_throttle WHERE throttle_key = ?", [key]))?.n)).then((n) => {
      readDone = true;
      return n;
    });
    // Once the reader is waiting for the connection, the writer goes on.
    await waitUntil("the reader waits for the connection", () => db.poolStats().pending === 1);
    release();
    await expect(writer).rejects.toThrow("roll back");
    expect(await reader).toBe(0);
  });

  test(`a unit of work waiting more than ${limits.dbConnectTimeoutMs} ms for the connection fails UNAVAILABLE; the next ones run`, async () => {
    const key = `test:queue-${Date.now()}`;
    let starved!: Promise<unknown>;
    const holder = db.transaction(async (tx) => {
      await tx.run(insert, [key, 1, 0]);
      starved = db.read((t) => t.one("SELECT 1 AS ok")).catch((err: unknown) => err);
      await starved;
    });
    await holder;
    expect(await starved).toBeInstanceOf(DatabaseUnavailableError);
    expect(await db.read(async (tx) => Number((await tx.one<{ n: number }>("SELECT COUNT(*) AS n FROM login_throttle WHERE throttle_key = ?", [key]))?.n))).toBe(1);
  }, limits.dbConnectTimeoutMs * 3);
});

const describePg = postgresOnly().length > 0 ? describe : describe.skip;
describePg("the PostgreSQL pool", () => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => ({ tdb, db } = await openMigratedDatabase("postgres")));
  afterAll(() => closeMigratedDatabase(db, tdb));
  const terminate = (pid: number) => withClient(tdb.url, (c) => c.query("SELECT pg_terminate_backend($1)", [pid]));
  const connectionEnded = async (pid: number) => (await withClient(tdb.url, (c) => c.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid]))).rowCount === 0;
  const count = (key: string) => db.read(async (tx) => Number((await tx.one<{ n: string }>("SELECT COUNT(*) AS n FROM login_throttle WHERE throttle_key = ?", [key]))?.n));

  test("a connection killed between two statements: UNAVAILABLE, nothing committed, the next transaction works", async () => {
    const key = `test:killed-${Date.now()}`;
    const attempt = db.transaction(async (tx) => {
      await tx.run(insert, [key, 1, 0]);
      const row = await tx.one<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      await terminate(row!.pid);
      // The server's FATAL arrives while no query runs on the checked-out connection: an unheard
      // 'error' event would crash this process. Wait until the client has heard the connection end.
      await waitUntil("the killed connection's end reached the client", () => connectionEnded(row!.pid));
      await tx.run("UPDATE login_throttle SET failures = 2 WHERE throttle_key = ?", [key]);
    });
    await expect(attempt).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(await count(key)).toBe(0);
    await db.transaction((tx) => tx.run(insert, [key, 1, 0]));
    expect(await count(key)).toBe(1);
  });

  test("idle connections killed: the next reads get fresh ones", async () => {
    await Promise.all([1, 2, 3].map(() => db.read((tx) => tx.one("SELECT pg_sleep(0.05)"))));
    const killed = await withClient(tdb.url, (c) => c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'bankd' AND datname = current_database()"));
    await withClient(tdb.url, (c) => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bankd' AND datname = current_database()"));
    for (const { pid } of killed.rows) await waitUntil(`backend ${pid} is gone`, () => connectionEnded(pid));
    for (let i = 0; i < 5; i++) expect(await db.read((tx) => tx.one<{ ok: number }>("SELECT 1 AS ok"))).toEqual({ ok: 1 });
  });
});
