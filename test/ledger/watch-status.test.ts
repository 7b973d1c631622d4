// Goal (issue 28): WatchAccount pushes status changes live, on SQLite and PostgreSQL, through real
// servers and real clients. Every open stream of an account (its owner's over Connect on one
// process, a teller's over gRPC on another process on the same database) gets the account after a
// FreezeAccount, an UnfreezeAccount and a CloseAccount, whichever process made the change, in
// order with the entries, and only once the change is committed (a read by another client at that
// moment already sees it); after the close the stream ends with OK. The hostile side: refused
// changes (a customer freezing, an empty reason, closing a frozen account) and no-ops send nothing;
// a customer cannot watch someone else's account and their own stream never carries another
// account; a stream that resumes with a cursor from before a freeze learns of it in its first
// message. On the hub itself: a status written and announced (NOTIFY, local wake-up) by a
// transaction that then rolls back never reaches a watcher; an entry posted after an unfreeze never
// comes before the news of it, even when the unfreeze's own wake-up is late.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService, type WatchAccountResponse } from "../../gen/bank/v1/account_service_pb";
import { AccountStatus, AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { loadConfig } from "../../src/config";
import { startApp, type App } from "../../src/app";
import { createLogger } from "../../src/logger";
import { createAccount, freezeAccount } from "../../src/ledger/accounts";
import { deposit } from "../../src/ledger/commands";
import { AccountWatchers, type WatchEvent } from "../../src/ledger/watch";
import { engines } from "../support/db";
import { FAST_ARGON2, client, startTestApp, type Protocol, type TestApp } from "../support/app";
import { createTestUser, type TestUser } from "../support/users";
import { addUser, openLedger, rid, usd } from "./support";

const money = (n: number) => ({ currency: "USD", minorUnits: BigInt(n) });
/** Long enough for SQLite's poll and a loaded machine; an event that never comes fails here. */
const EVENT_WAIT_MS = 15_000;

function reasonOf(err: unknown): { code: string; reason: string } {
  const e = ConnectError.from(err);
  return { code: Code[e.code], reason: e.findDetails(ErrorInfoSchema)[0]?.reason ?? "" };
}

/** One stream read in the background: what came, how it ended, and a way to wait for a message. */
class Stream {
  readonly got: WatchAccountResponse[] = [];
  ended: { error?: unknown } | undefined;
  private readonly cancel = new AbortController();
  private waiters: (() => void)[] = [];
  private readonly done: Promise<void>;

  constructor(open: (signal: AbortSignal) => AsyncIterable<WatchAccountResponse>) {
    this.done = (async () => {
      try {
        for await (const res of open(this.cancel.signal)) {
          this.got.push(res);
          this.wakeAll();
        }
        this.ended = {};
      } catch (error) {
        this.ended = { error };
      }
      this.wakeAll();
    })();
  }

  /** Waits (bounded) until `check` holds of what came; fails with what came otherwise. */
  async until(check: (got: WatchAccountResponse[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + EVENT_WAIT_MS;
    while (!check(this.got)) {
      if (this.ended) throw new Error(`the stream ended (${String(this.ended.error)}) before ${what}: ${JSON.stringify(this.summary())}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`waited too long for ${what}: ${JSON.stringify(this.summary())}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** Entries as their amount, account messages as their status, heartbeats left out. */
  summary(): (number | string)[] {
    return this.got.flatMap((m): (number | string)[] => (m.entry ? [Number(m.entry.amount!.minorUnits)] : m.account ? [AccountStatus[m.account.status]] : []));
  }

  async close(): Promise<void> {
    this.cancel.abort(new ConnectError("enough", Code.Canceled));
    await this.done;
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

const statuses = (got: WatchAccountResponse[]) => got.filter((m) => m.account).map((m) => AccountStatus[m.account!.status]);

describe.each(engines())("WatchAccount reports status changes on %s", (engine) => {
  let t: TestApp;
  let other: App;
  let alice: TestUser;
  let bob: TestUser;
  let teller: TestUser;

  beforeAll(async () => {
    t = await startTestApp(engine);
    // A second bankd process's worth of server on the same database (and key directory).
    const config = loadConfig({ ...FAST_ARGON2, BANK_HOST: "127.0.0.1", BANK_PORT: "0", BANK_DATA_DIR: t.db.dataDir, BANK_DATABASE_URL: t.db.url, BANK_LOG_LEVEL: "silent" });
    other = await startApp(config, { logger: createLogger("silent") });
    alice = await createTestUser(t, [Role.CUSTOMER]);
    bob = await createTestUser(t, [Role.CUSTOMER]);
    teller = await createTestUser(t, [Role.TELLER]);
  }, 60_000);
  afterAll(async () => {
    await other.shutdown();
    await t.stop();
  });

  const accounts = (u: TestUser, baseUrl = t.baseUrl, protocol: Protocol = "connect") => client(baseUrl, AccountService, { token: u.token, protocol });
  const moneyApi = (u: TestUser, baseUrl = t.baseUrl) => client(baseUrl, TransactionService, { token: u.token });
  const watch = (u: TestUser, accountId: string, opts: { baseUrl?: string; protocol?: Protocol; startAfter?: string } = {}) =>
    new Stream((signal) => accounts(u, opts.baseUrl, opts.protocol).watchAccount({ accountId, startAfter: opts.startAfter ?? "" }, { timeoutMs: 120_000, signal }));

  test("every open stream of the account gets it after a freeze, an unfreeze and a close (by any process), after commit and in order; refusals send nothing; a close ends the stream", async () => {
    const a = (await accounts(alice).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "watched" })).account!;
    const b = (await accounts(bob).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "bystander" })).account!;
    await moneyApi(teller).deposit({ requestId: rid(), accountId: a.id, amount: money(5), description: "" });
    const beforeFreeze = (await moneyApi(alice).listTransactions({ accountId: a.id })).entries[0]!.cursor;

    // A customer cannot watch another's account at all.
    const foreign = watch(bob, a.id);
    await foreign.until(() => false, "a refusal").catch(() => undefined);
    expect([foreign.got.length, reasonOf(foreign.ended?.error)]).toEqual([0, { code: "NotFound", reason: "ACCOUNT_NOT_FOUND" }]);

    const owner = watch(alice, a.id);
    const staff = watch(teller, a.id, { baseUrl: other.server.url, protocol: "grpc" });
    const bystander = watch(bob, b.id);
    try {
      // The first message of each carries the account as the stream opens.
      for (const s of [owner, staff]) await s.until((got) => got.length > 0, "the first message");
      await bystander.until((got) => got.length > 0, "the first message");
      for (const s of [owner, staff]) expect([s.got[0]!.account?.id, s.got[0]!.account?.status, s.got[0]!.entry]).toEqual([a.id, AccountStatus.ACTIVE, undefined]);
      expect(bystander.got[0]!.account?.id).toBe(b.id);

      // A deposit and at once a freeze by a teller through the OTHER process: both streams hear of
      // them, in commit order.
      await moneyApi(teller).deposit({ requestId: rid(), accountId: a.id, amount: money(2), description: "" });
      const frozen = (await accounts(teller, other.server.url).freezeAccount({ accountId: a.id, reason: "fraud check" })).account!;
      for (const s of [owner, staff]) await s.until((got) => statuses(got).includes("FROZEN"), "the freeze");
      // Sent after commit: another client's read at this moment already sees it.
      expect((await accounts(alice).getAccount({ accountId: a.id })).account!.status).toBe(AccountStatus.FROZEN);
      for (const s of [owner, staff]) {
        const event = s.got.find((m) => m.account?.status === AccountStatus.FROZEN)!;
        const lastEntry = s.got.filter((m) => m.entry).pop()!;
        expect([event.account!.etag, event.entry, event.cursor]).toEqual([frozen.etag, undefined, lastEntry.cursor]);
      }

      // Refusals and a no-op change nothing and announce nothing.
      const refusals = await Promise.all([
        accounts(alice).freezeAccount({ accountId: a.id, reason: "me" }).catch(reasonOf),
        accounts(teller).freezeAccount({ accountId: a.id, reason: "" }).catch(reasonOf),
        accounts(alice).closeAccount({ accountId: a.id }).catch(reasonOf),
        moneyApi(teller).deposit({ requestId: rid(), accountId: a.id, amount: money(1), description: "" }).catch(reasonOf),
      ]);
      expect(refusals.map((r) => ("code" in r ? r.code : "ok"))).toEqual(["PermissionDenied", "InvalidArgument", "FailedPrecondition", "FailedPrecondition"]);
      expect((await accounts(teller).freezeAccount({ accountId: a.id, reason: "again" })).account!.etag).toBe(frozen.etag);

      // Unfrozen on this process and at once the money goes out; once that is seen, the owner
      // closes it on the other. (Without the wait, the unfreeze might reach a stream only as the
      // close that followed it: states, not history, as documented.)
      await accounts(teller).unfreezeAccount({ accountId: a.id, reason: "cleared" });
      await moneyApi(teller).withdraw({ requestId: rid(), accountId: a.id, amount: money(7), description: "" });
      for (const s of [owner, staff]) await s.until((got) => got.some((m) => m.entry?.amount?.minorUnits === -7n), "the withdrawal");
      await accounts(alice, other.server.url).closeAccount({ accountId: a.id });
      for (const s of [owner, staff]) {
        await s.until(() => s.ended !== undefined, "the end of the stream");
        // Nothing between the freeze and the unfreeze; the entries in their places; the close last.
        expect(s.summary()).toEqual(["ACTIVE", 2, "FROZEN", "ACTIVE", -7, "CLOSED"]);
        expect(s.ended).toEqual({});
      }

      // A stream resuming from before the freeze learns the state first, then gets the entries it
      // missed, and ends: the account is closed.
      const resumed = watch(alice, a.id, { startAfter: beforeFreeze });
      await resumed.until(() => resumed.ended !== undefined, "the end of the resumed stream");
      expect([resumed.summary(), resumed.ended]).toEqual([["CLOSED", 2, -7], {}]);

      // The bystander's stream never carried anything of the other account.
      expect(bystander.got.every((m) => m.account === undefined || m.account.id === b.id)).toBe(true);
      expect(bystander.got.filter((m) => m.account).length).toBe(1);
    } finally {
      await Promise.all([owner, staff, bystander, foreign].map((s) => s.close()));
    }
  }, 90_000);
});

describe.each(engines())("the watch hub and status changes on %s", (engine) => {
  test("a status written and announced by a transaction that rolls back never reaches a watcher; the committed one does", async () => {
    const f = await openLedger(engine);
    const watchers = new AccountWatchers(f.ledger);
    const signal = new AbortController().signal;
    try {
      const teller = await addUser(f.db, [Role.TELLER]);
      const a = await createAccount(f.ledger, teller, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: teller.userId });
      const stream = watchers.watch(teller, { accountId: a.id, startAfter: "" }, signal);
      const first = (await stream.next()).value as Extract<WatchEvent, { heartbeat: true }>;
      expect(first.account?.status).toBe("ACTIVE");
      // The status is written and every wake-up is sent (NOTIFY, the local one), then it rolls back.
      const rolledBack = f.db.transaction(async (tx) => {
        await tx.run(`UPDATE accounts SET status = 'FROZEN' WHERE id = ?`, [a.id]);
        if (tx.engine.notifyStatusSql) await tx.all(tx.engine.notifyStatusSql);
        f.ledger.statusCommitted(a.id);
        throw new Error("rolled back on purpose");
      }, { retry: false });
      await expect(rolledBack).rejects.toThrow("rolled back on purpose");
      // A committed entry after it: the next thing the stream sends, with no status before it.
      await deposit(f.ledger, teller, { requestId: rid(), accountId: a.id, amount: usd(3), description: "" });
      const next = async (): Promise<WatchEvent> => {
        for (;;) {
          const r = await stream.next();
          if (r.done) throw new Error("the stream ended");
          if (!("heartbeat" in r.value)) return r.value;
        }
      };
      const afterRollback = await next();
      expect("line" in afterRollback && afterRollback.line.amount).toBe(3n);
      // The real freeze comes through.
      await freezeAccount(f.ledger, teller, { accountId: a.id, reason: "real" });
      const event = await next();
      expect("account" in event && event.account?.status).toBe("FROZEN");
      await stream.return(undefined);
    } finally {
      await watchers.stop();
      await f.close();
    }
  }, 60_000);

  test("an entry that follows an unfreeze never comes before the news of it, even when the unfreeze's own wake-up is late", async () => {
    const f = await openLedger(engine);
    const watchers = new AccountWatchers(f.ledger);
    const signal = new AbortController().signal;
    try {
      const teller = await addUser(f.db, [Role.TELLER]);
      const a = await createAccount(f.ledger, teller, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: teller.userId });
      await freezeAccount(f.ledger, teller, { accountId: a.id, reason: "check" });
      const stream = watchers.watch(teller, { accountId: a.id, startAfter: "" }, signal);
      expect(((await stream.next()).value as Extract<WatchEvent, { heartbeat: true }>).account?.status).toBe("FROZEN");
      // Unfrozen behind the hub's back (no wake-up says so: as when another process's NOTIFY is
      // still on its way), then a deposit, whose wake-up comes at once.
      await f.db.transaction((tx) => tx.run(`UPDATE accounts SET status = 'ACTIVE', version = version + 1 WHERE id = ?`, [a.id]));
      await deposit(f.ledger, teller, { requestId: rid(), accountId: a.id, amount: usd(4), description: "" });
      const seen: string[] = [];
      while (seen.length < 2) {
        const r = await stream.next();
        if (r.done) throw new Error("the stream ended");
        if ("line" in r.value) seen.push(`entry ${r.value.line.amount}`);
        else if (!("heartbeat" in r.value)) seen.push(r.value.account.status);
      }
      expect(seen).toEqual(["ACTIVE", "entry 4"]);
      await stream.return(undefined);
    } finally {
      await watchers.stop();
      await f.close();
    }
  }, 60_000);
});
