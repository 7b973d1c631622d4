// Goal: AdminService over a real server. ListUsers (admins and auditors; case-insensitive email
// prefix; newest first; bound page tokens), SetUserRoles (validated; ends the user's sessions so
// the next sign-in carries the new roles), DisableUser (every session ends at once, sign-in
// refused) and EnableUser; the last active admin can neither lose ADMIN nor be disabled, even
// when two admins demote each other at once; each change leaves exactly one audit event.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { uuidv7 } from "../../src/util/ids";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, signIn, uniqueEmail, type TestUser } from "../support/users";
import { createUsers } from "../audit/support";

const failure = async (p: Promise<unknown>) => {
  const err = ConnectError.from(await p.then(() => new Error("expected a failure"), (e: unknown) => e));
  return { code: err.code, reason: err.findDetails(ErrorInfoSchema)[0]?.reason ?? "" };
};

describe.each(engines())("AdminService on %s", (engine) => {
  let t: TestApp;
  let admin: TestUser;
  let auditor: TestUser;
  let teller: TestUser;
  const admins = (u: TestUser | undefined = admin) => client(t.baseUrl, AdminService, { token: u?.token });
  const auth = (token?: string) => client(t.baseUrl, AuthService, { token });
  const events = (action: string, targetId: string) =>
    t.app.db.read((tx) => tx.all<{ actor_id: string; outcome: string; details: string }>(`SELECT actor_id, outcome, details FROM audit_events WHERE action = ? AND target_id = ?`, [action, targetId]));
  const activeAdmins = async () =>
    (await t.app.db.read((tx) => tx.all<{ roles: string }>(`SELECT roles FROM users WHERE disabled = 0`))).filter((r) => r.roles.split(",").includes("ADMIN")).length;

  beforeAll(async () => {
    t = await startTestApp(engine);
    [admin, auditor, teller] = (await createUsers(t, [Role.ADMIN], [Role.AUDITOR], [Role.TELLER])) as [TestUser, TestUser, TestUser];
  });
  afterAll(() => t.stop());

  test("ListUsers: newest first, email prefix ignores case, pages walk every match once", async () => {
    const prefix = uniqueEmail("list").split("@")[0]!;
    const made: TestUser[] = [];
    for (let i = 0; i < 3; i++) made.push(await createTestUser(t, [Role.CUSTOMER], { email: `${prefix}${i}@example.test` }));
    const all = await admins(auditor).listUsers({ emailPrefix: prefix.toUpperCase() });
    expect(all.users.map((u) => u.email)).toEqual(made.map((u) => u.email).reverse());
    expect(all.users[0]).toMatchObject({ id: made[2]!.id, fullName: "Test User", roles: [Role.CUSTOMER], disabled: false });
    expect(all.nextPageToken).toBe("");

    const page1 = await admins().listUsers({ emailPrefix: prefix, pageSize: 2 });
    const page2 = await admins().listUsers({ emailPrefix: prefix, pageSize: 2, pageToken: page1.nextPageToken });
    expect([...page1.users, ...page2.users].map((u) => u.id)).toEqual(made.map((u) => u.id).reverse());
    expect(page2.nextPageToken).toBe("");
    expect(await failure(admins().listUsers({ emailPrefix: "other", pageToken: page1.nextPageToken }))).toMatchObject({ code: Code.InvalidArgument });
    expect(await failure(admins().listUsers({ pageSize: 501 }))).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_PAGE_SIZE" });
    // LIKE wildcards in the prefix are literal characters.
    expect((await admins().listUsers({ emailPrefix: "%" })).users).toEqual([]);
    expect((await admins().listUsers({ pageSize: 500 })).users.length).toBeGreaterThanOrEqual(6);
  });

  test("only admins change users; auditors and tellers may list but not change; customers may not list", async () => {
    const target = { userId: teller.id };
    expect(await failure(client(t.baseUrl, AdminService).listUsers({}))).toMatchObject({ code: Code.Unauthenticated });
    const customer = await createTestUser(t, [Role.CUSTOMER]);
    expect(await failure(admins(customer).listUsers({}))).toMatchObject({ code: Code.PermissionDenied });
    // A teller finds a customer by email prefix (docs/api.md Additions), read-only.
    expect((await admins(teller).listUsers({ emailPrefix: customer.email })).users.map((u) => u.id)).toEqual([customer.id]);
    for (const caller of [auditor, teller]) {
      for (const call of [() => admins(caller).setUserRoles({ ...target, roles: [Role.ADMIN] }), () => admins(caller).disableUser(target), () => admins(caller).enableUser(target)]) {
        expect(await failure(call())).toMatchObject({ code: Code.PermissionDenied });
      }
    }
    expect((await events("admin.set_roles", teller.id)).length).toBe(0);
  });

  test("SetUserRoles validates its input and refuses unknown users", async () => {
    const user = await createTestUser(t);
    for (const roles of [[], [Role.UNSPECIFIED], [Role.CUSTOMER, 99 as Role]]) {
      expect(await failure(admins().setUserRoles({ userId: user.id, roles }))).toMatchObject({ code: Code.InvalidArgument });
    }
    expect(await failure(admins().setUserRoles({ userId: "not-a-uuid", roles: [Role.CUSTOMER] }))).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_USER_ID" });
    const ghost = uuidv7();
    expect(await failure(admins().setUserRoles({ userId: ghost, roles: [Role.CUSTOMER] }))).toMatchObject({ code: Code.NotFound, reason: "USER_NOT_FOUND" });
    expect(await events("admin.set_roles", ghost)).toEqual([expect.objectContaining({ actor_id: admin.id, outcome: "FAILED" })]);
    // Nothing changed: the user's token still works.
    await expect(auth(user.token).getCurrentUser({})).resolves.toBeDefined();
  });

  test("SetUserRoles ends the user's sessions; the next sign-in carries the new roles; one audit event", async () => {
    const user = await createTestUser(t, [Role.CUSTOMER]);
    const res = await admins().setUserRoles({ userId: user.id, roles: [Role.TELLER, Role.CUSTOMER, Role.TELLER] });
    expect(res.user).toMatchObject({ id: user.id, roles: [Role.CUSTOMER, Role.TELLER] });
    expect(await failure(auth(user.token).getCurrentUser({}))).toMatchObject({ code: Code.Unauthenticated });
    const again = await auth().login({ email: user.email, password: user.password });
    expect((await auth(again.accessToken).getCurrentUser({})).user!.roles).toEqual([Role.CUSTOMER, Role.TELLER]);
    // Now staff, without a second factor yet: the session is enrolment-only (issue 27).
    expect(again.secondFactorEnrolmentRequired).toBe(true);
    const recorded = await events("admin.set_roles", user.id);
    expect(recorded).toEqual([expect.objectContaining({ actor_id: admin.id, outcome: "SUCCESS" })]);
    expect(JSON.parse(recorded[0]!.details)).toMatchObject({ roles: "CUSTOMER,TELLER", previous_roles: "CUSTOMER", sessions_ended: 1 });
  });

  test("DisableUser ends every session at once and refuses sign-in; EnableUser lets the user back", async () => {
    const user = await createTestUser(t);
    const second = await auth().login({ email: user.email, password: user.password });
    const res = await admins().disableUser({ userId: user.id });
    expect(res.user).toMatchObject({ id: user.id, disabled: true });
    for (const token of [user.token, second.accessToken]) expect(await failure(auth(token).getCurrentUser({}))).toMatchObject({ code: Code.Unauthenticated });
    expect(await failure(auth().refreshToken({ refreshToken: second.refreshToken }))).toMatchObject({ code: Code.Unauthenticated });
    expect(await failure(auth().login({ email: user.email, password: user.password }))).toMatchObject({ code: Code.Unauthenticated });
    expect((await admins().listUsers({ emailPrefix: user.email })).users[0]!.disabled).toBe(true);

    expect((await admins().enableUser({ userId: user.id })).user).toMatchObject({ disabled: false });
    const back = await auth().login({ email: user.email, password: user.password });
    await expect(auth(back.accessToken).getCurrentUser({})).resolves.toBeDefined();
    expect(await events("admin.disable_user", user.id)).toEqual([expect.objectContaining({ actor_id: admin.id, outcome: "SUCCESS" })]);
    expect(await events("admin.enable_user", user.id)).toEqual([expect.objectContaining({ actor_id: admin.id, outcome: "SUCCESS" })]);
    expect(await failure(admins().disableUser({ userId: uuidv7() }))).toMatchObject({ code: Code.NotFound });
  });

  test("the last active admin can neither lose ADMIN nor be disabled; a disabled admin does not count", async () => {
    expect(await activeAdmins()).toBe(1);
    const retired = await createTestUser(t, [Role.ADMIN]);
    await admins().disableUser({ userId: retired.id });
    expect(await failure(admins().setUserRoles({ userId: admin.id, roles: [Role.CUSTOMER] }))).toMatchObject({ code: Code.FailedPrecondition, reason: "LAST_ADMIN" });
    expect(await failure(admins().disableUser({ userId: admin.id }))).toMatchObject({ code: Code.FailedPrecondition, reason: "LAST_ADMIN" });
    expect((await events("admin.set_roles", admin.id)).map((e) => [e.outcome, JSON.parse(e.details).reason])).toEqual([["FAILED", "LAST_ADMIN"]]);
    // Keeping ADMIN while changing other roles is fine, and ends the admin's own sessions.
    await admins().setUserRoles({ userId: admin.id, roles: [Role.ADMIN, Role.AUDITOR] });
    const again = await signIn(t.baseUrl, admin);
    admin = { ...admin, token: again.accessToken };
    expect(await activeAdmins()).toBe(1);
  });

  test("two admins demoting each other at once: exactly one succeeds and one admin remains", async () => {
    const other = await createTestUser(t, [Role.ADMIN]);
    expect(await activeAdmins()).toBe(2);
    const results = await Promise.allSettled([
      admins(admin).setUserRoles({ userId: other.id, roles: [Role.CUSTOMER] }),
      admins(other).disableUser({ userId: admin.id }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    // The loser was refused as the last admin, or its session had already ended.
    for (const r of results) if (r.status === "rejected") expect([Code.FailedPrecondition, Code.Unauthenticated]).toContain(ConnectError.from(r.reason).code);
    expect(await activeAdmins()).toBe(1);
  });
});
