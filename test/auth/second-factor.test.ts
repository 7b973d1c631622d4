// Goal: staff need a TOTP second factor (issue 27), through a real server on both engines.
// - A teller without one signs in to an enrolment-only session: it can enrol, read itself and
//   sign out, and nothing else (a money call is refused SECOND_FACTOR_ENROLMENT_REQUIRED).
// - Enrolment: the otpauth URI holds the secret; a wrong first code is refused; the right one
//   gives ten recovery codes and replaces the enrolment-only session with a full one.
// - An enrolled teller cannot sign in without a code (SECOND_FACTOR_REQUIRED, only after the
//   right password: a wrong password still says INVALID_CREDENTIALS); wrong, replayed and stale
//   codes are refused SECOND_FACTOR_INVALID, audited, and counted by the sign-in throttle.
// - Recovery codes work once each.
// - ResetSecondFactor: admins only, never on oneself, reason required, audited; it ends the
//   target's sessions and their next sign-in is enrolment-only again.
// - Customers are unaffected, and cannot enrol.
// - The secret is stored encrypted, and recovery codes only as hashes.
import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { createUser } from "../../src/auth/users";
import { Argon2Hasher } from "../../src/auth/passwords";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { codeAtStep, nextCode, stepAt } from "../support/totp";
import { createTestUser, signIn, strongPassword, uniqueEmail, type TestUser } from "../support/users";
import { auditRows, expectError } from "./support";
import { roleFromProto } from "../../src/services/mapping/roles";

