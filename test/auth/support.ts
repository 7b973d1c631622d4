// Helpers shared by the auth tests: an app with only the auth module (so these suites test
// auth alone, whatever other modules are doing), error assertions, and audit reads.
import { Code, ConnectError } from "@connectrpc/connect";
import { startApp, type App, type AppModule } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/logger";
import { createAuthModule, type AuthModule } from "../../src/modules";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import type { Engine } from "../support/db";
import { FAST_ARGON2, LENIENT_REGISTRATION, client, startTestApp, type TestApp } from "../support/app";

export interface AuthTestApp extends TestApp {
  auth: AuthModule;
}

export async function startAuthApp(engine: Engine, env: Record<string, string> = {}, extra: AppModule[] = []): Promise<AuthTestApp> {
  let auth: AuthModule | undefined;
  const t = await startTestApp(engine, env, {
    modules: async (ctx) => {
      auth = await createAuthModule(ctx);
      return [auth, ...extra];
    },
  });
  if (!auth) throw new Error("auth module not built");
  return { ...t, auth };
}

export function authApi(t: TestApp, token?: string | (() => string | undefined), protocol: "connect" | "grpc" | "grpcweb" = "connect") {
  return client(t.baseUrl, AuthService, { token, protocol });
}

/** Awaits a call that must fail, and checks its code and ErrorInfo reason. */
export async function expectError(call: Promise<unknown>, code: Code, reason?: string): Promise<ConnectError> {
  const err = ConnectError.from(await call.then(() => new Error("the call succeeded"), (e: unknown) => e));
  expect(Code[err.code]).toBe(Code[code]);
  if (reason !== undefined) expect(reasonOf(err)).toBe(reason);
  return err;
}

export function reasonOf(err: ConnectError): string | undefined {
  return err.findDetails(ErrorInfoSchema)[0]?.reason;
}

export function metadataOf(err: ConnectError): Record<string, string> {
  return err.findDetails(ErrorInfoSchema)[0]?.metadata ?? {};
}

export interface AuditRow {
  actor_id: string;
  action: string;
  target_id: string;
  outcome: string;
  details: string;
}

export function auditRows(t: TestApp, action: string): Promise<AuditRow[]> {
  return t.app.db.read((tx) => tx.all<AuditRow>(`SELECT actor_id, action, target_id, outcome, details FROM audit_events WHERE action = ? ORDER BY event_time, id`, [action]));
}

/** Words that must never reach a client in an error message. */
export const LEAKY = /jose|jws|jwt.*(claim|header)|signature verification|stack|\bat \/|\.ts:|SELECT|INSERT|argon|sqlite|postgres/i;

/** A second bankd process-equivalent on the same database and key directory as `t` (its own
 * caches, its own connections), with env overrides: for multi-process and cost-change tests. */
export async function startSecondApp(t: TestApp, env: Record<string, string> = {}): Promise<{ app: App; auth: AuthModule; baseUrl: string }> {
  let auth: AuthModule | undefined;
  const config = loadConfig({
    BANK_HOST: "127.0.0.1",
    BANK_PORT: "0",
    BANK_DATA_DIR: t.db.dataDir,
    BANK_DATABASE_URL: t.db.url,
    BANK_LOG_LEVEL: process.env.BANK_TEST_LOG_LEVEL ?? "silent",
    ...FAST_ARGON2,
    ...LENIENT_REGISTRATION,
    ...env,
  });
  const app = await startApp(config, {
    logger: createLogger(config.logLevel),
    // The same clock as the first app's, as two processes on one host share theirs.
    clock: t.clock,
    modules: async (ctx) => {
      auth = await createAuthModule(ctx);
      return [auth];
    },
  });
  if (!auth) throw new Error("auth module not built");
  return { app, auth, baseUrl: app.server.url };
}
