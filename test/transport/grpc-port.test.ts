// Goal (issue 23): the gRPC port (BANK_GRPC_PORT, @grpc/grpc-js) serves the same service
// implementations as the main port and runs the same steps on every call: the bearer check and
// the roles of `bank.v1.access`, the observe step (x-request-id, one log line, metrics), the
// deadline policy (a huge deadline is clamped and works; a deadline already passed does nothing),
// and the error contract (the Connect code as grpc-status, bank.v1.ErrorInfo in
// grpc-status-details-bin, grpc-message as the handler wrote it). Money moved over the gRPC port
// is what the main port reads. Where grpc-js answers before bankd's code (an unknown method, an
// oversized message), the test says so: docs/api.md lists these as differences of the port.
// Calls are made with a real @grpc/grpc-js client, and again with Python grpcio (Debian's
// python3-grpcio) where it is installed.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { errorInfoInStatus } from "../support/status-details";
import type { ConnectError, Interceptor } from "@connectrpc/connect";
import type pino from "pino";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb";
import * as reflection from "../../gen/grpc/reflection/v1/reflection_pb";
import * as reflectionAlpha from "../../gen/grpc/reflection/v1alpha/reflection_pb";
import { createLogger } from "../../src/logger";
import { limits } from "../../src/limits";
import { client, startTestApp, type TestApp } from "../support/app";
import { engines } from "../support/db";
import { metricsText } from "../support/metrics";
import { createTestUser, type TestUser } from "../support/users";
import { waitUntil } from "../support/wait";
import { grpcCall, grpcFrame } from "../system/support/raw-calls";

interface LogLine {
  level: number;
  msg: string;
  method?: string;
  code?: string;
  reason?: string;
  requestId?: string;
  protocol?: string;
}

interface Answer<O extends DescMessage> {
  message?: MessageShape<O>;
  error?: grpc.ServiceError;
  header?: grpc.Metadata;
}

/** One unary call over grpc-js, with protobuf-es (de)serializing. */
function unary<I extends DescMessage, O extends DescMessage>(
  c: grpc.Client,
  method: DescMethod & { input: I; output: O },
  input: MessageInitShape<I> | Buffer,
  opts: { token?: string; requestId?: string; deadline?: grpc.Deadline } = {},
): Promise<Answer<O>> {
  const md = new grpc.Metadata();
  if (opts.token) md.set("authorization", `Bearer ${opts.token}`);
  if (opts.requestId) md.set("x-request-id", opts.requestId);
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(toBinary(method.input, create(method.input, input)));
  return new Promise((resolve) => {
    let header: grpc.Metadata | undefined;
    const call = c.makeUnaryRequest(
      `/${method.parent.typeName}/${method.name}`,
      (b: Buffer) => b,
      (b: Buffer) => fromBinary(method.output, b),
      bytes,
      md,
      opts.deadline === undefined ? {} : { deadline: opts.deadline },
      (error, message) => resolve({ error: error ?? undefined, message: message ?? undefined, header }),
    );
    call.on("metadata", (m) => (header = m));
  });
}


const reasonOf = (err: grpc.ServiceError | undefined) => errorInfoInStatus(err?.metadata?.get("grpc-status-details-bin")[0] as Buffer | undefined)?.reason;

