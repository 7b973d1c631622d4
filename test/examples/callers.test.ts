// Goal: the two internal-service examples work against a real bankd, as written: the grpc-js +
// proto-loader caller (proto/ files, gRPC over h2c) and the connect-node gRPC caller (gen/) each
// sign in as a service user (a teller), verify the access token offline against
// /.well-known/jwks.json with jose (EdDSA, iss, aud, typ pinned), and make a transfer by account
// number with a request_id. When the transfer's response is lost (the server applied it, the
// caller saw UNAVAILABLE), the retry carries the same request_id and the money moves once.
import * as path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, secondFactorOf, type TestUser } from "../support/users";
import { runConnectNodeCaller } from "../../examples/connect-node-caller";
import { nextCode } from "../support/totp";
import { runGrpcJsCaller } from "../../examples/grpc-js-caller";

const execFileAsync = promisify(execFile);
const TSX = path.resolve("node_modules/.bin/tsx");
const TRANSFER_PATH = "/bank.v1.TransactionService/Transfer";

interface Users {
  service: TestUser;
  payer: TestUser;
  payee: TestUser;
}

interface Fixture {
  service: TestUser;
  sourceId: string;
  targetId: string;
  targetNumber: string;
}

/** The users, once per server: a teller as the service user, and two customers. Created one
 * after the other, since password checks are a bounded, shared resource of the server. */
async function createUsers(t: TestApp): Promise<Users> {
  const service = await createTestUser(t, [Role.TELLER]);
  const payer = await createTestUser(t);
  const payee = await createTestUser(t);
  return { service, payer, payee };
}

/** Fresh accounts per test: the payer's holds 100.00 USD, the payee's nothing. */
async function fixture(t: TestApp, users: Users): Promise<Fixture> {
  const open = (user: TestUser, name: string) =>
    client(t.baseUrl, AccountService, { token: user.token }).createAccount({ requestId: crypto.randomUUID(), currency: "USD", type: AccountType.CHECKING, displayName: name });
  const source = (await open(users.payer, "payer")).account!;
  const target = (await open(users.payee, "payee")).account!;
  await client(t.baseUrl, TransactionService, { token: users.payer.token }).deposit({ requestId: crypto.randomUUID(), accountId: source.id, amount: { currency: "USD", minorUnits: 100_00n } });
  return { service: users.service, sourceId: source.id, targetId: target.id, targetNumber: target.number };
}

async function balances(t: TestApp, f: Fixture): Promise<[bigint, bigint]> {
  const accounts = client(t.baseUrl, AccountService, { token: f.service.token });
  const source = (await accounts.getAccount({ accountId: f.sourceId })).account!;
  const target = (await accounts.getAccount({ accountId: f.targetId })).account!;
  return [source.ledgerBalance!.minorUnits, target.ledgerBalance!.minorUnits];
}

async function transferCount(t: TestApp, f: Fixture): Promise<number> {
  const res = await client(t.baseUrl, TransactionService, { token: f.service.token }).listTransactions({ accountId: f.targetId });
  return res.entries.length;
}

/** connect-node: forwards the first Transfer, then reports UNAVAILABLE as if the response was lost. */
function loseFirstTransferResponse(seen: string[]): Interceptor {
  let lost = false;
  return (next) => async (req) => {
    if (req.method.name !== "Transfer") return next(req);
    if (!req.stream) seen.push((req.message as unknown as { requestId: string }).requestId);
    const res = await next(req);
    if (lost) return res;
    lost = true;
    throw new ConnectError("injected: response lost", Code.Unavailable);
  };
}

/** grpc-js: the same, as a client interceptor that swallows the first Transfer's response. */
function loseFirstGrpcTransferResponse(seen: string[]): grpc.Interceptor {
  let lost = false;
  return (options, nextCall) => {
    const isTransfer = options.method_definition.path === TRANSFER_PATH;
    return new grpc.InterceptingCall(nextCall(options), {
      sendMessage(message: { requestId: string }, next) {
        if (isTransfer) seen.push(message.requestId);
        next(message);
      },
      start(metadata, listener, next) {
        if (!isTransfer || lost) return next(metadata, listener);
        lost = true;
        // The message is passed on (grpc-js holds the status until it is), then the OK status is
        // replaced: the unary callback reports the error and drops the message.
        next(metadata, {
          onReceiveStatus: (status, forward) => forward({ ...status, code: grpc.status.UNAVAILABLE, details: "injected: response lost" }),
        });
      },
    });
  };
}

const callers = [
  { name: "grpc-js + proto-loader", file: "examples/grpc-js-caller.ts", run: runGrpcJsCaller, lose: (seen: string[]) => ({ interceptors: [loseFirstGrpcTransferResponse(seen)] }) },
  { name: "connect-node gRPC transport", file: "examples/connect-node-caller.ts", run: runConnectNodeCaller, lose: (seen: string[]) => ({ interceptors: [loseFirstTransferResponse(seen)] }) },
] as const;

