// Goal (issue 26, item 11): a Login with the right password that its caller gives up on (a 5 ms
// gRPC deadline, or a cancel) never counts as a failed sign-in. The throttle reserves each attempt
// before argon2 and a successful check releases it; that release used to be in the session's unit
// of work, which the deadline rolls back, so seven cut Logins left seven "failures" and the owner's
// next Login was LOGIN_THROTTLED (the back-off growing to 15 minutes with retries). A wrong
// password still counts however the call ends (a deadline must not buy free guesses).
import { Code, ConnectError } from "@connectrpc/connect";
import type pino from "pino";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { createAuthModule } from "../../src/modules";
import { createLogger } from "../../src/logger";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser } from "../support/users";
import { waitUntil } from "../support/wait";

/** The production argon2 costs: a check takes longer than the 5 ms deadline. */
const REAL_ARGON2 = { BANK_ARGON2_MEMORY_KIB: "19456", BANK_ARGON2_TIME_COST: "2" };

describe.each(engines())("a Login cut short by its caller on %s", (engine) => {
  let t: TestApp;
  // The server's log line of each finished call: a cut Login's handler runs on after its client
  // gave up (argon2 is not interruptible), and the next Login must come after it, as it would
  // from a person retrying.
  const finished: string[] = [];
  const logger = createLogger("info", { write: (s: string) => void finished.push((JSON.parse(s) as { method?: string }).method ?? "") } as pino.DestinationStream);
  const logins = () => finished.filter((m) => m === "bank.v1.AuthService/Login").length;
  /** Runs `call` and waits until the server has finished it too. */
  const settled = async <T>(call: () => Promise<T>): Promise<T> => {
    const before = logins();
    try {
      return await call();
    } finally {
      await waitUntil("the server finished the Login", () => logins() > before);
    }
  };
  beforeAll(async () => {
    t = await startTestApp(engine, { ...REAL_ARGON2, BANK_LOG_LEVEL: "info" }, { logger, modules: async (ctx) => [await createAuthModule(ctx)] });
  });
  afterAll(async () => t.stop());

  test("seven right-password Logins with a 5 ms deadline, then a normal Login succeeds at once", async () => {
    const user = await createTestUser(t);
    const grpc = client(t.baseUrl, AuthService, { protocol: "grpc" });
    const codes: string[] = [];
    for (let i = 0; i < 7; i++) {
      codes.push(await settled(() => grpc.login({ email: user.email, password: user.password }, { timeoutMs: 5 })).then(() => "OK", (err: unknown) => Code[ConnectError.from(err).code]));
    }
    // The deadline is what ended them (a fast machine may let one through: that is fine too).
    expect(codes.filter((c) => c !== "DeadlineExceeded" && c !== "OK")).toEqual([]);
    expect(codes).toContain("DeadlineExceeded");
    const login = await grpc.login({ email: user.email, password: user.password });
    expect(login.accessToken).not.toBe("");
  });

  test("cancelled Logins (the client aborts) do not count either", async () => {
    const user = await createTestUser(t);
    const connect = client(t.baseUrl, AuthService);
    for (let i = 0; i < 7; i++) {
      const code = await settled(() => connect.login({ email: user.email, password: user.password }, { signal: AbortSignal.timeout(5) })).then(() => "OK", (err: unknown) => Code[ConnectError.from(err).code]);
      expect(["Canceled", "DeadlineExceeded", "OK"]).toContain(code);
    }
    const login = await connect.login({ email: user.email, password: user.password });
    expect(login.accessToken).not.toBe("");
  });

  test("wrong passwords still count: after the free failures the pair is throttled, deadline or not", async () => {
    const user = await createTestUser(t);
    const connect = client(t.baseUrl, AuthService);
    const reasons: string[] = [];
    for (let i = 0; i < 7; i++) {
      reasons.push(await connect.login({ email: user.email, password: `${user.password}x` }).then(() => "OK", (err: unknown) => ConnectError.from(err).findDetails(ErrorInfoSchema)[0]?.reason ?? "?"));
    }
    expect(reasons.slice(0, 5)).toEqual(Array(5).fill("INVALID_CREDENTIALS"));
    expect(reasons).toContain("LOGIN_THROTTLED");
    const throttled = ConnectError.from(await connect.login({ email: user.email, password: user.password }).catch((e: unknown) => e));
    expect(throttled.findDetails(ErrorInfoSchema)[0]?.reason).toBe("LOGIN_THROTTLED");
  });
});
