// Goal: WatchAccount (issue 19) on SQLite and PostgreSQL. Through a real server and real clients
// (Connect over HTTP/1.1, gRPC, gRPC-Web): first the entries after start_after, then each new
// entry after its commit, in statement order, with no gap and no duplicate at the switch, while
// postings run concurrently; a posting committed by ANOTHER process on the same database reaches
// a watcher; bad input (unknown or foreign account, forged cursor) is refused before any message;
// the client's deadline ends the stream with DEADLINE_EXCEEDED; the drain ends it at once with
// UNAVAILABLE SERVER_DRAINING without holding the drain. On the hub itself: a reader that stops
// reading is cut off with WATCH_TOO_SLOW and resumes from its cursor without loss; an idle stream
// gets heartbeats.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService, type WatchAccountResponse } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { loadConfig } from "../../src/config";
import { DomainError } from "../../src/errors";
import { startApp, type App } from "../../src/app";
import { createLogger } from "../../src/logger";
import { limits } from "../../src/limits";
import { createAccount } from "../../src/ledger/accounts";
import { deposit } from "../../src/ledger/commands";
import { AccountWatchers, type WatchEvent } from "../../src/ledger/watch";
import { engines } from "../support/db";
import { FAST_ARGON2, client, startTestApp, type Protocol, type TestApp } from "../support/app";
import { createTestUser, startAppWithUsers, type TestUser } from "../support/users";
import { addUser, openLedger, rid, usd } from "./support";
import { waitUntil } from "../support/wait";

const money = (n: number) => ({ currency: "USD", minorUnits: BigInt(n) });

function reasonOf(err: unknown): { code: string; reason: string } {
  if (err instanceof DomainError) return { code: err.codeName, reason: err.reason };
  const e = ConnectError.from(err);
  return { code: Code[e.code], reason: e.findDetails(ErrorInfoSchema)[0]?.reason ?? "" };
}

/** Reads a stream until `until` says enough (or it ends); returns what came and how it ended.
 * `open` gets a signal to pass with the call: when enough has come, the stream is canceled and
 * read to its end, because connect-es clears a call's deadline timer only when a read ends the
 * call (leaving the loop early would keep the timer, and the jest worker, alive). */
async function collect(open: (signal: AbortSignal) => AsyncIterable<WatchAccountResponse>, until: (got: WatchAccountResponse[]) => boolean): Promise<{ got: WatchAccountResponse[]; error?: unknown }> {
  const got: WatchAccountResponse[] = [];
  const cancel = new AbortController();
  const stream = open(cancel.signal)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await stream.next();
      if (next.done) return { got };
      got.push(next.value);
      if (until(got)) break;
    }
  } catch (error) {
    return { got, error };
  }
  cancel.abort(new ConnectError("enough", Code.Canceled));
  // Messages already received come first; then the cancel ends the call.
  let ended: unknown;
  while (ended === undefined) ended = await stream.next().then((r) => (r.done ? "done" : undefined), (err: unknown) => err);
  expect(ended).toMatchObject({ code: Code.Canceled });
  return { got };
}

const amountsOf = (got: WatchAccountResponse[]) => got.filter((m) => m.entry).map((m) => Number(m.entry!.amount!.minorUnits));