describe.each(engines())("the gRPC port (%s)", (engine) => {
  const lines: LogLine[] = [];
  const logger = createLogger("info", { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } as pino.DestinationStream);
  let t: TestApp;
  let port: grpc.Client;
  let main: grpc.Client;
  let customer: TestUser;
  let accountId: string;

  beforeAll(async () => {
    t = await startTestApp(engine, {}, { logger });
    port = new grpc.Client(t.app.grpcPort!.target, grpc.credentials.createInsecure());
    main = new grpc.Client(`127.0.0.1:${t.app.server.port}`, grpc.credentials.createInsecure());
    customer = await createTestUser(t, [Role.CUSTOMER]);
    const opened = await client(t.baseUrl, AccountService, { token: customer.token }).createAccount({ requestId: randomUUID(), currency: "USD", type: AccountType.CHECKING });
    accountId = opened.account!.id;
  });
  afterAll(async () => {
    port?.close();
    main?.close();
    await t?.stop();
  });

  const balance = async () => (await client(t.baseUrl, AccountService, { token: customer.token }).getBalance({ accountId })).ledgerBalance?.minorUnits;

  test("a call succeeds with the caller's token; x-request-id comes back, one log line and a metric are written", async () => {
    const res = await unary(port, AccountService.method.getBalance, { accountId }, { token: customer.token, requestId: "grpc-port-balance-1" });
    expect(res.error).toBeUndefined();
    expect(res.message!.ledgerBalance?.minorUnits).toBe(0n);
    expect(res.header?.get("x-request-id")).toEqual(["grpc-port-balance-1"]);
    await waitUntil("the log line", () => lines.some((l) => l.requestId === "grpc-port-balance-1"));
    expect(lines.filter((l) => l.requestId === "grpc-port-balance-1")).toEqual([
      expect.objectContaining({ msg: "rpc", method: "bank.v1.AccountService/GetBalance", code: "OK", protocol: "application/grpc" }),
    ]);
    expect(await metricsText(t.baseUrl)).toMatch(/bankd_rpc_total\{method="bank.v1.AccountService\/GetBalance",code="OK"\} [1-9]/);
  });

  test("grpc.health.v1 Check answers per service; reflection v1 and v1alpha list the services", async () => {
    const ok = await unary(port, Health.method.check, { service: "bank.v1.AccountService" });
    expect(ok.message?.status).toBe(Serving.SERVING);
    const unknown = await unary(port, Health.method.check, { service: "nope.v1.Nope" });
    expect(unknown.error?.code).toBe(grpc.status.NOT_FOUND);
    for (const r of [reflection, reflectionAlpha]) {
      const method = r.ServerReflection.method.serverReflectionInfo;
      const stream = port.makeBidiStreamRequest(`/${r.ServerReflection.typeName}/${method.name}`, (b: Buffer) => b, (b: Buffer) => fromBinary(method.output, b));
      const ask = (messageRequest: { case: "listServices" | "fileContainingSymbol" | "fileByFilename"; value: string }) =>
        stream.write(Buffer.from(toBinary(method.input, create(method.input, { messageRequest } as MessageInitShape<typeof method.input>))));
      ask({ case: "listServices", value: "" });
      ask({ case: "fileContainingSymbol", value: "bank.v1.TransactionService" });
      ask({ case: "fileByFilename", value: "bank/v1/money.proto" });
      ask({ case: "fileContainingSymbol", value: "nope.v1.Nope" });
      stream.end();
      const answers: MessageShape<typeof method.output>[] = [];
      for await (const m of stream as AsyncIterable<MessageShape<typeof method.output>>) answers.push(m);
      expect(answers.map((a) => a.messageResponse.case)).toEqual(["listServicesResponse", "fileDescriptorResponse", "fileDescriptorResponse", "errorResponse"]);
      const listed = answers[0]!.messageResponse.case === "listServicesResponse" ? answers[0]!.messageResponse.value.service.map((s) => s.name) : [];
      expect(listed).toEqual(expect.arrayContaining(["bank.v1.AccountService", "bank.v1.TransactionService", "grpc.health.v1.Health", r.ServerReflection.typeName]));
      // By symbol: the file with its dependencies (money.proto, error_info.proto, ...), more than one.
      const bySymbol = answers[1]!.messageResponse.case === "fileDescriptorResponse" ? answers[1]!.messageResponse.value.fileDescriptorProto : [];
      expect(bySymbol.length).toBeGreaterThan(1);
      const unknownSymbol = answers[3]!.messageResponse;
      expect(unknownSymbol.case === "errorResponse" ? unknownSymbol.value.errorCode : undefined).toBe(grpc.status.NOT_FOUND);
    }
  });

  test("no token: UNAUTHENTICATED TOKEN_MISSING; a forged one: UNAUTHENTICATED; a customer on an admin method: PERMISSION_DENIED ROLE_NOT_ALLOWED", async () => {
    const none = await unary(port, AccountService.method.getBalance, { accountId });
    expect(none.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(reasonOf(none.error)).toBe("TOKEN_MISSING");
    expect(none.header?.get("x-request-id")).toHaveLength(1);
    const forged = await unary(port, AccountService.method.getBalance, { accountId }, { token: `${customer.token.slice(0, -4)}AAAA` });
    expect(forged.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    const denied = await unary(port, AdminService.method.listUsers, {}, { token: customer.token });
    expect(denied.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(reasonOf(denied.error)).toBe("ROLE_NOT_ALLOWED");
  });

  test("protocol matrix: each error class gets the same code, reason, message and log line on the gRPC port, gRPC on the main port, Connect and gRPC-Web", async () => {
    type Outcome = [number, string | undefined, string | undefined];
    const cases: [string, (via: Via) => Promise<Outcome>][] = [
      ["success", (via) => via(AccountService.method.getBalance, { accountId }, customer.token)],
      ["unauthenticated", (via) => via(AccountService.method.getBalance, { accountId })],
      ["permission denied", (via) => via(AdminService.method.listUsers, {}, customer.token)],
      ["not found", (via) => via(AccountService.method.getBalance, { accountId: randomUUID() }, customer.token)],
      ["invalid argument", (via) => via(TransactionService.method.deposit, { requestId: randomUUID(), accountId, amount: { currency: "USD", minorUnits: 0n } }, customer.token)],
      ["failed precondition", (via) => via(TransactionService.method.deposit, { requestId: randomUUID(), accountId, amount: { currency: "USD", minorUnits: limits.dailyDepositMinorDefault + 1n } }, customer.token)],
    ];
    type Via = (method: DescMethod, input: Record<string, unknown>, token?: string) => Promise<Outcome>;
    // Each call carries its own x-request-id, so that its log line can be found.
    let requestId = "";
    const overGrpcJs = (c: grpc.Client): Via => async (method, input, token) => {
      const res = await unary(c, method as DescMethod & { input: DescMessage; output: DescMessage }, input as never, { token, requestId });
      return [res.error?.code ?? 0, reasonOf(res.error), res.error?.details];
    };
    const overConnectEs = (protocol: "connect" | "grpcweb"): Via => async (method, input, token) => {
      const withId: Interceptor = (next) => (req) => {
        req.header.set("x-request-id", requestId);
        return next(req);
      };
      const c = client(t.baseUrl, method.parent, { protocol, token, interceptors: [withId] }) as unknown as Record<string, (i: unknown) => Promise<unknown>>;
      try {
        await c[method.localName]!(input);
        return [0, undefined, undefined];
      } catch (err) {
        const e = err as ConnectError;
        return [e.code, e.findDetails(ErrorInfoSchema)[0]?.reason, e.rawMessage];
      }
    };
    const before = await balance();
    const vias: [string, Via][] = [["grpc-port", overGrpcJs(port)], ["grpc", overGrpcJs(main)], ["connect", overConnectEs("connect")], ["grpc-web", overConnectEs("grpcweb")]];
    for (const [label, run] of cases) {
      const ids: string[] = [];
      let first: Outcome | undefined;
      for (const [name, via] of vias) {
        requestId = `matrix-${label.replace(/ /g, "-")}-${name}`;
        ids.push(requestId);
        const outcome = await run(via);
        first ??= outcome;
        expect({ label, name, outcome }).toEqual({ label, name, outcome: first });
      }
      expect({ label, hasReason: first![0] === 0 || first![1] !== undefined }).toEqual({ label, hasReason: true });
      // One log line per call, the same method, code and message on every protocol.
      await waitUntil(`the log lines of ${label}`, () => ids.every((id) => lines.some((l) => l.requestId === id)));
      const logged = ids.map((id) => lines.filter((l) => l.requestId === id).map((l) => `${l.msg} ${l.method} ${l.code}`));
      expect({ label, logged }).toEqual({ label, logged: ids.map(() => logged[0]) });
      expect(logged[0]).toHaveLength(1);
    }
    expect((await Promise.all(cases.map(([, run]) => run(overGrpcJs(port))))).map((o) => o[0])).toEqual([0, 16, 7, 5, 3, 9]);
    expect(await balance()).toBe(before);
  });

  test("invalid argument: the same code, reason and message on both ports; nothing written", async () => {
    const bad = { requestId: randomUUID(), accountId, amount: { currency: "USD", minorUnits: -5n } };
    const onPort = await unary(port, TransactionService.method.deposit, bad, { token: customer.token });
    const onMain = await unary(main, TransactionService.method.deposit, { ...bad, requestId: randomUUID() }, { token: customer.token });
    expect(onPort.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(reasonOf(onPort.error)).toBeTruthy();
    expect([onPort.error?.code, reasonOf(onPort.error), onPort.error?.details]).toEqual([onMain.error?.code, reasonOf(onMain.error), onMain.error?.details]);
    // An undecodable message is refused before any interceptor, as on the main port.
    const garbage = await unary(port, TransactionService.method.deposit, Buffer.from([0x0a, 0x03, 0xff, 0xfe, 0xfd]), { token: customer.token, requestId: "grpc-port-garbage" });
    expect(garbage.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(reasonOf(garbage.error)).toBe("MALFORMED_REQUEST");
    await waitUntil("the refusal's log line", () => lines.some((l) => l.requestId === "grpc-port-garbage" && l.msg === "rpc refused before its handler" && l.reason === "MALFORMED_REQUEST"));
    expect(await balance()).toBe(0n);
  });

  test("a deposit over the gRPC port is what the main port reads; grpc-message arrives as the handler wrote it, ';' and ':' included, on both ports", async () => {
    const ok = await unary(port, TransactionService.method.deposit, { requestId: randomUUID(), accountId, amount: { currency: "USD", minorUnits: 700n } }, { token: customer.token });
    expect(ok.error).toBeUndefined();
    expect(await balance()).toBe(700n);
    // Over the daily deposit limit: the handler's message has "; it resets at 00:00 UTC."
    const over = { accountId, amount: { currency: "USD", minorUnits: limits.dailyDepositMinorDefault } };
    const onPort = await unary(port, TransactionService.method.deposit, { ...over, requestId: randomUUID() }, { token: customer.token });
    const onMain = await unary(main, TransactionService.method.deposit, { ...over, requestId: randomUUID() }, { token: customer.token });
    const connect = await client(t.baseUrl, TransactionService, { token: customer.token }).deposit({ ...over, requestId: randomUUID() }).catch((e: { rawMessage: string }) => e);
    const written = (connect as { rawMessage: string }).rawMessage;
    expect(written).toMatch(/; it resets at 00:00 UTC\.$/);
    expect(onPort.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(reasonOf(onPort.error)).toBe("DAILY_LIMIT_EXCEEDED");
    expect(onPort.error?.details).toBe(written);
    expect(onMain.error?.details).toBe(written);
    expect(await balance()).toBe(700n);
  });

  test("WatchAccount (server streaming, with a token) sees a deposit made over Connect; cancelling it is logged as canceled", async () => {
    const method = AccountService.method.watchAccount;
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${customer.token}`);
    md.set("x-request-id", "grpc-port-watch-1");
    const amounts: bigint[] = [];
    const stream = port.makeServerStreamRequest(`/bank.v1.AccountService/${method.name}`, (b: Buffer) => b, (b: Buffer) => fromBinary(method.output, b), Buffer.from(toBinary(method.input, create(method.input, { accountId }))), md);
    const ended = new Promise<grpc.ServiceError>((resolve) => stream.on("error", resolve));
    stream.on("data", (m: MessageShape<typeof method.output>) => void (m.entry ? amounts.push(m.entry.amount!.minorUnits) : undefined));
    await new Promise<void>((resolve) => stream.once("metadata", () => resolve()));
    await client(t.baseUrl, TransactionService, { token: customer.token }).deposit({ requestId: randomUUID(), accountId, amount: { currency: "USD", minorUnits: 42n } });
    await waitUntil("the deposit on the watch", () => amounts.includes(42n));
    stream.cancel();
    expect((await ended).code).toBe(grpc.status.CANCELLED);
    await waitUntil("the watch's log line", () => lines.some((l) => l.requestId === "grpc-port-watch-1"));
    expect(lines.filter((l) => l.requestId === "grpc-port-watch-1")).toEqual([expect.objectContaining({ method: "bank.v1.AccountService/WatchAccount", code: "Canceled", msg: "rpc canceled by the client" })]);
  });

  test("deadlines: a huge one is clamped and the call works; one already passed gets DEADLINE_EXCEEDED and writes nothing", async () => {
    // 20 days: within what grpc-js reads correctly (docs/api.md), far above deadlineMsMax.
    const far = await unary(port, AccountService.method.getBalance, { accountId }, { token: customer.token, deadline: Date.now() + 20 * 24 * 3600_000 });
    expect(far.error).toBeUndefined();
    const before = await balance();
    const deposit = toBinary(TransactionService.method.deposit.input, create(TransactionService.method.deposit.input, { requestId: randomUUID(), accountId, amount: { currency: "USD", minorUnits: 5n } }));
    const raw = await grpcCall(`http://${t.app.grpcPort!.target}`, "bank.v1.TransactionService/Deposit", grpcFrame(deposit), customer.token, { "grpc-timeout": "1n" });
    expect(raw.trailers["grpc-status"] ?? raw.headers["grpc-status"]).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    expect(await balance()).toBe(before);
  });

  test("difference of the port: grpc-js misreads a grpc-timeout of 2^31 ms or more (int32), so such a call is cut at once and writes nothing; the main port clamps it (docs/api.md)", async () => {
    const before = await balance();
    const deposit = () => grpcFrame(toBinary(TransactionService.method.deposit.input, create(TransactionService.method.deposit.input, { requestId: randomUUID(), accountId, amount: { currency: "USD", minorUnits: 5n } })));
    // 2,147,484 s is just over 2^31 ms (24.86 days); grpc-js wraps it to a negative timeout.
    const raw = await grpcCall(`http://${t.app.grpcPort!.target}`, "bank.v1.TransactionService/Deposit", deposit(), customer.token, { "grpc-timeout": "2147484S" });
    expect(raw.trailers["grpc-status"] ?? raw.headers["grpc-status"]).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    expect(await balance()).toBe(before);
    const onMain = await grpcCall(t.baseUrl, "bank.v1.TransactionService/Deposit", deposit(), customer.token, { "grpc-timeout": "2147484S" });
    expect(onMain.trailers["grpc-status"] ?? onMain.headers["grpc-status"]).toBe("0");
    expect(await balance()).toBe(before! + 5n);
  });

  test("differences of the port: grpc-js answers an unknown method and an oversized message itself, without ErrorInfo (docs/api.md)", async () => {
    const unknown = await new Promise<grpc.ServiceError>((resolve) =>
      port.makeUnaryRequest("/nope.v1.Nope/Call", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e!)),
    );
    expect(unknown.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(reasonOf(unknown)).toBeUndefined();
    const before = await balance();
    const huge = await unary(port, TransactionService.method.deposit, { requestId: randomUUID(), accountId, amount: { currency: "USD", minorUnits: 5n }, description: "x".repeat(limits.messageBytesMax + 10) }, { token: customer.token });
    expect(huge.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(await balance()).toBe(before);
  });

  test("Python grpcio: success, UNAUTHENTICATED with its reason, and grpc-message as written", async () => {
    const script = String.raw`
import grpc, json, sys
target, token, req = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
out = []
with grpc.insecure_channel(target) as ch:
    call = ch.unary_unary(sys.argv[4])
    for md in ([("authorization", "Bearer " + token)], []):
        try:
            resp, c = call.with_call(req, metadata=md, timeout=3600 * 24 * 20)
            out.append({"code": "OK", "header": dict(c.initial_metadata())})
        except grpc.RpcError as e:
            trailers = dict(e.trailing_metadata() or [])
            out.append({"code": e.code().name, "details": e.details(), "bin": trailers.get("grpc-status-details-bin", b"").hex(), "header": dict(e.initial_metadata() or [])})
print(json.dumps(out))
`;
    const run = (args: string[]) =>
      new Promise<{ code: string; details?: string; bin?: string; header: Record<string, string> }[] | undefined>((resolve) =>
        execFile("/usr/bin/python3", ["-c", script, ...args], (err, stdout) => resolve(err ? undefined : JSON.parse(stdout))),
      );
    const balanceReq = Buffer.from(toBinary(AccountService.method.getBalance.input, create(AccountService.method.getBalance.input, { accountId }))).toString("hex");
    const answers = await run([t.app.grpcPort!.target, customer.token, balanceReq, "/bank.v1.AccountService/GetBalance"]);
    if (answers === undefined) {
      // python3-grpcio is not installed here: the grpc-js checks above stand alone.
      console.warn("python3-grpcio not available; the grpcio part of the test was skipped");
      return;
    }
    expect(answers[0]).toEqual(expect.objectContaining({ code: "OK" }));
    expect(answers[0]!.header["x-request-id"]).toBeTruthy();
    expect(answers[1]).toEqual(expect.objectContaining({ code: "UNAUTHENTICATED" }));
    expect(errorInfoInStatus(Buffer.from(answers[1]!.bin!, "hex"))?.reason).toBe("TOKEN_MISSING");
    const over = Buffer.from(toBinary(TransactionService.method.deposit.input, create(TransactionService.method.deposit.input, { requestId: randomUUID(), accountId, amount: { currency: "USD", minorUnits: limits.dailyDepositMinorDefault } }))).toString("hex");
    for (const target of [t.app.grpcPort!.target, `127.0.0.1:${t.app.server.port}`]) {
      const [limited] = (await run([target, customer.token, over, "/bank.v1.TransactionService/Deposit"]))!;
      expect(limited!.code).toBe("FAILED_PRECONDITION");
      expect(limited!.details).toMatch(/limit; it resets at 00:00 UTC\.$/);
      expect(errorInfoInStatus(Buffer.from(limited!.bin!, "hex"))?.reason).toBe("DAILY_LIMIT_EXCEEDED");
    }
  });
});

describe("the gRPC port under TLS, and its drain", () => {
  let t: TestApp;
  let ca: Buffer;
  let port: grpc.Client;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-grpc-tls-"));
    const cert = path.join(dir, "cert.pem");
    const key = path.join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    ca = fs.readFileSync(cert);
    t = await startTestApp("sqlite", { BANK_TLS_CERT: cert, BANK_TLS_KEY: key });
    port = new grpc.Client(t.app.grpcPort!.target, grpc.credentials.createSsl(ca));
  });
  afterAll(async () => {
    port?.close();
    await t?.stop();
  });

  test("TLS from the main port's certificate; Health.Watch sees SERVING, then NOT_SERVING and UNAVAILABLE SERVER_DRAINING when the process drains", async () => {
    const check = await unary(port, Health.method.check, { service: "" });
    expect(check.message?.status).toBe(Serving.SERVING);
    const method = Health.method.watch;
    const seen: Serving[] = [];
    const stream = port.makeServerStreamRequest(`/grpc.health.v1.Health/${method.name}`, (b: Buffer) => b, (b: Buffer) => fromBinary(method.output, b), Buffer.from(toBinary(method.input, create(method.input, { service: "" }))));
    const ended = new Promise<grpc.ServiceError>((resolve) => stream.on("error", resolve));
    stream.on("data", (m: MessageShape<typeof method.output>) => seen.push(m.status));
    await waitUntil("the first status", () => seen.length === 1);
    const stopping = t.app.shutdown();
    const error = await ended;
    await stopping;
    expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(reasonOf(error)).toBe("SERVER_DRAINING");
  });
});

describe("the gRPC port's deadline policy and its drain with a unary call in flight", () => {
  let t: TestApp;
  let port: grpc.Client;
  let started: () => void = () => undefined;
  let release: () => void = () => undefined;
  let hold = false;
  let aborted: (reason: unknown) => void = () => undefined;
  const lines: LogLine[] = [];
  const logger = createLogger("info", { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } as pino.DestinationStream);

  beforeAll(async () => {
    t = await startTestApp("sqlite", {}, {
      logger,
      modules: async () => [
        {
          routes: (router) =>
            router.service(AuthService, {
              // A public method held until the test releases it (a call in flight at the drain),
              // or answering the deadline its handler was given.
              async getJwks(_req, ctx) {
                if (!hold) return { keysJson: String(ctx.timeoutMs()) };
                started();
                await new Promise<void>((resolve) => {
                  release = resolve;
                  ctx.signal.addEventListener("abort", () => resolve(), { once: true });
                });
                if (ctx.signal.aborted) {
                  aborted(ctx.signal.reason);
                  throw ctx.signal.reason;
                }
                return { keysJson: "{}" };
              },
            }),
        },
      ],
    });
    port = new grpc.Client(t.app.grpcPort!.target, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    port?.close();
    await t?.stop();
  });

  test("the deadline policy as the handler sees it: the default without a deadline, the maximum for a 20-day one, a short one as asked", async () => {
    const given = async (deadline?: number) => Number((await unary(port, AuthService.method.getJwks, {}, deadline === undefined ? {} : { deadline })).message?.keysJson);
    const none = await given();
    expect(none).toBeLessThanOrEqual(limits.deadlineMsDefault);
    expect(none).toBeGreaterThan(limits.deadlineMsDefault - 5_000);
    const huge = await given(Date.now() + 20 * 24 * 3600_000);
    expect(huge).toBeLessThanOrEqual(limits.deadlineMsMax);
    expect(huge).toBeGreaterThan(limits.deadlineMsMax - 5_000);
    const short = await given(Date.now() + 8_000);
    expect(short).toBeLessThanOrEqual(8_000);
    expect(short).toBeGreaterThan(3_000);
  });

  test("a unary call its client cancels: the handler's signal fires, the call is logged as canceled by the client", async () => {
    hold = true;
    const inHandler = new Promise<void>((resolve) => (started = resolve));
    const reason = new Promise<unknown>((resolve) => (aborted = resolve));
    const md = new grpc.Metadata();
    md.set("x-request-id", "grpc-port-cancel-1");
    const ended = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = port.makeUnaryRequest(`/${AuthService.typeName}/GetJwks`, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, (err) => resolve(err));
      void inHandler.then(() => call.cancel());
    });
    expect((await ended)?.code).toBe(grpc.status.CANCELLED);
    expect((await reason as ConnectError).code).toBe(1); // Code.Canceled
    await waitUntil("the log line", () => lines.some((l) => l.requestId === "grpc-port-cancel-1"));
    expect(lines.filter((l) => l.requestId === "grpc-port-cancel-1")).toEqual([expect.objectContaining({ msg: "rpc canceled by the client", code: "Canceled" })]);
  });

  test("the call in flight completes; a new call while draining is UNAVAILABLE SHUTTING_DOWN; then the port closes", async () => {
    hold = true;
    const inHandler = new Promise<void>((resolve) => (started = resolve));
    const inFlight = unary(port, AuthService.method.getJwks, {});
    await inHandler;
    const stopping = t.app.shutdown();
    await waitUntil("NOT_SERVING", () => !t.app.health.isServing);
    const refused = await unary(port, AuthService.method.getJwks, {});
    expect(refused.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(reasonOf(refused.error)).toBe("SHUTTING_DOWN");
    release();
    const done = await inFlight;
    expect(done.error).toBeUndefined();
    expect(done.message?.keysJson).toBe("{}");
    await stopping;
    const after = new grpc.Client(t.app.grpcPort!.target, grpc.credentials.createInsecure());
    const closed = await unary(after, Health.method.check, {}, { deadline: Date.now() + 2_000 });
    after.close();
    expect(closed.error?.code).toBe(grpc.status.UNAVAILABLE);
  });
});
