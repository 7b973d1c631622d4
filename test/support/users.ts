// Test users: created in the database through the same createUser as Register and the CLI,
// then signed in over the API (AuthService.Login through a Connect client) for real tokens.
import { randomBytes } from "node:crypto";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { createUser } from "../../src/auth/users";
import { Argon2Hasher } from "../../src/auth/passwords";
import { client, startTestApp, type TestApp } from "./app";
import type { Engine } from "./db";

export interface TestUser {
  id: string;
  email: string;
  password: string;
  fullName: string;
  token: string;
  refreshToken: string;
  roles: Role[];
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
  const row = await t.app.db.transaction((tx) => createUser(tx, { email, fullName, password, roles }, hasher));
  const login = await client(t.baseUrl, AuthService).login({ email, password });
  return { id: row.id, email: row.email, password, fullName: row.fullName, token: login.accessToken, refreshToken: login.refreshToken, roles };
}

/** A real app and its cast, created one at a time (sign-ins share a small argon2 queue): the
 * beforeAll of the ledger suites that go through the API. */
export async function startAppWithUsers<K extends string>(engine: Engine, cast: Record<K, Role[]>): Promise<{ t: TestApp } & Record<K, TestUser>> {
  const t = await startTestApp(engine);
  const users = {} as Record<K, TestUser>;
  for (const name of Object.keys(cast) as K[]) users[name] = await createTestUser(t, cast[name]);
  return { t, ...users };
}