describe.each(engines())("WatchAccount over a real server on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let teller: TestUser;
  const accounts = (u: TestUser, protocol: Protocol = "connect") => client(t.baseUrl, AccountService, { token: u.token, protocol });
  const moneyApi = (u: TestUser) => client(t.baseUrl, TransactionService, { token: u.token });
  const open = async (u: TestUser) => (await accounts(u).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "w" })).account!;
  const pay = (id: string, n: number) => moneyApi(teller).deposit({ requestId: rid(), accountId: id, amount: money(n), description: `d${n}` });

  beforeAll(async () => ({ t, alice, bob, teller } = await startAppWithUsers(engine, { alice: [Role.CUSTOMER], bob: [Role.CUSTOMER], teller: [Role.TELLER] })));
  afterAll(async () => t.stop());

  test.each(["connect", "grpc", "grpcweb"] as const)("catch-up from a cursor, then live, in order, with no gap and no duplicate (%s)", async (protocol) => {
    const a = await open(alice);
    for (let i = 1; i <= 10; i++) await pay(a.id, i);
    const statement = await moneyApi(alice).listTransactions({ accountId: a.id, pageSize: 10 });
    // The cursor of the 4th deposit: the stream starts with the 5th.
    const cursor = statement.entries.find((e) => e.amount!.minorUnits === 4n)!.cursor;
    const stream = (signal: AbortSignal) => accounts(alice, protocol).watchAccount({ accountId: a.id, startAfter: cursor }, { timeoutMs: 60_000, signal });
    // Postings keep arriving while the stream catches up and after.
    const writer = (async () => {
      for (let i = 11; i <= 40; i++) await pay(a.id, i);
    })();
    const { got, error } = await collect(stream, (g) => amountsOf(g).length >= 36);
    await writer;
    expect(error).toBeUndefined();
    expect(amountsOf(got)).toEqual(Array.from({ length: 36 }, (_, i) => i + 5));
    // Each message's cursor resumes exactly after it.
    const tenth = got.filter((m) => m.entry)[9]!;
    const resumed = await collect((signal) => accounts(alice, protocol).watchAccount({ accountId: a.id, startAfter: tenth.cursor }, { timeoutMs: 30_000, signal }), (g) => amountsOf(g).length >= 3);
    expect(amountsOf(resumed.got).slice(0, 3)).toEqual([15, 16, 17]);
  }, 120_000);

  test("without start_after only entries committed after the stream starts; every message carries a cursor", async () => {
    const a = await open(alice);
    await pay(a.id, 1);
    const stream = (signal: AbortSignal) => accounts(alice).watchAccount({ accountId: a.id }, { timeoutMs: 30_000, signal });
    const reading = collect(stream, (g) => amountsOf(g).length >= 3);
    // When the stream starts is the server's to say: keep paying until three entries came, then
    // check they are three consecutive later payments (never the one before the stream).
    let settled = false;
    void reading.then(() => (settled = true));
    for (let n = 2; n <= 60 && !settled; n++) await pay(a.id, n);
    const { got, error } = await reading;
    expect(error).toBeUndefined();
    const amounts = amountsOf(got);
    expect(amounts[0]).toBeGreaterThan(1);
    expect(amounts).toEqual([amounts[0], amounts[0]! + 1, amounts[0]! + 2]);
    expect(got.every((m) => m.cursor !== "")).toBe(true);
  });

  test("bad input is refused before any message: unknown or foreign account NOT_FOUND, forged cursor INVALID_ARGUMENT", async () => {
    const mine = await open(alice);
    const theirs = await open(bob);
    await pay(theirs.id, 1);
    const theirCursor = (await moneyApi(bob).listTransactions({ accountId: theirs.id })).entries[0]!.cursor;
    const cases: [object, string, string][] = [
      [{ accountId: "01890000-0000-7000-8000-000000000000" }, "NotFound", "ACCOUNT_NOT_FOUND"],
      [{ accountId: theirs.id }, "NotFound", "ACCOUNT_NOT_FOUND"],
      [{ accountId: "not-an-id" }, "InvalidArgument", "ID_INVALID"],
      [{ accountId: mine.id, startAfter: theirCursor }, "InvalidArgument", "CURSOR_INVALID"],
      [{ accountId: mine.id, startAfter: `${theirCursor.slice(0, -2)}AA` }, "InvalidArgument", "CURSOR_INVALID"],
    ];
    for (const [request, code, reason] of cases) {
      const { got, error } = await collect((signal) => accounts(alice).watchAccount(request, { timeoutMs: 10_000, signal }), () => true);
      expect([got.length, reasonOf(error)]).toEqual([0, { code, reason }]);
    }
    // Staff may watch anyone's account: the stream opens with a heartbeat carrying its start.
    const staff = await collect((signal) => accounts(teller).watchAccount({ accountId: theirs.id, startAfter: "" }, { timeoutMs: 10_000, signal }), () => true);
    expect(staff.error).toBeUndefined();
    expect(staff.got[0]!.entry).toBeUndefined();
    expect(staff.got[0]!.cursor).toBe(theirCursor);
  });

  test("the first message is a heartbeat with a cursor, even on an empty account; resuming from it misses nothing", async () => {
    const empty = await open(alice);
    const opened = await collect((signal) => accounts(alice).watchAccount({ accountId: empty.id }, { timeoutMs: 10_000, signal }), () => true);
    expect(opened.got[0]!.entry).toBeUndefined();
    expect(opened.got[0]!.cursor).not.toBe("");
    await pay(empty.id, 7);
    const resumed = await collect((signal) => accounts(alice).watchAccount({ accountId: empty.id, startAfter: opened.got[0]!.cursor }, { timeoutMs: 10_000, signal }), (got) => amountsOf(got).length > 0);
    expect(amountsOf(resumed.got)).toEqual([7]);
  });

  test("a stream does not outlive its session: signing out ends it with UNAUTHENTICATED SESSION_ENDED at the next heartbeat", async () => {
    const carol = await createTestUser(t);
    const mine = await open(carol);
    const started = Date.now();
    const { got, error } = await collect((signal) => accounts(carol).watchAccount({ accountId: mine.id }, { timeoutMs: 4 * limits.watchHeartbeatMs, signal }), (seen) => {
      // Signed out once the stream is open (its first heartbeat came).
      if (seen.length === 1) void client(t.baseUrl, AuthService, { token: carol.token }).logout({ refreshToken: carol.refreshToken });
      return false;
    });
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(reasonOf(error)).toEqual({ code: "Unauthenticated", reason: "SESSION_ENDED" });
    expect(Date.now() - started).toBeLessThan(3 * limits.watchHeartbeatMs);
  }, 30_000);

  test("the client's deadline ends the stream with DEADLINE_EXCEEDED", async () => {
    const a = await open(alice);
    const { error } = await collect((signal) => accounts(alice).watchAccount({ accountId: a.id }, { timeoutMs: 300, signal }), () => false);
    expect(reasonOf(error).code).toBe("DeadlineExceeded");
  });
});

