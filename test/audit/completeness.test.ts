// Goal: audit completeness. In a scripted session through the real API, every mutation (auth,
// accounts, money, holds, reversals, administration) and every refusal leaves exactly one audit
// event with the right action, actor, target and outcome, a read leaves none, and the chain
// verifies at the end. Each step is sent with its own x-request-id, which the event records.
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { nextCode } from "../support/totp";
import { strongPassword, uniqueEmail, type TestUser } from "../support/users";
import { createUsers } from "./support";
import { usd } from "../support/money";

interface Recorded {
  action: string;
  actor_id: string;
  target_id: string;
  outcome: string;
}

describe.each(engines())("audit completeness on %s", (engine) => {
  let t: TestApp;
  let teller: TestUser;
  let admin: TestUser;
  let other: TestUser;
  beforeAll(async () => {
    t = await startTestApp(engine);
    [teller, admin, other] = (await createUsers(t, [Role.TELLER], [Role.ADMIN], [Role.CUSTOMER])) as [TestUser, TestUser, TestUser];
  });
  afterAll(() => t.stop());

  /** Runs one call with a fresh x-request-id; returns its result (or error) and its events. */
  async function step<T>(call: (opts: { headers: Record<string, string> }) => Promise<T>): Promise<{ result?: T; code?: Code; events: Recorded[] }> {
    const requestId = randomUUID();
    const outcome = await call({ headers: { "x-request-id": requestId } }).then(
      (result) => ({ result }),
      (e: unknown) => ({ code: ConnectError.from(e).code }),
    );
    const events = await t.app.db.read((tx) => tx.all<Recorded>(`SELECT action, actor_id, target_id, outcome FROM audit_events WHERE request_id = ?`, [requestId]));
    return { ...outcome, events };
  }
  const one = (action: string, actorId: string, outcome: string, targetId?: string) => [
    expect.objectContaining({ action, actor_id: actorId, outcome, ...(targetId !== undefined ? { target_id: targetId } : {}) }),
  ];
  let seq = 0;
  const rid = () => `complete-${++seq}`;

  test("each mutation and refusal of a scripted session has exactly one event", async () => {
    const anon = client(t.baseUrl, AuthService);
    const email = uniqueEmail("complete");
    const password = strongPassword();

    const reg = await step((o) => anon.register({ email, password, fullName: "Complete" }, o));
    const me = reg.result!.user!.id;
    expect(reg.events).toEqual(one("auth.register", me, "SUCCESS", me));
    expect((await step((o) => anon.login({ email, password: strongPassword() }, o))).events).toEqual(one("auth.login", me, "FAILED"));
    const login = await step((o) => anon.login({ email, password }, o));
    expect(login.events).toEqual(one("auth.login", me, "SUCCESS", me));
    const first = login.result!;
    const refreshed = await step((o) => anon.refreshToken({ refreshToken: first.refreshToken }, o));
    expect(refreshed.events).toEqual(one("auth.refresh", me, "SUCCESS"));
    expect((await step((o) => anon.refreshToken({ refreshToken: first.refreshToken }, o))).events).toEqual(one("auth.refresh_reuse", me, "DENIED"));
    const { accessToken } = (await anon.login({ email, password }));

    const accounts = client(t.baseUrl, AccountService, { token: accessToken });
    const money = client(t.baseUrl, TransactionService, { token: accessToken });
    const tellerMoney = client(t.baseUrl, TransactionService, { token: teller.token });
    const tellerAccounts = client(t.baseUrl, AccountService, { token: teller.token });
    const created = await step((o) => accounts.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "main" }, o));
    const account = created.result!.account!.id;
    expect(created.events).toEqual(one("account.create", me, "SUCCESS", account));
    const otherAccount = (await client(t.baseUrl, AccountService, { token: other.token }).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "x" })).account!.id;

    const dep = await step((o) => tellerMoney.deposit({ requestId: rid(), accountId: account, amount: usd(10_000), description: "cash" }, o));
    expect(dep.events).toEqual(one("transaction.deposit", teller.id, "SUCCESS", dep.result!.transaction!.id));
    expect((await step((o) => money.withdraw({ requestId: rid(), accountId: account, amount: usd(1_000_000), description: "too much" }, o))).events).toEqual(one("transaction.withdraw", me, "FAILED"));
    const wd = await step((o) => money.withdraw({ requestId: rid(), accountId: account, amount: usd(100), description: "atm" }, o));
    expect(wd.events).toEqual(one("transaction.withdraw", me, "SUCCESS", wd.result!.transaction!.id));
    const tr = await step((o) => money.transfer({ requestId: rid(), fromAccountId: account, target: { case: "toAccountId", value: otherAccount }, amount: usd(200), description: "rent" }, o));
    expect(tr.events).toEqual(one("transaction.transfer", me, "SUCCESS", tr.result!.transaction!.id));

    expect((await step((o) => tellerAccounts.freezeAccount({ accountId: account, reason: "check" }, o))).events).toEqual(one("account.freeze", teller.id, "SUCCESS", account));
    expect((await step((o) => tellerMoney.deposit({ requestId: rid(), accountId: account, amount: usd(1), description: "frozen" }, o))).events).toEqual(one("transaction.deposit", teller.id, "FAILED"));
    expect((await step((o) => tellerAccounts.unfreezeAccount({ accountId: account, reason: "ok" }, o))).events).toEqual(one("account.unfreeze", teller.id, "SUCCESS", account));

    const hold = await step((o) => tellerMoney.createHold({ requestId: rid(), accountId: account, amount: usd(300), description: "card" }, o));
    expect(hold.events).toEqual(one("transaction.hold.create", teller.id, "SUCCESS", hold.result!.transaction!.id));
    expect((await step((o) => tellerMoney.captureHold({ requestId: rid(), holdId: hold.result!.transaction!.id }, o))).events).toEqual(one("transaction.hold.capture", teller.id, "SUCCESS"));
    const hold2 = (await tellerMoney.createHold({ requestId: rid(), accountId: account, amount: usd(50), description: "card" })).transaction!.id;
    expect((await step((o) => tellerMoney.releaseHold({ requestId: rid(), holdId: hold2 }, o))).events).toEqual(one("transaction.hold.release", teller.id, "SUCCESS"));
    const adminMoney = client(t.baseUrl, TransactionService, { token: admin.token });
    expect((await step((o) => adminMoney.reverseTransaction({ requestId: rid(), transactionId: tr.result!.transaction!.id, reason: "mistake" }, o))).events).toEqual(one("transaction.reverse", admin.id, "SUCCESS"));
    expect((await step((o) => accounts.updateAccount({ accountId: account, displayName: "renamed", updateMask: { paths: ["display_name"] } }, o))).events).toEqual(one("account.update", me, "SUCCESS", account));

    // A read records nothing; a refusal records one DENIED event.
    expect((await step((o) => accounts.getAccount({ accountId: account }, o))).events).toEqual([]);
    const denied = await step((o) => client(t.baseUrl, AuditService, { token: accessToken }).listAuditEvents({}, o));
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.events).toEqual(one("auth.permission_denied", me, "DENIED"));

    const admins = client(t.baseUrl, AdminService, { token: admin.token });
    expect((await step((o) => admins.setUserRoles({ userId: other.id, roles: [Role.CUSTOMER, Role.TELLER] }, o))).events).toEqual(one("admin.set_roles", admin.id, "SUCCESS", other.id));
    expect((await step((o) => admins.disableUser({ userId: other.id }, o))).events).toEqual(one("admin.disable_user", admin.id, "SUCCESS", other.id));
    expect((await step((o) => admins.enableUser({ userId: other.id }, o))).events).toEqual(one("admin.enable_user", admin.id, "SUCCESS", other.id));
    expect((await step((o) => admins.disableUser({ userId: admin.id }, o))).events).toEqual(one("admin.disable_user", admin.id, "FAILED", admin.id));

    // Now a teller too: the next sign-in is enrolment-only until a second factor is confirmed.
    const otherLogin = await anon.login({ email: other.email, password: other.password });
    expect(otherLogin.secondFactorEnrolmentRequired).toBe(true);
    const enrolling = client(t.baseUrl, AuthService, { token: otherLogin.accessToken });
    const enrolment = await step((o) => enrolling.enrollTotp({}, o));
    expect(enrolment.events).toEqual(one("auth.totp_enroll", other.id, "SUCCESS", other.id));
    const confirmed = await step(async (o) => enrolling.confirmTotp({ enrolmentId: enrolment.result!.enrolmentId, code: nextCode(enrolment.result!.secret) }, o));
    expect(confirmed.events).toEqual(one("auth.totp_confirm", other.id, "SUCCESS", other.id));
    const otherAccounts = client(t.baseUrl, AccountService, { token: confirmed.result!.accessToken });
    const spare = (await otherAccounts.createAccount({ requestId: rid(), currency: "USD", type: AccountType.SAVINGS, displayName: "spare" })).account!.id;
    expect((await step((o) => otherAccounts.closeAccount({ accountId: spare }, o))).events).toEqual(one("account.close", other.id, "SUCCESS", spare));
    expect((await step((o) => admins.resetSecondFactor({ userId: other.id, reason: "new phone" }, o))).events).toEqual(one("admin.reset_second_factor", admin.id, "SUCCESS", other.id));

    const mine = client(t.baseUrl, AuthService, { token: accessToken });
    expect((await step((o) => mine.changePassword({ currentPassword: password, newPassword: strongPassword() }, o))).events).toEqual(one("auth.password_change", me, "SUCCESS", me));
    expect((await step((o) => mine.logout({}, o))).events).toEqual(one("auth.logout", me, "SUCCESS"));

    const verified = await client(t.baseUrl, AuditService, { token: admin.token }).verifyAuditLog({});
    expect(verified.ok).toBe(true);
  });
});
