// Goal: through a real bankd (SQLite and PostgreSQL) over Connect and gRPC, a customer opens
// accounts, funds them, pays another customer by account number and reads a statement whose
// balances add up; every bad input is refused with the right code and ErrorInfo reason and
// writes nothing; ownership hides other people's accounts; staff roles and idempotent replays
// behave as the contract says; held money expires through the module's sweeper.
import * as http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountStatus, AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { TransactionStatus, TransactionType } from "../../gen/bank/v1/transaction_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { createAuthModule, type AuthModule } from "../../src/modules";
import type { AuditAggregator } from "../../src/audit/aggregate";
import { productModules } from "../../src/modules";
import { createLedgerModule } from "../../src/modules";
import { engines } from "../support/db";
import { client, startTestApp, type Protocol, type TestApp } from "../support/app";
import { createTestUser, type TestUser } from "../support/users";
import { balanceSums, rid, writeCounts } from "./support";
import { auditRows } from "../auth/support";
import { usd } from "../support/money";
import { eventually } from "../support/wait";

/** The Connect code and ErrorInfo reason of a failed call. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; reason: string; metadata: Record<string, string> }> {
  try {
    await promise;
  } catch (err) {
    const e = ConnectError.from(err);
    const info = e.findDetails(ErrorInfoSchema)[0];
    return { code: Code[e.code], reason: info?.reason ?? "", metadata: { ...(info?.metadata ?? {}) } };
  }
  throw new Error("expected the call to fail");
}

describe.each(engines())("ledger over a real server on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let teller: TestUser;
  let auditor: TestUser;
  let admin: TestUser;
  // One client (and so one connection) per user and protocol, as a real caller would keep.
  const clients = new Map<string, unknown>();
  const cached = <T>(key: string, make: () => T): T => (clients.has(key) ? clients.get(key) : clients.set(key, make()).get(key)) as T;
  const accounts = (u: TestUser, protocol: Protocol = "connect") => cached(`a:${u.id}:${protocol}`, () => client(t.baseUrl, AccountService, { protocol, token: u.token }));
  const money = (u: TestUser, protocol: Protocol = "connect") => cached(`m:${u.id}:${protocol}`, () => client(t.baseUrl, TransactionService, { protocol, token: u.token }));
  const openAccount = async (u: TestUser, currency = "USD") =>
    (await accounts(u).createAccount({ requestId: rid(), currency, type: AccountType.CHECKING, displayName: "Main" })).account!;

  let refusals: AuditAggregator;

  beforeAll(async () => {
    // The product's modules, keeping the auth module's refusal aggregator to flush it.
    t = await startTestApp(engine, {}, {
      modules: async (ctx) => {
        const modules = await productModules(ctx);
        refusals = (modules[0] as AuthModule).refusals;
        return modules;
      },
    });
    // One at a time: sign-ins share a small argon2 queue with everything else on the machine.
    alice = await createTestUser(t);
    bob = await createTestUser(t);
    teller = await createTestUser(t, [Role.TELLER]);
    auditor = await createTestUser(t, [Role.AUDITOR]);
    admin = await createTestUser(t, [Role.ADMIN]);
  });
  afterAll(async () => t.stop());

  test.each(["connect", "grpc"] as const)("a customer opens, funds, pays by number and reads a statement (%s)", async (protocol) => {
    const mine = (await accounts(alice, protocol).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "Main" })).account!;
    expect(mine).toMatchObject({ ownerId: alice.id, currency: "USD", status: AccountStatus.ACTIVE, type: AccountType.CHECKING });
    expect(mine.number).toMatch(/^\d{4} \d{4} \d{4} \d{2}$/);
    expect(mine.ledgerBalance).toMatchObject({ currency: "USD", minorUnits: 0n });
    const theirs = await openAccount(bob);
    const dep = (await money(alice, protocol).deposit({ requestId: rid(), accountId: mine.id, amount: usd(10_000), description: "salary" })).transaction!;
    expect(dep).toMatchObject({ type: TransactionType.DEPOSIT, status: TransactionStatus.POSTED, toAccountId: mine.id, fromAccountId: "" });
    const pay = (await money(alice, protocol).transfer({ requestId: rid(), fromAccountId: mine.id, target: { case: "toAccountNumber", value: theirs.number }, amount: usd(2_550), description: "rent" })).transaction!;
    expect(pay).toMatchObject({ type: TransactionType.TRANSFER, fromAccountId: mine.id, toAccountId: theirs.id, amount: { currency: "USD", minorUnits: 2_550n } });
    await money(alice, protocol).withdraw({ requestId: rid(), accountId: mine.id, amount: usd(450), description: "cash" });
    const statement = await money(alice, protocol).listTransactions({ accountId: mine.id });
    expect(statement.entries.map((e) => [e.transaction!.type, e.amount!.minorUnits, e.balanceAfter!.minorUnits])).toEqual([
      [TransactionType.WITHDRAWAL, -450n, 7_000n],
      [TransactionType.TRANSFER, -2_550n, 7_450n],
      [TransactionType.DEPOSIT, 10_000n, 10_000n],
    ]);
    const balance = await accounts(alice, protocol).getBalance({ accountId: mine.id });
    expect([balance.ledgerBalance!.minorUnits, balance.availableBalance!.minorUnits, balance.held!.minorUnits]).toEqual([7_000n, 7_000n, 0n]);
    const received = await money(bob, protocol).listTransactions({ accountId: theirs.id });
    expect(received.entries.map((e) => e.amount!.minorUnits)).toEqual([2_550n]);
    expect((await money(bob, protocol).getTransaction({ transactionId: pay.id })).transaction!.id).toBe(pay.id);
    for (const total of (await balanceSums(t.app.db)).values()) expect(total).toBe(0n);
  });

  test("bad inputs: a clear code and reason each, and nothing written", async () => {
    const a = await openAccount(alice);
    const e = await openAccount(bob, "EUR");
    await money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(100), description: "" });
    const before = await writeCounts(t.app.db);
    const m = money(alice);
    const cases: [() => Promise<unknown>, string, string][] = [
      [() => m.deposit({ requestId: rid(), accountId: a.id, amount: usd(0) }), "InvalidArgument", "AMOUNT_NOT_POSITIVE"],
      [() => m.deposit({ requestId: rid(), accountId: a.id, amount: usd(-1) }), "InvalidArgument", "AMOUNT_NOT_POSITIVE"],
      [() => m.deposit({ requestId: rid(), accountId: a.id, amount: usd(10n ** 15n + 1n) }), "InvalidArgument", "AMOUNT_TOO_LARGE"],
      [() => m.deposit({ requestId: rid(), accountId: a.id }), "InvalidArgument", "AMOUNT_REQUIRED"],
      [() => m.deposit({ requestId: rid(), accountId: a.id, amount: { currency: "usd", minorUnits: 1n } }), "InvalidArgument", "CURRENCY_INVALID"],
      [() => m.deposit({ requestId: rid(), accountId: a.id, amount: { currency: "ABC", minorUnits: 1n } }), "InvalidArgument", "CURRENCY_UNSUPPORTED"],
      [() => m.deposit({ requestId: rid(), accountId: "42", amount: usd(1) }), "InvalidArgument", "ID_INVALID"],
      [() => m.deposit({ accountId: a.id, amount: usd(1) }), "InvalidArgument", "REQUEST_ID_REQUIRED"],
      [() => m.transfer({ requestId: rid(), fromAccountId: a.id, target: { case: "toAccountId", value: a.id }, amount: usd(1) }), "FailedPrecondition", "SAME_ACCOUNT"],
      [() => m.transfer({ requestId: rid(), fromAccountId: a.id, amount: usd(1) }), "InvalidArgument", "TARGET_REQUIRED"],
      [() => m.transfer({ requestId: rid(), fromAccountId: a.id, target: { case: "toAccountNumber", value: "0000 0000 0000 00" }, amount: usd(1) }), "InvalidArgument", "ACCOUNT_NUMBER_INVALID"],
      [() => m.listTransactions({ accountId: a.id, pageSize: 501 }), "InvalidArgument", "INVALID_PAGE_SIZE"],
    ];
    for (const [call, code, reason] of cases) {
      const f = await failure(call());
      expect([f.code, f.reason]).toEqual([code, reason]);
    }
    expect(await writeCounts(t.app.db)).toEqual(before);
    // State-dependent refusals write no money either (only the recorded refusal).
    const mismatch = await failure(m.transfer({ requestId: rid(), fromAccountId: a.id, target: { case: "toAccountId", value: e.id }, amount: usd(1) }));
    // Bob's EUR account: Alice is not told its currency, only that it cannot take the payment.
    expect([mismatch.code, mismatch.reason, mismatch.metadata]).toEqual(["FailedPrecondition", "PAYEE_UNAVAILABLE", { field: "target" }]);
    const broke = await failure(m.withdraw({ requestId: rid(), accountId: a.id, amount: usd(101) }));
    expect([broke.code, broke.reason]).toEqual(["FailedPrecondition", "INSUFFICIENT_FUNDS"]);
    const after = await writeCounts(t.app.db);
    expect([after.transactions, after.entries]).toEqual([before.transactions, before.entries]);
  });

  test("fractional, non-numeric and out-of-range JSON amounts are INVALID_ARGUMENT and write nothing", async () => {
    const a = await openAccount(alice);
    const before = await writeCounts(t.app.db);
    for (const minorUnits of ["1.5", 1.5, "abc", "1e3", "99999999999999999999", true]) {
      const res = await postJson(`${t.baseUrl}/bank.v1.TransactionService/Deposit`, alice.token, {
        requestId: rid(), accountId: a.id, amount: { currency: "USD", minorUnits },
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("invalid_argument");
      expect(res.body.details?.[0]?.type).toBe("bank.v1.ErrorInfo");
      expect(res.body.details?.[0]?.debug).toEqual({ reason: "MALFORMED_REQUEST", metadata: { field: "bank.v1.Money.minor_units" } });
    }
    const frozenState = await writeCounts(t.app.db);
    expect(frozenState).toEqual(before);
    // A well-formed JSON amount (int64 as a string) works.
    const ok = await postJson(`${t.baseUrl}/bank.v1.TransactionService/Deposit`, alice.token, { requestId: rid(), accountId: a.id, amount: { currency: "USD", minorUnits: "250" } });
    expect(ok.status).toBe(200);
    expect(ok.body.transaction.amount).toEqual({ currency: "USD", minorUnits: "250" });
  });

  test("ownership: other customers' accounts and transactions are NOT_FOUND (audited, aggregated: W8); any account can be paid", async () => {
    await refusals.flush();
    const probesBefore = (await auditRows(t, "access.not_found")).length;
    const a = await openAccount(alice);
    const b = await openAccount(bob);
    const dep = (await money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(500) })).transaction!;
    for (const call of [
      () => accounts(bob).getAccount({ accountId: a.id }),
      () => accounts(bob).getBalance({ accountId: a.id }),
      () => accounts(bob).closeAccount({ accountId: a.id }),
      () => money(bob).withdraw({ requestId: rid(), accountId: a.id, amount: usd(1) }),
      () => money(bob).transfer({ requestId: rid(), fromAccountId: a.id, target: { case: "toAccountId", value: b.id }, amount: usd(1) }),
      () => money(bob).getTransaction({ transactionId: dep.id }),
      () => money(bob).listTransactions({ accountId: a.id }),
    ]) {
      const f = await failure(call());
      expect(f.code).toBe("NotFound");
    }
    // The probes are audited: one event per caller, reason and window, with the count.
    await refusals.flush();
    const probes = (await auditRows(t, "access.not_found")).slice(probesBefore).map((r) => ({ actor: r.actor_id, outcome: r.outcome, ...(JSON.parse(r.details) as { reason: string; count: number }) }));
    expect(probes.map((p) => [p.actor, p.outcome, p.reason, p.count]).sort()).toEqual([
      [bob.id, "DENIED", "ACCOUNT_NOT_FOUND", 6],
      [bob.id, "DENIED", "TRANSACTION_NOT_FOUND", 1],
    ]);
    const listed = await accounts(bob).listAccounts({});
    expect(listed.accounts.every((acc) => acc.ownerId === bob.id)).toBe(true);
    await money(alice).transfer({ requestId: rid(), fromAccountId: a.id, target: { case: "toAccountId", value: b.id }, amount: usd(5) });
    expect((await accounts(bob).getBalance({ accountId: b.id })).ledgerBalance!.minorUnits).toBe(5n);
  });

  test("roles: the auditor reads but cannot move money; customers cannot hold, freeze or reverse", async () => {
    const a = await openAccount(alice);
    await money(teller).deposit({ requestId: rid(), accountId: a.id, amount: usd(1_000) });
    expect((await accounts(auditor).getAccount({ accountId: a.id })).account!.ledgerBalance!.minorUnits).toBe(1_000n);
    expect((await money(auditor).listTransactions({ accountId: a.id })).entries).toHaveLength(1);
    expect((await failure(money(auditor).deposit({ requestId: rid(), accountId: a.id, amount: usd(1) }))).code).toBe("PermissionDenied");
    expect((await failure(money(alice).createHold({ requestId: rid(), accountId: a.id, amount: usd(1) }))).code).toBe("PermissionDenied");
    expect((await failure(accounts(alice).freezeAccount({ accountId: a.id, reason: "x" }))).code).toBe("PermissionDenied");
    expect((await failure(money(teller).reverseTransaction({ requestId: rid(), transactionId: a.id, reason: "x" }))).code).toBe("PermissionDenied");
    const unauthenticated = await failure(client(t.baseUrl, AccountService).getAccount({ accountId: a.id }));
    expect(unauthenticated.code).toBe("Unauthenticated");
  });

  test("holds, captures, freezes and a forced reversal through the API", async () => {
    const a = await openAccount(alice);
    const b = await openAccount(bob);
    await money(teller).deposit({ requestId: rid(), accountId: a.id, amount: usd(1_000) });
    const hold = (await money(teller, "grpc").createHold({ requestId: rid(), accountId: a.id, amount: usd(800), description: "card" })).transaction!;
    expect(hold).toMatchObject({ type: TransactionType.HOLD, status: TransactionStatus.PENDING });
    expect(hold.expireTime).toBeDefined();
    const acc = (await accounts(alice).getAccount({ accountId: a.id })).account!;
    expect([acc.ledgerBalance!.minorUnits, acc.held!.minorUnits, acc.availableBalance!.minorUnits]).toEqual([1_000n, 800n, 200n]);
    const cap = (await money(teller, "grpc").captureHold({ requestId: rid(), holdId: hold.id, amount: usd(300), toAccountId: b.id })).transaction!;
    expect(cap).toMatchObject({ type: TransactionType.CAPTURE, holdId: hold.id, toAccountId: b.id });
    expect((await failure(money(teller).releaseHold({ requestId: rid(), holdId: hold.id }))).reason).toBe("HOLD_NOT_PENDING");
    await accounts(teller).freezeAccount({ accountId: b.id, reason: "review" });
    expect((await failure(money(bob).withdraw({ requestId: rid(), accountId: b.id, amount: usd(1) }))).reason).toBe("ACCOUNT_FROZEN");
    await accounts(teller).unfreezeAccount({ accountId: b.id, reason: "ok" });
    await money(bob).withdraw({ requestId: rid(), accountId: b.id, amount: usd(300) });
    const refused = await failure(money(admin).reverseTransaction({ requestId: rid(), transactionId: cap.id, reason: "chargeback" }));
    expect(refused.reason).toBe("INSUFFICIENT_FUNDS");
    const rev = (await money(admin).reverseTransaction({ requestId: rid(), transactionId: cap.id, reason: "chargeback", force: true })).transaction!;
    expect(rev).toMatchObject({ type: TransactionType.REVERSAL, reversesId: cap.id });
    expect((await money(admin).getTransaction({ transactionId: cap.id })).transaction!.status).toBe(TransactionStatus.REVERSED);
    expect((await accounts(admin).getBalance({ accountId: b.id })).ledgerBalance!.minorUnits).toBe(-300n);
    for (const total of (await balanceSums(t.app.db)).values()) expect(total).toBe(0n);
  });

  test("update, etag, close and as_of through the API", async () => {
    const a = await openAccount(alice);
    const renamed = (await accounts(alice).updateAccount({ accountId: a.id, displayName: "Bills", updateMask: { paths: ["display_name"] }, etag: a.etag })).account!;
    expect(renamed.displayName).toBe("Bills");
    expect((await failure(accounts(alice).updateAccount({ accountId: a.id, displayName: "X", updateMask: { paths: ["display_name"] }, etag: a.etag }))).reason).toBe("ETAG_MISMATCH");
    expect((await failure(accounts(alice).updateAccount({ accountId: a.id, displayName: "X" }))).reason).toBe("UPDATE_MASK_REQUIRED");
    const withLimit = (await accounts(admin).updateAccount({ accountId: a.id, overdraftLimit: usd(100), updateMask: { paths: ["overdraft_limit"] } })).account!;
    expect(withLimit.availableBalance!.minorUnits).toBe(100n);
    const past = Date.now() - 1;
    await money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(40) });
    const then = await accounts(alice).getBalance({ accountId: a.id, asOf: timestampFromMs(past) });
    expect(then.ledgerBalance!.minorUnits).toBe(0n);
    expect((await failure(accounts(alice).closeAccount({ accountId: a.id }))).reason).toBe("ACCOUNT_NOT_EMPTY");
    await money(alice).withdraw({ requestId: rid(), accountId: a.id, amount: usd(40) });
    expect((await accounts(alice).closeAccount({ accountId: a.id })).account!.status).toBe(AccountStatus.CLOSED);
  });

  test("a retried request replays its original answer; a changed one is REQUEST_ID_REUSED", async () => {
    const a = await openAccount(alice);
    const b = await openAccount(bob);
    await money(alice).deposit({ requestId: rid(), accountId: a.id, amount: usd(100) });
    const requestId = rid();
    const req = { requestId, fromAccountId: a.id, target: { case: "toAccountId" as const, value: b.id }, amount: usd(60), description: "x" };
    const first = (await money(alice).transfer(req)).transaction!;
    const again = (await money(alice, "grpc").transfer(req)).transaction!;
    expect(again).toEqual(first);
    const reused = await failure(money(alice).transfer({ ...req, amount: usd(61) }));
    expect([reused.code, reused.reason, reused.metadata.fields]).toEqual(["FailedPrecondition", "REQUEST_ID_REUSED", "minor_units"]);
    expect((await accounts(alice).getBalance({ accountId: a.id })).ledgerBalance!.minorUnits).toBe(40n);
  });
});

describe.each(engines())("hold expiry through the module's sweeper on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine, {}, {
      modules: async (ctx) => [await createAuthModule(ctx), await createLedgerModule(ctx, { holdSweepIntervalMs: 50 })],
    });
  });
  afterAll(async () => t.stop());

  test("a hold past its expire_time becomes EXPIRED and its money available again", async () => {
    const alice = await createTestUser(t);
    const teller = await createTestUser(t, [Role.TELLER]);
    const accounts = client(t.baseUrl, AccountService, { token: alice.token });
    const money = client(t.baseUrl, TransactionService, { token: teller.token });
    const a = (await accounts.createAccount({ requestId: rid(), currency: "USD", type: AccountType.SAVINGS })).account!;
    await money.deposit({ requestId: rid(), accountId: a.id, amount: usd(100) });
    const hold = (await money.createHold({ requestId: rid(), accountId: a.id, amount: usd(70), expireTime: timestampFromMs(t.clock.now() + 60_000) })).transaction!;
    // Still PENDING while its expire_time is ahead.
    expect((await money.getTransaction({ transactionId: hold.id })).transaction!.status).toBe(TransactionStatus.PENDING);
    // Time moves on past expire_time instead of the test waiting for it (the app's clock).
    t.clock.advance(60_001);
    const { status } = await eventually(
      "the hold left PENDING",
      async () => {
        const now = (await money.getTransaction({ transactionId: hold.id })).transaction!.status;
        return now !== TransactionStatus.PENDING && { status: now };
      },
      { intervalMs: 50 },
    );
    expect(status).toBe(TransactionStatus.EXPIRED);
    const acc = (await accounts.getAccount({ accountId: a.id })).account!;
    expect([acc.held!.minorUnits, acc.availableBalance!.minorUnits]).toEqual([0n, 100n]);
  });
});

function postJson(url: string, token: string, body: unknown): Promise<{ status: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(data) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || "{}") }));
    });
    req.on("error", reject);
    req.end(data);
  });
}