describe.each(engines())("WatchAccount across processes and the drain on %s", (engine) => {
  let t: TestApp;
  let other: App;
  let alice: TestUser;
  let teller: TestUser;

  beforeAll(async () => {
    t = await startTestApp(engine);
    // A second bankd process's worth of server on the same database (and key directory).
    const config = loadConfig({ ...FAST_ARGON2, BANK_HOST: "127.0.0.1", BANK_PORT: "0", BANK_DATA_DIR: t.db.dataDir, BANK_DATABASE_URL: t.db.url, BANK_LOG_LEVEL: "silent" });
    other = await startApp(config, { logger: createLogger("silent") });
    alice = await createTestUser(t);
    teller = await createTestUser(t, [Role.TELLER]);
  });
  afterAll(async () => {
    await other.shutdown();
    await t.stop();
  });

  test("a posting committed by another process reaches a watcher on this one", async () => {
    const a = (await client(t.baseUrl, AccountService, { token: alice.token }).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "x" })).account!;
    const stream = (signal: AbortSignal) => client(t.baseUrl, AccountService, { token: alice.token }).watchAccount({ accountId: a.id }, { timeoutMs: 30_000, signal });
    const reading = collect(stream, (g) => amountsOf(g).length >= 3);
    await client(t.baseUrl, AccountService, { token: alice.token }).getAccount({ accountId: a.id });
    const elsewhere = client(other.server.url, TransactionService, { token: teller.token });
    for (const n of [7, 8, 9]) await elsewhere.deposit({ requestId: rid(), accountId: a.id, amount: money(n), description: "" });
    const read = await reading;
    expect([amountsOf(read.got), read.error]).toEqual([[7, 8, 9], undefined]);
  }, 60_000);

  test("the drain ends every stream at once with UNAVAILABLE SERVER_DRAINING, without holding the drain", async () => {
    const accountsApi = client(other.server.url, AccountService, { token: alice.token });
    const a = (await accountsApi.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "y" })).account!;
    const moneyApi = client(other.server.url, TransactionService, { token: teller.token });
    for (const n of [1, 2]) await moneyApi.deposit({ requestId: rid(), accountId: a.id, amount: money(n), description: "" });
    const first = (await client(other.server.url, TransactionService, { token: alice.token }).listTransactions({ accountId: a.id })).entries.find((e) => e.amount!.minorUnits === 1n)!;
    const stream = accountsApi.watchAccount({ accountId: a.id, startAfter: first.cursor }, { timeoutMs: 60_000 })[Symbol.asyncIterator]();
    // The stream is open and serving (a heartbeat, then the second deposit); then the drain begins.
    expect((await stream.next()).value?.entry).toBeUndefined();
    expect(Number((await stream.next()).value?.entry?.amount?.minorUnits)).toBe(2);
    const started = Date.now();
    await other.shutdown();
    const ended = await stream.next().then(() => undefined, (err: unknown) => err);
    expect(reasonOf(ended)).toEqual({ code: "Unavailable", reason: "SERVER_DRAINING" });
    // Had the stream held the drain, shutdown would have waited out limits.shutdownDrainMs.
    expect(Date.now() - started).toBeLessThan(limits.shutdownDrainMs);
  }, 60_000);
});

