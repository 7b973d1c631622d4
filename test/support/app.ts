// Starts a real bankd on 127.0.0.1, port 0, on a fresh test database, and builds clients for it.
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import { loadConfig, type Config } from "../../src/config";
import { startApp, type App, type StartOptions } from "../../src/app";
import { createLogger } from "../../src/logger";
import { createTestDatabase, type Engine, type TestDatabase } from "./db";
import { TEST_METRICS_TOKEN } from "./metrics";
import { testClock, type TestClock } from "./clock";

export interface TestApp {
  app: App;
  db: TestDatabase;
  config: Readonly<Config>;
  baseUrl: string;
  /** The app's clock (support/clock.ts): move it on instead of waiting for time to pass. */
  clock: TestClock;
  /** Stops the server and drops the database. */
  stop(): Promise<void>;
}

/** Cheaper argon2 costs than production so that suites with many sign-ins stay fast; tests of
 * the costs themselves set BANK_ARGON2_* explicitly. */
export const FAST_ARGON2 = { BANK_ARGON2_MEMORY_KIB: "4096", BANK_ARGON2_TIME_COST: "1" };

/** Register's rate limits lifted, as FAST_ARGON2 lowers argon2's costs: suites register many
 * users from 127.0.0.1. The tests of the limits themselves set BANK_REGISTER_* explicitly. */
export const LENIENT_REGISTRATION = { BANK_REGISTER_PER_ADDRESS_PER_HOUR: "1000000", BANK_REGISTER_PER_MINUTE: "1000000" };

export type TestStartOptions = Omit<StartOptions, "clock"> & { clock?: TestClock };

export async function startTestApp(engine: Engine, env: Record<string, string> = {}, opts: TestStartOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase(engine);
  const config = loadConfig({
    BANK_HOST: "127.0.0.1",
    BANK_PORT: "0",
    BANK_DATA_DIR: db.dataDir,
    BANK_DATABASE_URL: db.url,
    BANK_LOG_LEVEL: process.env.BANK_TEST_LOG_LEVEL ?? "silent",
    BANK_METRICS_TOKEN: TEST_METRICS_TOKEN,
    ...FAST_ARGON2,
    ...LENIENT_REGISTRATION,
    ...env,
  });
  const clock = opts.clock ?? testClock;
  const app = await startApp(config, { logger: createLogger(config.logLevel), ...opts, clock });
  return {
    app,
    db,
    config,
    baseUrl: app.server.url,
    clock,
    stop: async () => {
      await app.shutdown();
      await db.drop();
    },
  };
}

export type Protocol = "connect" | "grpc" | "grpcweb";

/** A client of `service` over the given protocol; `token` adds a bearer header. */
export function client<T extends DescService>(baseUrl: string, service: T, opts: { protocol?: Protocol; token?: string | (() => string | undefined); interceptors?: Interceptor[] } = {}): Client<T> {
  const auth: Interceptor = (next) => async (req) => {
    const token = typeof opts.token === "function" ? opts.token() : opts.token;
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const interceptors = [auth, ...(opts.interceptors ?? [])];
  const protocol = opts.protocol ?? "connect";
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl, interceptors })
      : protocol === "grpcweb"
        ? createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors })
        : createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
  return createClient(service, transport);
}
