// Goal: daily limits and sharded settlement (security V1, docs/api.md Additions) on SQLite and
// PostgreSQL, through a real server: every deposit, withdrawal and outgoing transfer counts
// against its account's daily limit in the posting's own unit of work (concurrent requests cannot
// overshoot), whoever initiates it; a request past a limit is FAILED_PRECONDITION
// DAILY_LIMIT_EXCEEDED with limit, used and resets_at, and moves nothing; usage starts again at
// 00:00 UTC; an admin sets an account's limit, "no limit" or back to the default (audited), and
// Account.limits shows the effective limits and today's usage. The V1 attack (one customer
// deposits 10^15 at a time until the one settlement row is full) ends at the first deposit, and
// no single settlement row is shared by every account.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType, DailyLimitSource } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { limits } from "../../src/limits";
import { deposit } from "../../src/ledger/commands";
import { engines } from "../support/db";
import { client, type TestApp } from "../support/app";
import { startAppWithUsers, type TestUser } from "../support/users";
import { addUser, balanceSums, domainError, openLedger, rid, usd as usdOf, writeCounts } from "./support";
import { createAccount } from "../../src/ledger/accounts";
import { usd } from "../support/money";
const DEPOSIT = limits.dailyDepositMinorDefault;

async function failure(promise: Promise<unknown>) {
  const e = ConnectError.from(await promise.then(() => new Error("expected a failure"), (err: unknown) => err));
  const info = e.findDetails(ErrorInfoSchema)[0];
  return { code: Code[e.code], reason: info?.reason ?? "", metadata: { ...(info?.metadata ?? {}) } };
}

