// Goal (issue 26, item 8): probes and staff reads leave a trace, aggregated so that the log does
// not grow with the request rate. WatchAccount on someone else's account is a probe like a unary
// one (it was not audited at all: the auth interceptor skipped streams); a probe by account number
// records the number(s) probed (it recorded the prober's own source account instead); and a staff
// member's reads of a customer's account (GetAccount, LookupAccount, WatchAccount, statements)
// are recorded as `account.staff_read`, one event per staff member, account and window with the
// count. Through a real server, on SQLite and PostgreSQL.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { randomAccountNumber } from "../../src/ledger/account-number";
import { productModules, type AuthModule } from "../../src/modules";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, type TestUser } from "../support/users";
import { rid } from "../ledger/support";

interface AuditRow {
  actor_id: string;
  action: string;
  target_id: string;
  outcome: string;
  details: string;
}

describe.each(engines())("audit of probes and staff reads on %s", (engine) => {
  let t: TestApp;
  let auth: AuthModule;
  let alice: TestUser;
  let bob: TestUser;
  let teller: TestUser;
  const accounts = (u: TestUser) => client(t.baseUrl, AccountService, { token: u.token });
  const money = (u: TestUser) => client(t.baseUrl, TransactionService, { token: u.token });
  const open = async (u: TestUser) => (await accounts(u).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "m" })).account!;
  /** The events of `action` by `actor`, after every aggregated window was appended. */
  const events = async (action: string, actor: string) => {
    await auth.refusals.flush();
    await auth.staffReads.flush();
    const rows = await t.app.db.read((tx) => tx.all<AuditRow>(`SELECT actor_id, action, target_id, outcome, details FROM audit_events WHERE action = ? AND actor_id = ? ORDER BY event_time, id`, [action, actor]));
    return rows.map((r): { target: string; outcome: string; [detail: string]: unknown } => ({ target: r.target_id, outcome: r.outcome, ...(JSON.parse(r.details) as Record<string, unknown>) }));
  };
  const codeOf = (p: Promise<unknown>) => p.then(() => "OK", (err: unknown) => Code[ConnectError.from(err).code]);

  beforeAll(async () => {
    t = await startTestApp(engine, {}, {
      modules: async (ctx) => {
        const modules = await productModules(ctx);
        auth = modules[0] as AuthModule;
        return modules;
      },
    });
    alice = await createTestUser(t);
    bob = await createTestUser(t);
    teller = await createTestUser(t, [Role.TELLER]);
  });
  afterAll(async () => t.stop());

  test("WatchAccount on another customer's account is a probe: NOT_FOUND, audited and aggregated", async () => {
    const a = await open(alice);
    for (let i = 0; i < 20; i++) {
      const stream = accounts(bob).watchAccount({ accountId: a.id });
      expect(await codeOf((async () => { for await (const _ of stream) break; })())).toBe("NotFound");
    }
    const probes = (await events("access.not_found", bob.id)).filter((e) => e.method === "bank.v1.AccountService/WatchAccount");
    expect(probes).toEqual([expect.objectContaining({ target: a.id, outcome: "DENIED", reason: "ACCOUNT_NOT_FOUND", count: 20 })]);
  });

  test("a probe by account number records the numbers probed, not the prober's own account", async () => {
    const mine = await open(bob);
    await money(bob).deposit({ requestId: rid(), accountId: mine.id, amount: { currency: "USD", minorUnits: 100n } });
    const frozen = await open(alice);
    await accounts(teller).freezeAccount({ accountId: frozen.id, reason: "probe target" });
    const unknown = [randomAccountNumber(), randomAccountNumber()];
    for (const number of [...unknown, frozen.number]) {
      const code = await codeOf(money(bob).transfer({ requestId: rid(), fromAccountId: mine.id, target: { case: "toAccountNumber", value: number }, amount: { currency: "USD", minorUnits: 1n } }));
      expect(["NotFound", "FailedPrecondition"]).toContain(code);
    }
    const probes = (await events("access.not_found", bob.id)).filter((e) => e.method === "bank.v1.TransactionService/Transfer");
    const recorded = probes.flatMap((p) => (p.target !== "" ? [p.target] : String(p.targets).split(",")));
    const digits = (n: string) => n.replace(/\D/g, "");
    expect(recorded.map(digits).sort()).toEqual([...unknown, frozen.number].map(digits).sort());
    expect(recorded).not.toContain(mine.id);
  });

  test("staff reads of a customer's account are recorded: one event per staff member, account and window", async () => {
    const a = await open(alice);
    for (let i = 0; i < 30; i++) await accounts(teller).getAccount({ accountId: a.id });
    for (let i = 0; i < 10; i++) await accounts(teller).lookupAccount({ number: a.number });
    await money(teller).listTransactions({ accountId: a.id });
    await accounts(teller).getBalance({ accountId: a.id });
    const cancel = new AbortController();
    try {
      for await (const _ of accounts(teller).watchAccount({ accountId: a.id }, { signal: cancel.signal })) cancel.abort();
    } catch (err) {
      expect(ConnectError.from(err).code).toBe(Code.Canceled);
    }
    const reads = (await events("account.staff_read", teller.id)).filter((e) => e.target === a.id);
    expect(reads).toEqual([expect.objectContaining({ outcome: "SUCCESS", count: 43 })]);
    // The customer reading their own account is no staff read.
    await accounts(alice).getAccount({ accountId: a.id });
    expect(await events("account.staff_read", alice.id)).toEqual([]);
  });
});
