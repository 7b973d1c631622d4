// Goal: sessions end when they should, everywhere. Refresh rotates the refresh token; a rotated
// token presented again ends the whole session (audited); of two concurrent refreshes at most
// one succeeds. Logout, RevokeSession (own sessions only), ChangePassword (all other sessions)
// and revokeUserSessions (used by the admin service) stop the session's access tokens at once
// in this process and, within limits.sessionRecheckMs, in another process on the same database.
// ListSessions pages newest first and marks the current session. Probes for other users'
// sessions are audited, aggregated per caller.
import { Code } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { Role } from "../../gen/bank/v1/access_pb";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { client } from "../support/app";
import { createTestUser, signIn as signInUser, strongPassword, type TestUser } from "../support/users";
import { auditRows, authApi, expectError, startAuthApp, startSecondApp, type AuthTestApp } from "./support";

const sid = (token: string) => decodeJwt(token).sid as string;

describe.each(engines())("sessions on %s", (engine) => {
  let t: AuthTestApp;
  beforeAll(async () => {
    t = await startAuthApp(engine);
  });
  afterAll(async () => t.stop());

  async function signIn(user: TestUser) {
    return signInUser(t.baseUrl, user);
  }

  async function expectTokenDead(token: string): Promise<void> {
    await expectError(authApi(t, token).getCurrentUser({}), Code.Unauthenticated, "SESSION_ENDED");
    expect((await authApi(t).introspectToken({ token })).active).toBe(false);
  }

  test("RefreshToken rotates: new tokens for the same session; the old refresh token is dead", async () => {
    const user = await createTestUser(t);
    const next = await authApi(t).refreshToken({ refreshToken: user.refreshToken });
    expect(next.refreshToken).not.toBe(user.refreshToken);
    expect(next.accessToken).not.toBe(user.token);
    expect(sid(next.accessToken)).toBe(sid(user.token));
    expect(next.user?.id).toBe(user.id);
    expect(Number(next.refreshTokenExpireTime?.seconds)).toBeGreaterThan(Date.now() / 1000 + limits.refreshTokenTtlSeconds - 60);
    expect((await authApi(t, next.accessToken).getCurrentUser({})).user?.id).toBe(user.id);
    // The rotated-out token again: theft. The whole session ends, new tokens included.
    await expectError(authApi(t).refreshToken({ refreshToken: user.refreshToken }), Code.Unauthenticated, "REFRESH_TOKEN_INVALID");
    await expectTokenDead(next.accessToken);
    await expectError(authApi(t).refreshToken({ refreshToken: next.refreshToken }), Code.Unauthenticated, "REFRESH_TOKEN_INVALID");
    const reuse = (await auditRows(t, "auth.refresh_reuse")).filter((r) => r.actor_id === user.id);
    expect(reuse).toEqual([expect.objectContaining({ target_id: sid(user.token), outcome: "DENIED" })]);
    expect(reuse[0]!.details).not.toContain(user.refreshToken);
  });

  test("two concurrent refreshes with one token: at most one succeeds", async () => {
    for (let round = 0; round < 3; round++) {
      const user = await createTestUser(t);
      const results = await Promise.allSettled([0, 1].map(() => authApi(t).refreshToken({ refreshToken: user.refreshToken })));
      const ok = results.filter((r) => r.status === "fulfilled");
      expect(ok.length).toBeLessThanOrEqual(1);
      for (const r of results) if (r.status === "rejected") expect((r.reason as { code: Code }).code).toBe(Code.Unauthenticated);
    }
  });

  test("garbage, empty and access tokens are not refresh tokens", async () => {
    const user = await createTestUser(t);
    for (const refreshToken of ["", "garbage", user.token, "x".repeat(5000)]) {
      await expectError(authApi(t).refreshToken({ refreshToken }), Code.Unauthenticated, "REFRESH_TOKEN_INVALID");
    }
  });

  test("Logout ends the session: its access and refresh tokens stop at once; other sessions live on", async () => {
    const user = await createTestUser(t);
    const other = await signIn(user);
    await authApi(t, user.token).logout({});
    await expectTokenDead(user.token);
    await expectError(authApi(t).refreshToken({ refreshToken: user.refreshToken }), Code.Unauthenticated, "REFRESH_TOKEN_INVALID");
    expect((await authApi(t, other.accessToken).getCurrentUser({})).user?.id).toBe(user.id);
    expect((await auditRows(t, "auth.logout")).filter((r) => r.actor_id === user.id)).toEqual([expect.objectContaining({ target_id: sid(user.token), outcome: "SUCCESS" })]);
  });

  test("Logout with another session's refresh token is refused and ends nothing", async () => {
    const user = await createTestUser(t);
    const other = await signIn(user);
    await expectError(authApi(t, user.token).logout({ refreshToken: other.refreshToken }), Code.InvalidArgument, "REFRESH_TOKEN_MISMATCH");
    await authApi(t, user.token).getCurrentUser({});
    await authApi(t, user.token).logout({ refreshToken: user.refreshToken });
    await expectTokenDead(user.token);
  });

  test("ListSessions: live sessions only, newest first, paged, with `current`", async () => {
    const user = await createTestUser(t);
    const logins = [];
    for (let i = 0; i < 4; i++) logins.push(await signIn(user));
    await authApi(t, logins[3]!.accessToken).logout({});
    const api = authApi(t, logins[1]!.accessToken);
    const first = await api.listSessions({ pageSize: 2 });
    expect(first.sessions).toHaveLength(2);
    expect(first.nextPageToken).not.toBe("");
    const second = await api.listSessions({ pageSize: 2, pageToken: first.nextPageToken });
    expect(second.nextPageToken).toBe("");
    const ids = [...first.sessions, ...second.sessions].map((s) => s.id);
    expect(ids).toEqual([sid(logins[2]!.accessToken), sid(logins[1]!.accessToken), sid(logins[0]!.accessToken), sid(user.token)]);
    const all = [...first.sessions, ...second.sessions];
    expect(all.filter((s) => s.current).map((s) => s.id)).toEqual([sid(logins[1]!.accessToken)]);
    expect(all[0]).toMatchObject({ clientAddress: "127.0.0.1" });
    expect(all[0]!.userAgent).not.toBe("");
    expect(all[0]!.createTime).toBeDefined();
    expect(all[0]!.lastUsedTime).toBeDefined();
  });

  test("ListSessions: page size bounds and page tokens bound to the caller", async () => {
    const a = await createTestUser(t);
    const b = await createTestUser(t);
    await signIn(a);
    await expectError(authApi(t, a.token).listSessions({ pageSize: limits.pageSizeMax + 1 }), Code.InvalidArgument, "INVALID_PAGE_SIZE");
    await expectError(authApi(t, a.token).listSessions({ pageSize: -1 }), Code.InvalidArgument, "INVALID_PAGE_SIZE");
    expect((await authApi(t, a.token).listSessions({ pageSize: 0 })).sessions).toHaveLength(2);
    const page = await authApi(t, a.token).listSessions({ pageSize: 1 });
    await expectError(authApi(t, b.token).listSessions({ pageSize: 1, pageToken: page.nextPageToken }), Code.InvalidArgument, "INVALID_PAGE_TOKEN");
    await expectError(authApi(t, a.token).listSessions({ pageToken: "not-a-token" }), Code.InvalidArgument, "INVALID_PAGE_TOKEN");
  });

  test("RevokeSession ends one of your sessions; another user's is NOT_FOUND and stays live", async () => {
    const user = await createTestUser(t);
    const other = await signIn(user);
    await authApi(t, user.token).revokeSession({ sessionId: sid(other.accessToken) });
    await expectTokenDead(other.accessToken);
    await authApi(t, user.token).getCurrentUser({});
    const stranger = await createTestUser(t);
    await expectError(authApi(t, user.token).revokeSession({ sessionId: sid(stranger.token) }), Code.NotFound, "SESSION_NOT_FOUND");
    await expectError(authApi(t, user.token).revokeSession({ sessionId: "01900000-0000-7000-8000-000000000000" }), Code.NotFound, "SESSION_NOT_FOUND");
    await expectError(authApi(t, user.token).revokeSession({ sessionId: "nope" }), Code.InvalidArgument, "INVALID_SESSION_ID");
    await authApi(t, stranger.token).getCurrentUser({});
    expect((await auditRows(t, "auth.session_revoke")).filter((r) => r.actor_id === user.id)).toEqual([expect.objectContaining({ target_id: sid(other.accessToken) })]);
  });

  test("RevokeSession probes for other users' sessions (or made-up ids) are audited: one DENIED event per window with the count (W8)", async () => {
    const user = await createTestUser(t);
    const stranger = await createTestUser(t);
    await t.auth.refusals.flush();
    for (let i = 0; i < 3; i++) await expectError(authApi(t, user.token).revokeSession({ sessionId: sid(stranger.token) }), Code.NotFound, "SESSION_NOT_FOUND");
    await expectError(authApi(t, user.token).revokeSession({ sessionId: "01900000-0000-7000-8000-000000000001" }), Code.NotFound, "SESSION_NOT_FOUND");
    await t.auth.refusals.flush();
    const probes = (await auditRows(t, "auth.session_revoke")).filter((r) => r.actor_id === user.id);
    expect(probes).toHaveLength(1);
    expect(probes[0]).toMatchObject({ outcome: "DENIED", target_id: "" });
    expect(JSON.parse(probes[0]!.details)).toMatchObject({ reason: "SESSION_NOT_FOUND", count: 4, distinct_targets: 2, exists: true });
    await authApi(t, stranger.token).getCurrentUser({});
  });

  test("ChangePassword: wrong current password refused; success ends every other session, keeps this one", async () => {
    const user = await createTestUser(t);
    const other = await signIn(user);
    const next = strongPassword();
    await expectError(authApi(t, user.token).changePassword({ currentPassword: strongPassword(), newPassword: next }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    await expectError(authApi(t, user.token).changePassword({ currentPassword: user.password, newPassword: "password1234" }), Code.InvalidArgument, "PASSWORD_TOO_WEAK");
    await expectError(authApi(t, user.token).changePassword({ currentPassword: user.password, newPassword: user.password }), Code.InvalidArgument, "PASSWORD_UNCHANGED");
    await authApi(t, user.token).changePassword({ currentPassword: user.password, newPassword: next });
    await expectTokenDead(other.accessToken);
    await expectError(authApi(t).refreshToken({ refreshToken: other.refreshToken }), Code.Unauthenticated);
    await authApi(t, user.token).getCurrentUser({});
    await expectError(authApi(t).login({ email: user.email, password: user.password }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    await authApi(t).login({ email: user.email, password: next });
    const changes = (await auditRows(t, "auth.password_change")).filter((r) => r.target_id === user.id);
    expect(changes.map((r) => r.outcome)).toEqual(["FAILED", "SUCCESS"]);
    for (const row of changes) expect(row.details).not.toContain(next);
  });

  test("revokeUserSessions (the admin service's hook) ends all sessions, or all but one, after commit", async () => {
    const user = await createTestUser(t, [Role.TELLER]);
    const keep = await signIn(user);
    const ended = await t.app.db.transaction((tx) => t.auth.sessions.revokeUserSessions(tx, user.id, "roles changed", { exceptSessionId: sid(keep.accessToken) }));
    expect(ended).toEqual([sid(user.token)]);
    await expectTokenDead(user.token);
    await authApi(t, keep.accessToken).getCurrentUser({});
    // A rolled-back transaction ends nothing.
    await t.app.db.transaction(async (tx) => {
      await t.auth.sessions.revokeUserSessions(tx, user.id, "disabled");
      throw new Error("roll back");
    }).catch(() => undefined);
    await authApi(t, keep.accessToken).getCurrentUser({});
    expect(await t.app.db.transaction((tx) => t.auth.sessions.revokeUserSessions(tx, user.id, "disabled"))).toEqual([sid(keep.accessToken)]);
    await expectTokenDead(keep.accessToken);
  });

  test("another process on the same database stops a revoked session's tokens within sessionRecheckMs", async () => {
    const user = await createTestUser(t);
    const second = await startSecondApp(t);
    try {
      const there = client(second.baseUrl, AuthService, { token: user.token });
      await there.getCurrentUser({}); // verified and cached there
      await authApi(t, user.token).logout({});
      // sessionRecheckMs later (the clock both processes read, moved on instead of waited for),
      // the other process has checked the session again and refuses the token.
      t.clock.advance(limits.sessionRecheckMs);
      await expectError(there.getCurrentUser({}), Code.Unauthenticated, "SESSION_ENDED");
    } finally {
      await second.app.shutdown();
    }
  });
});