describe.each(engines())("the watch hub on %s", (engine) => {
  test("a reader that stops reading is cut off with WATCH_TOO_SLOW and resumes from its cursor without loss; heartbeats when idle", async () => {
    const f = await openLedger(engine);
    const watchers = new AccountWatchers(f.ledger, undefined, { bufferMax: 4, stallMs: 300, heartbeatMs: 200 });
    try {
      const teller = await addUser(f.db, [Role.TELLER]);
      const a = await createAccount(f.ledger, teller, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: teller.userId });
      const signal = new AbortController().signal;
      // Idle: heartbeats come, without an entry.
      const idle = watchers.watch(teller, { accountId: a.id, startAfter: "" }, signal);
      const beat = await idle.next();
      expect(beat.value).toMatchObject({ heartbeat: true });
      await idle.return(undefined);
      // Stops reading after the first entry; 20 more are posted; it is cut off.
      const slow = watchers.watch(teller, { accountId: a.id, startAfter: "" }, signal);
      expect((await slow.next()).value).toMatchObject({ heartbeat: true });
      const firstRead = slow.next();
      await deposit(f.ledger, teller, { requestId: rid(), accountId: a.id, amount: usd(1), description: "" });
      const first = (await firstRead).value as Extract<WatchEvent, { line: unknown }>;
      expect(first.line.amount).toBe(1n);
      for (let n = 2; n <= 21; n++) await deposit(f.ledger, teller, { requestId: rid(), accountId: a.id, amount: usd(n), description: "" });
      // Wait for the stall to be noticed (a wake-up after stallMs), then read what is left.
      const seen: bigint[] = [];
      let lastCursor = first.cursor;
      let cutOff: unknown;
      await waitUntil("the hub cut the stalled reader off", () => watchers.slowReadersCutOff === 1);
      try {
        for (;;) {
          const next = await slow.next();
          if (next.done) break;
          if ("line" in next.value) {
            seen.push(next.value.line.amount);
            lastCursor = next.value.cursor;
          }
        }
      } catch (err) {
        cutOff = err;
      }
      expect(reasonOf(cutOff)).toEqual({ code: "ResourceExhausted", reason: "WATCH_TOO_SLOW" });
      expect(seen.length).toBeLessThanOrEqual(4);
      // It resumes from its last cursor and loses nothing.
      const last = seen.length > 0 ? seen[seen.length - 1]! : first.line.amount;
      const statement = await f.db.read((tx) => tx.one<{ n: number | string }>(`SELECT COUNT(*) AS n FROM entries WHERE account_id = ?`, [a.id]));
      expect(Number(statement!.n)).toBe(21);
      const resumed = watchers.watch(teller, { accountId: a.id, startAfter: lastCursor }, signal);
      const rest: bigint[] = [];
      while (rest.length < 21 - Number(last)) {
        const next = await resumed.next();
        if (!next.done && "line" in next.value) rest.push(next.value.line.amount);
      }
      await resumed.return(undefined);
      expect(rest).toEqual(Array.from({ length: 21 - Number(last) }, (_, i) => BigInt(Number(last) + 1 + i)));
    } finally {
      await watchers.stop();
      await f.close();
    }
  }, 60_000);
});