describe.each(engines())("daily limits over a real server on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let teller: TestUser;
  let admin: TestUser;
  const accounts = (u: TestUser) => client(t.baseUrl, AccountService, { token: u.token });
  const money = (u: TestUser) => client(t.baseUrl, TransactionService, { token: u.token });
  const open = async (u: TestUser) => (await accounts(u).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "l" })).account!;

  beforeAll(async () => ({ t, alice, teller, admin } = await startAppWithUsers(engine, { alice: [Role.CUSTOMER], teller: [Role.TELLER], admin: [Role.ADMIN] })));
  afterAll(async () => t.stop());

  test("past the default deposit limit: DAILY_LIMIT_EXCEEDED with limit, used and resets_at; nothing moves; the V1 attack stops at once", async () => {
    const a = await open(alice);
    // V1: deposits of 10^15 used to exhaust the one settlement row in ~4,000 calls. Now the first is refused.
    const attack = await failure(money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(10n ** 15n), description: "" }));
    expect([attack.code, attack.reason]).toEqual(["FailedPrecondition", "DAILY_LIMIT_EXCEEDED"]);
    await money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(DEPOSIT - 100n), description: "" });
    const before = await writeCounts(t.app.db);
    const past = await failure(money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(101), description: "" }));
    expect(past.reason).toBe("DAILY_LIMIT_EXCEEDED");
    const tomorrow = new Date((Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000).toISOString();
    expect(past.metadata).toMatchObject({ limit: String(DEPOSIT), used: String(DEPOSIT - 100n), resets_at: tomorrow, direction: "deposit" });
    const after = await writeCounts(t.app.db);
    expect([after.transactions, after.entries]).toEqual([before.transactions, before.entries]);
    // Exactly up to the limit is fine; staff deposits count too (no way around it by asking a teller).
    await money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(100), description: "" });
    expect((await failure(money(teller).deposit({ requestId: rid(), accountId: a.id, amount: usd(1), description: "" }))).reason).toBe("DAILY_LIMIT_EXCEEDED");
    const shown = (await accounts(alice).getAccount({ accountId: a.id })).account!.limits!;
    expect(shown.deposit).toMatchObject({ limit: { minorUnits: DEPOSIT }, unlimited: false, used: { minorUnits: DEPOSIT }, source: DailyLimitSource.DEFAULT });
    expect(shown.withdrawal!.used!.minorUnits).toBe(0n);
    expect(shown.resetTime!.seconds).toBe(BigInt(Date.parse(tomorrow) / 1000));
  });

  test("concurrent requests cannot overshoot a limit: of 20 deposits of a tenth, exactly 10 post", async () => {
    const a = await open(alice);
    const tenth = DEPOSIT / 10n;
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(tenth), description: "" }).then(() => "ok", () => "refused")));
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(10);
    expect((await accounts(alice).getBalance({ accountId: a.id })).ledgerBalance!.minorUnits).toBe(DEPOSIT);
  });

  test("withdrawals and outgoing transfers (single and batched) count against their own limits", async () => {
    const a = await open(alice);
    const b = await open(alice);
    await accounts(admin).setAccountLimits({ accountId: a.id, reason: "test", deposit: { setting: { case: "unlimited", value: true } }, withdrawal: { setting: { case: "limit", value: usd(300) } }, transferOut: { setting: { case: "limit", value: usd(500) } }, updateMask: { paths: ["*"] } });
    await money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(DEPOSIT * 3n), description: "" });
    await money(alice).withdraw({ requestId: rid(), accountId: a.id, amount: usd(300), description: "" });
    expect((await failure(money(alice).withdraw({ requestId: rid(), accountId: a.id, amount: usd(1), description: "" }))).reason).toBe("DAILY_LIMIT_EXCEEDED");
    await money(alice).transfer({ requestId: rid(), fromAccountId: a.id, target: { case: "toAccountId", value: b.id }, amount: usd(400), description: "" });
    const batch = await money(alice).batchTransfer({ requestId: rid(), transfers: [150, 100, 1].map((n) => ({ requestId: rid(), fromAccountId: a.id, target: { case: "toAccountId", value: b.id }, amount: usd(n), description: "" })) });
    expect(batch.results.map((r) => (r.result.case === "error" ? r.result.value.errorInfo!.reason : "ok"))).toEqual(["DAILY_LIMIT_EXCEEDED", "ok", "DAILY_LIMIT_EXCEEDED"]);
  });

  test("SetAccountLimits: admin only, audited; an amount, no limit, or back to the default; bad input writes nothing", async () => {
    const a = await open(alice);
    expect((await failure(accounts(teller).setAccountLimits({ accountId: a.id, reason: "x" }))).code).toBe("PermissionDenied");
    const set = (await accounts(admin).setAccountLimits({ accountId: a.id, reason: "VIP", deposit: { setting: { case: "limit", value: usd(5) } }, transferOut: { setting: { case: "unlimited", value: true } }, updateMask: { paths: ["*"] } })).account!;
    expect(set.limits!.deposit).toMatchObject({ limit: { minorUnits: 5n }, source: DailyLimitSource.ACCOUNT, unlimited: false });
    expect(set.limits!.transferOut).toMatchObject({ source: DailyLimitSource.ACCOUNT, unlimited: true });
    expect(set.limits!.transferOut!.limit).toBeUndefined();
    expect(set.limits!.withdrawal).toMatchObject({ source: DailyLimitSource.DEFAULT });
    expect((await failure(money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(6), description: "" }))).reason).toBe("DAILY_LIMIT_EXCEEDED");
    const back = (await accounts(admin).setAccountLimits({ accountId: a.id, reason: "normal again", updateMask: { paths: ["*"] } })).account!;
    expect(back.limits!.deposit).toMatchObject({ limit: { minorUnits: DEPOSIT }, source: DailyLimitSource.DEFAULT });
    const events = await t.app.db.read((tx) => tx.all<{ details: string; outcome: string }>(`SELECT details, outcome FROM audit_events WHERE action = 'account.set_limits' AND target_id = ? ORDER BY event_time, id`, [a.id]));
    expect(events.map((e) => [e.outcome, JSON.parse(e.details).deposit])).toEqual([["SUCCESS", "5"], ["SUCCESS", "default"]]);
    const before = await writeCounts(t.app.db);
    const bad = [
      [{ accountId: a.id, reason: "", updateMask: { paths: ["*"] } }, "InvalidArgument", "FIELD_REQUIRED"],
      [{ accountId: a.id, reason: "x", deposit: { setting: { case: "limit", value: usd(-1) } }, updateMask: { paths: ["deposit"] } }, "InvalidArgument", "LIMIT_INVALID"],
      [{ accountId: a.id, reason: "x", deposit: { setting: { case: "unlimited", value: false } }, updateMask: { paths: ["deposit"] } }, "InvalidArgument", "LIMIT_INVALID"],
      [{ accountId: a.id, reason: "x", deposit: { setting: { case: "limit", value: { currency: "EUR", minorUnits: 5n } } }, updateMask: { paths: ["deposit"] } }, "FailedPrecondition", "CURRENCY_MISMATCH"],
      [{ accountId: "01890000-0000-7000-8000-000000000000", reason: "x", updateMask: { paths: ["*"] } }, "NotFound", "ACCOUNT_NOT_FOUND"],
    ] as const;
    for (const [request, code, reason] of bad) {
      const f = await failure(accounts(admin).setAccountLimits(request as never));
      expect([f.code, f.reason]).toEqual([code, reason]);
    }
    const after = await writeCounts(t.app.db);
    expect({ ...after, audit_events: 0 }).toEqual({ ...before, audit_events: 0 });
  });
});

describe.each(engines())("daily usage and settlement shards in the ledger on %s", (engine) => {
  test("usage starts again at 00:00 UTC; no settlement row is shared by every account", async () => {
    const f = await openLedger(engine);
    try {
      const teller = await addUser(f.db, [Role.TELLER]);
      const a = await createAccount(f.ledger, teller, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: teller.userId });
      f.clock.frozen = true;
      const midnight = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000;
      f.clock.nowMs = midnight - 1_000;
      await deposit(f.ledger, teller, { requestId: rid(), accountId: a.id, amount: usdOf(DEPOSIT), description: "" });
      expect((await domainError(deposit(f.ledger, teller, { requestId: rid(), accountId: a.id, amount: usdOf(1), description: "" }))).reason).toBe("DAILY_LIMIT_EXCEEDED");
      f.clock.nowMs = midnight;
      await deposit(f.ledger, teller, { requestId: rid(), accountId: a.id, amount: usdOf(DEPOSIT), description: "" });
      f.clock.frozen = false;
      // 40 accounts' deposits spread over many settlement shards, and conservation holds exactly.
      const used = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const acc = await createAccount(f.ledger, teller, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: teller.userId });
        await deposit(f.ledger, teller, { requestId: rid(), accountId: acc.id, amount: usdOf(1), description: "" });
        used.add(f.ledger.settlementId("USD", acc.id));
      }
      expect(used.size).toBeGreaterThan(30);
      for (const total of (await balanceSums(f.db)).values()) expect(total).toBe(0n);
    } finally {
      await f.close();
    }
  });
});