describe.each(engines())("second factor for staff on %s", (engine) => {
  let t: TestApp;
  let admin: TestUser;
  const auth = (token?: string) => client(t.baseUrl, AuthService, { token });

  /** A user in the database who has never signed in. */
  async function newUser(roles: Role[]) {
    const email = uniqueEmail("staff");
    const password = strongPassword();
    const row = await t.app.db.transaction((tx) => createUser(tx, { email, fullName: "New Staff", password, roles: roles.map((r) => roleFromProto(r)!) }, new Argon2Hasher(t.config.argon2)));
    return { id: row.id, email, password };
  }

  beforeAll(async () => {
    t = await startTestApp(engine);
    admin = await createTestUser(t, [Role.ADMIN]);
  });
  afterAll(() => t.stop());

  test("a teller without a second factor can only enrol: money calls are refused", async () => {
    const teller = await newUser([Role.TELLER]);
    const login = await auth().login({ email: teller.email, password: teller.password });
    expect(login.secondFactorEnrolmentRequired).toBe(true);
    expect(login.user?.secondFactorEnrolled).toBe(false);
    const token = login.accessToken;
    const deposit = client(t.baseUrl, TransactionService, { token }).deposit({ requestId: randomUUID(), accountId: randomUUID(), amount: { currency: "USD", minorUnits: 100n } });
    await expectError(deposit, Code.PermissionDenied, "SECOND_FACTOR_ENROLMENT_REQUIRED");
    await expectError(client(t.baseUrl, AccountService, { token }).listAccounts({}), Code.PermissionDenied, "SECOND_FACTOR_ENROLMENT_REQUIRED");
    await expectError(auth(token).listSessions({}), Code.PermissionDenied, "SECOND_FACTOR_ENROLMENT_REQUIRED");
    expect((await auth(token).getCurrentUser({})).user?.id).toBe(teller.id);
    expect((await auth().introspectToken({ token })).secondFactorEnrolmentOnly).toBe(true);
    // Its refresh stays enrolment-only.
    const refreshed = await auth().refreshToken({ refreshToken: login.refreshToken });
    expect(refreshed.secondFactorEnrolmentRequired).toBe(true);
    await expectError(client(t.baseUrl, AccountService, { token: refreshed.accessToken }).listAccounts({}), Code.PermissionDenied, "SECOND_FACTOR_ENROLMENT_REQUIRED");
    await auth(refreshed.accessToken).logout({ refreshToken: refreshed.refreshToken });
  });

  test("enrolment: a wrong first code is refused; the right one gives ten recovery codes and a full session", async () => {
    const teller = await newUser([Role.TELLER]);
    const login = await auth().login({ email: teller.email, password: teller.password });
    const enrol = auth(login.accessToken);
    const enrolment = await enrol.enrollTotp({});
    const uri = new URL(enrolment.otpauthUri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(uri.searchParams.get("secret")).toBe(enrolment.secret);
    expect(uri.searchParams.get("algorithm")).toBe("SHA1");
    expect(uri.searchParams.get("digits")).toBe("6");
    expect(uri.searchParams.get("period")).toBe("30");
    expect(decodeURIComponent(uri.pathname)).toContain(teller.email);
    // The secret is stored encrypted, never as given.
    const stored = await t.app.db.read((tx) => tx.all<{ secret: string }>(`SELECT secret FROM totp_enrolments WHERE user_id = ?`, [teller.id]));
    expect(stored).toHaveLength(1);
    expect(stored[0]!.secret).not.toContain(enrolment.secret);

    const wrong = codeAtStep(enrolment.secret, stepAt(t.clock.now()) - 20);
    await expectError(enrol.confirmTotp({ enrolmentId: enrolment.enrolmentId, code: wrong }), Code.InvalidArgument, "TOTP_CODE_INVALID");
    await expectError(enrol.confirmTotp({ enrolmentId: randomUUID(), code: nextCode(enrolment.secret) }), Code.NotFound, "ENROLMENT_NOT_FOUND");
    const confirmed = await enrol.confirmTotp({ enrolmentId: enrolment.enrolmentId, code: nextCode(enrolment.secret) });
    expect(confirmed.recoveryCodes).toHaveLength(10);
    expect(new Set(confirmed.recoveryCodes).size).toBe(10);
    expect(confirmed.user?.secondFactorEnrolled).toBe(true);
    expect(confirmed.accessToken).not.toBe("");
    // The enrolment-only session is over; the new one can do a teller's work.
    await expectError(enrol.getCurrentUser({}), Code.Unauthenticated, "SESSION_ENDED");
    await client(t.baseUrl, AccountService, { token: confirmed.accessToken }).listAccounts({});
    expect((await auth().introspectToken({ token: confirmed.accessToken })).secondFactorEnrolmentOnly).toBe(false);
    // Enrolling again is refused: an admin resets it.
    await expectError(auth(confirmed.accessToken).enrollTotp({}), Code.AlreadyExists, "SECOND_FACTOR_ENROLLED");
    const row = await t.app.db.read((tx) => tx.one<{ totp_secret: string }>(`SELECT totp_secret FROM users WHERE id = ?`, [teller.id]));
    expect(row!.totp_secret).not.toContain(enrolment.secret);
    const hashes = await t.app.db.read((tx) => tx.all<{ code_hash: string }>(`SELECT code_hash FROM recovery_codes WHERE user_id = ?`, [teller.id]));
    expect(hashes).toHaveLength(10);
    for (const code of confirmed.recoveryCodes) expect(hashes.map((h) => h.code_hash)).not.toContain(code);
    expect((await auditRows(t, "auth.totp_confirm")).filter((r) => r.target_id === teller.id).map((r) => r.outcome)).toEqual(["FAILED", "SUCCESS"]);
  });

  test("an enrolled teller cannot sign in without a code; wrong, replayed and stale codes are refused and audited", async () => {
    const teller = await createTestUser(t, [Role.TELLER]);
    const secret = teller.totpSecret!;
    const creds = { email: teller.email, password: teller.password };
    // A wrong password says nothing about the second factor.
    await expectError(auth().login({ ...creds, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    await expectError(auth().login(creds), Code.Unauthenticated, "SECOND_FACTOR_REQUIRED");
    const now = stepAt(t.clock.now());
    const wrongCode = codeAtStep(secret, now) === "000000" ? "111111" : "000000";
    await expectError(auth().login({ ...creds, totpCode: wrongCode }), Code.Unauthenticated, "SECOND_FACTOR_INVALID");
    await expectError(auth().login({ ...creds, totpCode: codeAtStep(secret, now - 5) }), Code.Unauthenticated, "SECOND_FACTOR_INVALID");
    const code = nextCode(secret);
    const ok = await auth().login({ ...creds, totpCode: code });
    expect(ok.secondFactorEnrolmentRequired).toBe(false);
    await client(t.baseUrl, AccountService, { token: ok.accessToken }).listAccounts({});
    // The same code again (and any earlier step) is a replay.
    await expectError(auth().login({ ...creds, totpCode: code }), Code.Unauthenticated, "SECOND_FACTOR_INVALID");
    const reasons = (await auditRows(t, "auth.login")).filter((r) => r.target_id === teller.id && r.outcome !== "SUCCESS").map((r) => JSON.parse(r.details).reason as string);
    expect(reasons).toEqual(["wrong_password", "second_factor_required", "totp_wrong", "totp_stale", "totp_replayed"]);
  });

  test("wrong codes are throttled like wrong passwords", async () => {
    const teller = await createTestUser(t, [Role.TELLER]);
    const creds = { email: teller.email, password: teller.password };
    const wrong = (i: number) => String((Number(codeAtStep(teller.totpSecret!, stepAt(t.clock.now()))) + 500_000 + i) % 1_000_000).padStart(6, "0");
    // limits.loginFailuresFree failures, then the back-off holds even the right code.
    for (let i = 0; i < limits.loginFailuresFree; i++) await expectError(auth().login({ ...creds, totpCode: wrong(i) }), Code.Unauthenticated, "SECOND_FACTOR_INVALID");
    await expectError(auth().login({ ...creds, totpCode: nextCode(teller.totpSecret!) }), Code.ResourceExhausted, "LOGIN_THROTTLED");
  });

  test("recovery codes sign in once each; a used or unknown one is refused", async () => {
    const auditor = await createTestUser(t, [Role.AUDITOR]);
    const creds = { email: auditor.email, password: auditor.password };
    const [first, second] = auditor.recoveryCodes!;
    const ok = await auth().login({ ...creds, recoveryCode: first!.toUpperCase().replace(/-/g, " ") });
    expect(ok.secondFactorEnrolmentRequired).toBe(false);
    await expectError(auth().login({ ...creds, recoveryCode: first! }), Code.Unauthenticated, "SECOND_FACTOR_INVALID");
    await expectError(auth().login({ ...creds, recoveryCode: "aaaa-bbbb-cccc-dddd" }), Code.Unauthenticated, "SECOND_FACTOR_INVALID");
    // Another user's code is not this user's.
    const other = await createTestUser(t, [Role.AUDITOR]);
    await expectError(auth().login({ ...creds, recoveryCode: other.recoveryCodes![0]! }), Code.Unauthenticated, "SECOND_FACTOR_INVALID");
    await auth().login({ ...creds, recoveryCode: second! });
    await expectError(auth().login({ ...creds, recoveryCode: second!, totpCode: "123456" }), Code.InvalidArgument, "SECOND_FACTOR_AMBIGUOUS");
  });

  test("ResetSecondFactor: admin only, not on oneself, audited; it ends the target's sessions and the next sign-in is enrolment-only", async () => {
    const teller = await createTestUser(t, [Role.TELLER]);
    const otherAdmin = await createTestUser(t, [Role.ADMIN]);
    const admins = (u: TestUser) => client(t.baseUrl, AdminService, { token: u.token });
    await expectError(client(t.baseUrl, AdminService, { token: teller.token }).resetSecondFactor({ userId: admin.id, reason: "x" }), Code.PermissionDenied);
    await expectError(admins(admin).resetSecondFactor({ userId: admin.id, reason: "lost my phone" }), Code.PermissionDenied, "OWN_SECOND_FACTOR");
    await expectError(admins(admin).resetSecondFactor({ userId: teller.id, reason: "  " }), Code.InvalidArgument, "REASON_REQUIRED");
    await expectError(admins(admin).resetSecondFactor({ userId: randomUUID(), reason: "who" }), Code.NotFound, "USER_NOT_FOUND");
    const listed = (await admins(admin).listUsers({ emailPrefix: teller.email })).users[0];
    expect(listed?.secondFactorEnrolled).toBe(true);

    const reset = await admins(otherAdmin).resetSecondFactor({ userId: teller.id, reason: "lost phone, ticket 42" });
    expect(reset.user?.secondFactorEnrolled).toBe(false);
    await expectError(auth(teller.token).getCurrentUser({}), Code.Unauthenticated, "SESSION_ENDED");
    const events = (await auditRows(t, "admin.reset_second_factor")).filter((r) => r.target_id === teller.id);
    expect(events.map((e) => [e.actor_id, e.outcome])).toEqual([[otherAdmin.id, "SUCCESS"]]);
    expect(JSON.parse(events[0]!.details)).toMatchObject({ reason: "lost phone, ticket 42", had_second_factor: true });
    expect((await auditRows(t, "admin.reset_second_factor")).filter((r) => r.target_id === admin.id).map((r) => r.outcome)).toEqual(["FAILED"]);
    // The old secret and recovery codes are gone.
    const again = await auth().login({ email: teller.email, password: teller.password, recoveryCode: teller.recoveryCodes![0]! });
    expect(again.secondFactorEnrolmentRequired).toBe(true);
    await expectError(client(t.baseUrl, AccountService, { token: again.accessToken }).listAccounts({}), Code.PermissionDenied, "SECOND_FACTOR_ENROLMENT_REQUIRED");
  });

  test("customers are unaffected and cannot enrol", async () => {
    const customer = await createTestUser(t, [Role.CUSTOMER]);
    const login = await signIn(t.baseUrl, customer);
    expect(login.secondFactorEnrolmentRequired).toBe(false);
    await expectError(auth(login.accessToken).enrollTotp({}), Code.PermissionDenied);
  });
});
