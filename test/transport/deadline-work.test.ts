// Goal (issue 13, item 1): the deadline is carried into the work. A posting whose deadline has
// passed before its batch starts is dropped (DEADLINE_EXCEEDED, nothing written, its request_id
// still free, so a retry applies it once); a Login whose deadline passes during argon2 creates no
// session (the unit of work that would start it is not started once the signal has fired). Real
// server, raw gRPC and Connect calls carrying the deadline headers, on SQLite and PostgreSQL.
import { Code, ConnectError } from "@connectrpc/connect";
import { create, toBinary } from "@bufbuild/protobuf";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { DepositRequestSchema, TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { client, startTestApp, type TestApp } from "../support/app";
import { engines } from "../support/db";
import { metricsText } from "../support/metrics";
import { createTestUser, type TestUser } from "../support/users";
import { connectCode, connectJson, grpcCall, grpcFrame } from "../system/support/raw-calls";

/** Slower argon2 than the suites' fast costs, so that a Login takes far longer than its deadline. */
const SLOW_ARGON2 = { BANK_ARGON2_MEMORY_KIB: "19456", BANK_ARGON2_TIME_COST: "8" };
const LOGIN = "bank.v1.AuthService/Login";

describe.each(engines())("deadlines carried into the work on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let accountId: string;

  beforeAll(async () => {
    t = await startTestApp(engine, SLOW_ARGON2);
    alice = await createTestUser(t);
    accountId = (await client(t.baseUrl, AccountService, { token: alice.token }).createAccount({ requestId: `open-${Date.now()}`, currency: "USD", type: AccountType.CHECKING, displayName: "Main" })).account!.id;
  }, 60_000);
  afterAll(async () => t.stop());

  const storedWithRequestId = (requestId: string) => t.app.db.read((tx) => tx.all(`SELECT id FROM transactions WHERE request_id = ?`, [requestId]));
  const sessionsOf = (userId: string) => t.app.db.read((tx) => tx.all(`SELECT id FROM sessions WHERE user_id = ?`, [userId]));
  /** Waits (bounded) until no call of `method` is in flight in the server: its work is over. */
  async function settled(method: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    const line = new RegExp(`^bankd_rpc_in_flight\\{method="${method.replace(/[./]/g, "\\$&")}"\\} (\\d+)$`, "m");
    while (Date.now() < deadline) {
      const match = line.exec(await metricsText(t.baseUrl));
      if (!match || match[1] === "0") return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`${method} still in flight after 20 s`);
  }

  test("gRPC: a Deposit with a spent deadline (grpc-timeout 1u) is DEADLINE_EXCEEDED, writes nothing, and its retry applies once", async () => {
    const requestId = `spent-${Date.now()}`;
    const message = toBinary(DepositRequestSchema, create(DepositRequestSchema, { requestId, accountId, amount: { currency: "USD", minorUnits: 500n }, description: "late" }));
    const res = await grpcCall(t.baseUrl, "bank.v1.TransactionService/Deposit", grpcFrame(message), alice.token, { "grpc-timeout": "1u" });
    expect(res.trailers["grpc-status"] ?? res.headers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
    await settled("bank.v1.TransactionService/Deposit");
    expect(await storedWithRequestId(requestId)).toEqual([]);
    // The request_id was not spent: the retry (no deadline) applies it, and a second retry replays it.
    const money = client(t.baseUrl, TransactionService, { token: alice.token });
    const first = await money.deposit({ requestId, accountId, amount: { currency: "USD", minorUnits: 500n }, description: "late" });
    const again = await money.deposit({ requestId, accountId, amount: { currency: "USD", minorUnits: 500n }, description: "late" });
    expect(again.transaction!.id).toBe(first.transaction!.id);
    expect(await storedWithRequestId(requestId)).toHaveLength(1);
  });

  test("Connect: a Withdraw with a spent deadline (connect-timeout-ms 0) writes nothing", async () => {
    const requestId = `spent-w-${Date.now()}`;
    const res = await connectJson(t.baseUrl, "bank.v1.TransactionService/Withdraw", { requestId, accountId, amount: { currency: "USD", minorUnits: "1" } }, alice.token, { "connect-timeout-ms": "0" });
    expect(connectCode(res)).toBe("deadline_exceeded");
    await settled("bank.v1.TransactionService/Withdraw");
    expect(await storedWithRequestId(requestId)).toEqual([]);
  });

  test("Login whose deadline passes during argon2: DEADLINE_EXCEEDED and no session; without a deadline, one session", async () => {
    const bob = await createTestUser(t);
    const before = (await sessionsOf(bob.id)).length;
    const started = Date.now();
    const err = await client(t.baseUrl, AuthService)
      .login({ email: bob.email, password: bob.password }, { timeoutMs: 30 })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.DeadlineExceeded);
    // The server keeps working after the client gave up: wait until it is done with the call.
    await settled(LOGIN);
    const workMs = Date.now() - started;
    expect(await sessionsOf(bob.id)).toHaveLength(before);
    const audited = await t.app.db.read((tx) => tx.all<{ n: number | string }>(`SELECT count(*) AS n FROM audit_events WHERE action = 'auth.login' AND outcome = 'SUCCESS' AND actor_id = ? AND event_time >= ?`, [bob.id, started]));
    expect(Number(audited[0]!.n)).toBe(0);
    // The same sign-in with time to finish gets its session (and was not throttled by the first).
    const ok = await client(t.baseUrl, AuthService).login({ email: bob.email, password: bob.password });
    expect(ok.accessToken).not.toBe("");
    expect(await sessionsOf(bob.id)).toHaveLength(before + 1);
    // The test means something only if the work outlived the deadline by far.
    expect(workMs).toBeGreaterThan(60);
  });
});
