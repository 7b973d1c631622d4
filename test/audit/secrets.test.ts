// Goal: no secret ever reaches the audit log. A scripted session (registration, a wrong password,
// sign-ins, a refresh, a refresh-token reuse, a password change, a logout, role changes and a
// disable by an admin, refused calls) leaves events, and no stored column of any of them holds a
// password (right or wrong), an access or refresh token, a piece of a token, or a hash of either.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { hashRefreshToken } from "../../src/auth/sessions";
import { AUDIT_EVENT_COLUMNS, type AuditEventRow } from "../../src/audit/chain";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, strongPassword, uniqueEmail } from "../support/users";

describe.each(engines())("audit events carry no secrets on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
  });
  afterAll(() => t.stop());

  test("a scripted session leaves events, none holding a password, a token or a hash of one", async () => {
    const secrets: string[] = [];
    const keep = (...values: string[]) => secrets.push(...values);
    const admin = await createTestUser(t, [Role.ADMIN]);
    keep(admin.password, admin.token, admin.refreshToken);
    const auth = (token?: string) => client(t.baseUrl, AuthService, { token });

    const email = uniqueEmail("secrets");
    const password = strongPassword();
    const wrong = strongPassword();
    const newPassword = strongPassword();
    keep(password, wrong, newPassword);
    const { user } = await auth().register({ email, password, fullName: "Secret Keeper" });
    await expect(auth().login({ email, password: wrong })).rejects.toMatchObject({ code: Code.Unauthenticated });
    const first = await auth().login({ email, password });
    const second = await auth().refreshToken({ refreshToken: first.refreshToken });
    keep(first.accessToken, first.refreshToken, second.accessToken, second.refreshToken);
    // Reusing the rotated refresh token is theft: refused and audited.
    await auth().refreshToken({ refreshToken: first.refreshToken }).catch((e: unknown) => ConnectError.from(e));
    const third = await auth().login({ email, password });
    keep(third.accessToken, third.refreshToken);
    await auth(third.accessToken).changePassword({ currentPassword: wrong, newPassword }).catch((e: unknown) => ConnectError.from(e));
    await auth(third.accessToken).changePassword({ currentPassword: password, newPassword });
    await auth(third.accessToken).logout({ refreshToken: third.refreshToken });
    const fourth = await auth().login({ email, password: newPassword });
    keep(fourth.accessToken, fourth.refreshToken);
    await expect(client(t.baseUrl, AuditService, { token: fourth.accessToken }).listAuditEvents({})).rejects.toMatchObject({ code: Code.PermissionDenied });
    const admins = client(t.baseUrl, AdminService, { token: admin.token });
    await admins.setUserRoles({ userId: user!.id, roles: [Role.CUSTOMER, Role.TELLER] });
    await admins.disableUser({ userId: user!.id });
    await admins.enableUser({ userId: user!.id });

    const verified = await client(t.baseUrl, AuditService, { token: admin.token }).verifyAuditLog({});
    expect(verified.ok).toBe(true);
    const rows = await t.app.db.read((tx) => tx.all<AuditEventRow>(`SELECT ${AUDIT_EVENT_COLUMNS} FROM audit_events`));
    const actions = new Set(rows.map((r) => r.action));
    for (const action of ["auth.register", "auth.login", "auth.refresh", "auth.refresh_reuse", "auth.password_change", "auth.logout", "admin.set_roles", "admin.disable_user", "admin.enable_user", "auth.permission_denied"]) {
      expect(actions).toContain(action);
    }

    const hashes = (await t.app.db.read((tx) => tx.all<{ password_hash: string }>(`SELECT password_hash FROM users`))).map((r) => r.password_hash);
    const forbidden = [
      ...secrets,
      // Every part of each JWT (header, claims, signature) and each refresh token's stored hash.
      ...secrets.flatMap((s) => (s.split(".").length === 3 ? s.split(".") : [])),
      ...secrets.map(hashRefreshToken),
      ...hashes,
    ].filter((s) => s.length >= 12);
    for (const row of rows) {
      const stored = Object.values(row).map((v) => String(v ?? "")).join("\n");
      for (const secret of forbidden) expect(stored.includes(secret) ? `${row.action} holds a secret` : "clean").toBe("clean");
      expect(stored).not.toMatch(/\$argon2/);
    }
  });
});
