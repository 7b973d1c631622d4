// Goal: staff sessions end when idle and at an absolute lifetime, enforced by the server
// (issue 27, src/limits.ts staffSessionIdleMs / staffSessionLifetimeMs / enrolmentSessionLifetimeMs):
// - a staff session lasts 12 h from sign-in however often it is refreshed, its refresh token
//   lives at most 15 minutes; an enrolment-only one 15 minutes in all;
// - a staff session not refreshed for 15 minutes cannot be refreshed (SESSION_IDLE), and is
//   ended (its access token stops);
// - past its absolute lifetime neither refresh (SESSION_EXPIRED) nor its access tokens work;
// - a customer's session has no idle limit.
// (Migration 0010, which ends staff sessions opened before the second factor existed, is tested
// with the other migrations in test/foundation/migrations.test.ts.)
// Time passes by moving the session's recorded times back (what the server compares with its
// clock), not by waiting a quarter of an hour.
import { Code } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, signIn, strongPassword, uniqueEmail } from "../support/users";
import { createUser } from "../../src/auth/users";
import { Argon2Hasher } from "../../src/auth/passwords";
import { auditRows, expectError } from "./support";

interface SessionTimes {
  create_time: number;
  last_used_time: number;
  expire_time: number;
}

describe.each(engines())("staff sessions on %s", (engine) => {
  let t: TestApp;
  const auth = (token?: string) => client(t.baseUrl, AuthService, { token });
  const sessionOf = async (token: string) => (await auth().introspectToken({ token })).sessionId;
  const times = async (sessionId: string): Promise<SessionTimes> => {
    const row = await t.app.db.read((tx) => tx.one<SessionTimes>(`SELECT create_time, last_used_time, expire_time FROM sessions WHERE id = ?`, [sessionId]));
    return { create_time: Number(row!.create_time), last_used_time: Number(row!.last_used_time), expire_time: Number(row!.expire_time) };
  };
  /** Moves the session `ms` into the past, as if that much time had passed since its sign-in and
   * its last refresh. */
  const age = (sessionId: string, ms: number) =>
    t.app.db.transaction((tx) => tx.run(`UPDATE sessions SET create_time = create_time - ?, last_used_time = last_used_time - ?, expire_time = expire_time - ? WHERE id = ?`, [ms, ms, ms, sessionId]));
  const ageIdleOnly = (sessionId: string, ms: number) => t.app.db.transaction((tx) => tx.run(`UPDATE sessions SET last_used_time = last_used_time - ? WHERE id = ?`, [ms, sessionId]));

  beforeAll(async () => {
    t = await startTestApp(engine);
  });
  afterAll(() => t.stop());

  test("a staff session ends 12 h after sign-in however often refreshed; its refresh token lives 15 minutes", async () => {
    const teller = await createTestUser(t, [Role.TELLER]);
    const sessionId = await sessionOf(teller.token);
    const before = await times(sessionId);
    expect(before.expire_time - before.create_time).toBe(limits.staffSessionLifetimeMs);
    const refreshed = await auth().refreshToken({ refreshToken: teller.refreshToken });
    const refreshExpireMs = Number(refreshed.refreshTokenExpireTime!.seconds) * 1000;
    expect(refreshExpireMs - t.clock.now()).toBeLessThanOrEqual(limits.staffSessionIdleMs);
    expect(refreshExpireMs - t.clock.now()).toBeGreaterThan(limits.staffSessionIdleMs - 60_000);
    expect((await times(sessionId)).expire_time).toBe(before.expire_time);
  });

  test("an idle staff session cannot be refreshed: SESSION_IDLE, and the session is ended", async () => {
    const teller = await createTestUser(t, [Role.TELLER]);
    const sessionId = await sessionOf(teller.token);
    // Just under the limit: still refreshable.
    await ageIdleOnly(sessionId, limits.staffSessionIdleMs - 60_000);
    const fresh = await auth().refreshToken({ refreshToken: teller.refreshToken });
    await ageIdleOnly(sessionId, limits.staffSessionIdleMs + 1_000);
    await expectError(auth().refreshToken({ refreshToken: fresh.refreshToken }), Code.Unauthenticated, "SESSION_IDLE");
    await expectError(auth(fresh.accessToken).getCurrentUser({}), Code.Unauthenticated, "SESSION_ENDED");
    // Asking again changes nothing: the session is over.
    await expectError(auth().refreshToken({ refreshToken: fresh.refreshToken }), Code.Unauthenticated, "REFRESH_TOKEN_INVALID");
    const denied = (await auditRows(t, "auth.refresh")).filter((r) => r.target_id === sessionId && r.outcome === "DENIED");
    expect(denied.map((r) => JSON.parse(r.details).reason)).toEqual(["session_idle"]);
    // Signing in again works.
    expect((await signIn(t.baseUrl, teller)).secondFactorEnrolmentRequired).toBe(false);
  });

  test("past the absolute lifetime neither refresh nor the access token works: SESSION_EXPIRED", async () => {
    const admin = await createTestUser(t, [Role.ADMIN]);
    const sessionId = await sessionOf(admin.token);
    // Refreshed every few minutes all day long, so never idle: 12 h after sign-in it ends.
    await age(sessionId, limits.staffSessionLifetimeMs + 1_000);
    await t.app.db.transaction((tx) => tx.run(`UPDATE sessions SET last_used_time = ? WHERE id = ?`, [t.clock.now(), sessionId]));
    await expectError(auth().refreshToken({ refreshToken: admin.refreshToken }), Code.Unauthenticated, "SESSION_EXPIRED");
    // Processes notice at their next session check, sessionRecheckMs on (the clock moved on
    // instead of waited for).
    t.clock.advance(limits.sessionRecheckMs);
    await expectError(auth(admin.token).getCurrentUser({}), Code.Unauthenticated, "SESSION_ENDED");
  });

  test("an enrolment-only session lasts 15 minutes in all", async () => {
    const email = uniqueEmail("enrol");
    const password = strongPassword();
    await t.app.db.transaction((tx) => createUser(tx, { email, fullName: "New", password, roles: [Role.AUDITOR] }, new Argon2Hasher(t.config.argon2)));
    const login = await auth().login({ email, password });
    expect(login.secondFactorEnrolmentRequired).toBe(true);
    const sessionId = await sessionOf(login.accessToken);
    const s = await times(sessionId);
    expect(s.expire_time - s.create_time).toBe(limits.enrolmentSessionLifetimeMs);
    await age(sessionId, limits.enrolmentSessionLifetimeMs + 1_000);
    await t.app.db.transaction((tx) => tx.run(`UPDATE sessions SET last_used_time = ? WHERE id = ?`, [t.clock.now(), sessionId]));
    await expectError(auth().refreshToken({ refreshToken: login.refreshToken }), Code.Unauthenticated, "SESSION_EXPIRED");
  });

  test("a customer's session has no idle limit", async () => {
    const customer = await createTestUser(t, [Role.CUSTOMER]);
    const sessionId = await sessionOf(customer.token);
    await ageIdleOnly(sessionId, limits.staffSessionIdleMs * 4);
    const refreshed = await auth().refreshToken({ refreshToken: customer.refreshToken });
    expect(Number(refreshed.refreshTokenExpireTime!.seconds) * 1000 - t.clock.now()).toBeGreaterThan(limits.refreshTokenTtlSeconds * 1000 - 60_000);
  });
});
