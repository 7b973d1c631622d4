// Test users: created in the database through the same createUser as Register and the CLI,
// then signed in over the API (AuthService.Login through a Connect client) for real tokens.
// Staff (teller, auditor, admin) enrol their TOTP second factor over the API as a person would
// in the console (Login -> enrolment-only tokens -> EnrollTotp -> ConfirmTotp with a code
// computed from the secret), and end with the full session ConfirmTotp starts.
import { randomBytes } from "node:crypto";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { createUser } from "../../src/auth/users";
import { Argon2Hasher } from "../../src/auth/passwords";
import { client, startTestApp, type TestApp } from "./app";
import { codeNow, nextCode } from "./totp";
import type { Engine } from "./db";
import { roleFromProto } from "../../src/services/mapping/roles";

export interface TestUser {
  id: string;
  email: string;
  password: string;
  fullName: string;
  token: string;
  refreshToken: string;
  roles: Role[];
  /** Staff: the TOTP secret (base32) their second factor was enrolled with. */
  totpSecret?: string;
  /** Staff: the ten recovery codes ConfirmTotp gave. */
  recoveryCodes?: string[];
}

const STAFF: readonly Role[] = [Role.TELLER, Role.AUDITOR, Role.ADMIN];

export function isStaffRoles(roles: readonly Role[]): boolean {
  return roles.some((r) => STAFF.includes(r));
}

/** The second factor of a sign-in of `user`, if they have one: a TOTP code when one is free now
 * (each step signs in once), else one of their unused recovery codes (used up here, so suites
 * that sign one person in many times do not wait for the clock), else the next step's code. */
export async function secondFactorOf(user: Pick<TestUser, "totpSecret" | "recoveryCodes">): Promise<{ totpCode?: string; recoveryCode?: string }> {
  if (!user.totpSecret) return {};
  const code = codeNow(user.totpSecret);
  if (code !== undefined) return { totpCode: code };
  const recoveryCode = user.recoveryCodes?.shift();
  if (recoveryCode !== undefined) return { recoveryCode };
  return { totpCode: nextCode(user.totpSecret) };
}

/** Signs an existing user in, with their second factor when they have one. */
export async function signIn(baseUrl: string, user: Pick<TestUser, "email" | "password" | "totpSecret" | "recoveryCodes">) {
  return client(baseUrl, AuthService).login({ email: user.email, password: user.password, ...(await secondFactorOf(user)) });
}

/** Enrols a staff member's second factor from an enrolment-only sign-in: the secret, the
 * recovery codes and the full session's tokens. */
export async function enrolSecondFactor(baseUrl: string, enrolmentToken: string): Promise<{ secret: string; recoveryCodes: string[]; token: string; refreshToken: string }> {
  const auth = client(baseUrl, AuthService, { token: enrolmentToken });
  const enrolment = await auth.enrollTotp({});
  const confirmed = await auth.confirmTotp({ enrolmentId: enrolment.enrolmentId, code: nextCode(enrolment.secret) });
  return { secret: enrolment.secret, recoveryCodes: confirmed.recoveryCodes, token: confirmed.accessToken, refreshToken: confirmed.refreshToken };
}

/** A password that passes the policy: 24 random base64url characters. */
export function strongPassword(): string {
  return `Pw-${randomBytes(18).toString("base64url")}`;
}

export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${randomBytes(6).toString("hex")}@example.test`;
}

export async function createTestUser(
  t: TestApp,
  roles: Role[] = [Role.CUSTOMER],
  opts: { email?: string; password?: string; fullName?: string } = {},
): Promise<TestUser> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? strongPassword();
  const fullName = opts.fullName ?? "Test User";
  const hasher = new Argon2Hasher(t.config.argon2);
  const row = await t.app.db.transaction((tx) => createUser(tx, { email, fullName, password, roles: roles.map((r) => roleFromProto(r)!) }, hasher));
  const login = await client(t.baseUrl, AuthService).login({ email, password });
  const user: TestUser = { id: row.id, email: row.email, password, fullName: row.fullName, token: login.accessToken, refreshToken: login.refreshToken, roles };
  if (!login.secondFactorEnrolmentRequired) return user;
  const enrolled = await enrolSecondFactor(t.baseUrl, login.accessToken);
  return { ...user, token: enrolled.token, refreshToken: enrolled.refreshToken, totpSecret: enrolled.secret, recoveryCodes: enrolled.recoveryCodes };
}

/** A real app and its cast, created one at a time (sign-ins share a small argon2 queue): the
 * beforeAll of the ledger suites that go through the API. */
export async function startAppWithUsers<K extends string>(engine: Engine, cast: Record<K, Role[]>): Promise<{ t: TestApp } & Record<K, TestUser>> {
  const t = await startTestApp(engine);
  const users = {} as Record<K, TestUser>;
  for (const name of Object.keys(cast) as K[]) users[name] = await createTestUser(t, cast[name]);
  return { t, ...users };
}