describe.each(engines())("example callers on %s", (engine) => {
  let t: TestApp;
  let users: Users;
  beforeAll(async () => {
    t = await startTestApp(engine);
    users = await createUsers(t);
  });
  afterAll(async () => t.stop());

  describe.each(callers)("$name", ({ file, run, lose }) => {
    test("signs in, verifies the token offline, and transfers by account number", async () => {
      const f = await fixture(t, users);
      const credentials = { email: f.service.email, password: f.service.password, secondFactor: await secondFactorOf(f.service) };
      const result = await (run as typeof runGrpcJsCaller)(t.baseUrl, credentials, { fromAccountId: f.sourceId, toAccountNumber: f.targetNumber, amount: { currency: "USD", minorUnits: 12_34n } });
      expect(result.claims).toMatchObject({ iss: "bankd", aud: "bankd", sub: f.service.id });
      expect(result.claims.exp).toBeGreaterThan(Date.now() / 1000);
      expect(result.transactionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(result.attempts).toBe(1);
      expect(await balances(t, f)).toEqual([100_00n - 12_34n, 12_34n]);
    });

    test("a lost response is retried after UNAVAILABLE with the same request_id, and the money moves once", async () => {
      const f = await fixture(t, users);
      const seen: string[] = [];
      const credentials = { email: f.service.email, password: f.service.password, secondFactor: await secondFactorOf(f.service) };
      const result = await (run as typeof runGrpcJsCaller)(
        t.baseUrl,
        credentials,
        { fromAccountId: f.sourceId, toAccountNumber: f.targetNumber, amount: { currency: "USD", minorUnits: 5_00n } },
        { ...(lose(seen) as object), backoffMsBase: 10 },
      );
      expect(result.attempts).toBe(2);
      expect(seen).toEqual([result.requestId, result.requestId]);
      expect(await balances(t, f)).toEqual([95_00n, 5_00n]);
      expect(await transferCount(t, f)).toBe(1);
    });

    // Once, on the first engine: the command line adds nothing engine-specific.
    (engine === engines()[0] ? test : test.skip)("runs from the command line with tsx, the password from BANK_PASSWORD", async () => {
      const f = await fixture(t, users);
      const args = [file, "--base-url", t.baseUrl, "--email", f.service.email, "--from", f.sourceId, "--to-number", f.targetNumber, "--amount-minor", "250", "--currency", "USD"];
      const out = await execFileAsync(TSX, args, { env: { ...process.env, BANK_PASSWORD: f.service.password, BANK_TOTP_CODE: await nextCode(f.service.totpSecret!) } });
      expect(JSON.parse(out.stdout)).toMatchObject({ subject: f.service.id, attempts: 1 });
      expect(await balances(t, f)).toEqual([100_00n - 250n, 250n]);
    });

    (file === "examples/grpc-js-caller.ts" ? test : test.skip)("on the gRPC port (BANK_GRPC_PORT, --grpc-target), the JWKS from the main port; from the command line too", async () => {
      const f = await fixture(t, users);
      const credentials = { email: f.service.email, password: f.service.password, secondFactor: await secondFactorOf(f.service) };
      const target = t.app.grpcPort!.target;
      const result = await runGrpcJsCaller(t.baseUrl, credentials, { fromAccountId: f.sourceId, toAccountNumber: f.targetNumber, amount: { currency: "USD", minorUnits: 3_00n } }, { grpcTarget: target });
      expect(result.claims).toMatchObject({ sub: f.service.id });
      expect(result.attempts).toBe(1);
      expect(await balances(t, f)).toEqual([97_00n, 3_00n]);
      if (engine !== engines()[0]) return;
      const args = [file, "--base-url", t.baseUrl, "--grpc-target", target, "--email", f.service.email, "--from", f.sourceId, "--to-number", f.targetNumber, "--amount-minor", "100"];
      const out = await execFileAsync(TSX, args, { env: { ...process.env, BANK_PASSWORD: f.service.password, BANK_TOTP_CODE: await nextCode(f.service.totpSecret!) } });
      expect(JSON.parse(out.stdout)).toMatchObject({ subject: f.service.id, attempts: 1 });
      expect(await balances(t, f)).toEqual([96_00n, 4_00n]);
    });

    test("a wrong password fails the caller before any transfer", async () => {
      const f = await fixture(t, users);
      await expect((run as typeof runGrpcJsCaller)(t.baseUrl, { email: f.service.email, password: "not the password at all" }, { fromAccountId: f.sourceId, toAccountNumber: f.targetNumber, amount: { currency: "USD", minorUnits: 1n } })).rejects.toMatchObject({ code: Code.Unauthenticated });
      expect(await balances(t, f)).toEqual([100_00n, 0n]);
    });
  });
});
