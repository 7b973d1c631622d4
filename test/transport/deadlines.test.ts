// Goal (issue 13, items 2 and 3): every call has a deadline and its handler's ctx.signal fires at
// it. A unary call without one gets limits.deadlineMsDefault; a longer one is clamped to
// limits.deadlineMsMax instead of being refused (many clients default to 60 s or more); streaming
// calls get their own default and maximum; callDeadline(ctx) tells handlers the absolute
// deadline. Health.Watch ends with DEADLINE_EXCEEDED when its deadline passes, and on a drain it
// first sends NOT_SERVING, then ends with UNAVAILABLE (SERVER_DRAINING). Over Connect, gRPC and
// gRPC-Web alike. The handlers here are stand-ins that report what the transport gave them.
import { Code, ConnectError } from "@connectrpc/connect";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { callDeadline } from "../../src/transport/call-deadline";
import { limits } from "../../src/limits";
import { client, startTestApp, type Protocol, type TestApp } from "../support/app";
import { connectCode, grpcCall, grpcFrame, postHttp1, type RawResponse } from "../system/support/raw-calls";
import { waitUntil } from "../support/wait";

const PROTOCOLS: Protocol[] = ["connect", "grpc", "grpcweb"];
/** Slack for the time between the client sending and the handler reading its deadline. */
const SLACK_MS = 3_000;

interface Seen {
  remainingMs: number | null;
  deadlineMs: number | null;
  nowMs: number;
}

/** What the last "abort" handler saw: when its signal fired, and why. */
const aborts: { afterMs: number; code: Code | undefined }[] = [];

async function startReportingApp(): Promise<TestApp> {
  return startTestApp("sqlite", {}, {
    modules: async () => [
      {
        routes: (router) => {
          router.service(AuthService, {
            // Reports the deadline the handler was given, in a string field.
            getJwks(_req, ctx) {
              const d = callDeadline(ctx);
              const seen: Seen = { remainingMs: ctx.timeoutMs() ?? null, deadlineMs: d.deadlineMs ?? null, nowMs: Date.now() };
              return { keysJson: JSON.stringify(seen) };
            },
            // Waits for its signal and records when and why it fired.
            async introspectToken(_req, ctx) {
              const started = Date.now();
              await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
              aborts.push({ afterMs: Date.now() - started, code: ctx.signal.reason instanceof ConnectError ? ctx.signal.reason.code : undefined });
              throw ctx.signal.reason;
            },
          });
          router.service(AccountService, {
            async *watchAccount(_req, ctx) {
              yield { cursor: JSON.stringify({ remainingMs: ctx.timeoutMs() ?? null }) };
              await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
            },
          });
        },
      },
    ],
  });
}

describe("deadlines", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startReportingApp();
  });
  afterAll(async () => t.stop());

  const unarySeen = async (protocol: Protocol, timeoutMs?: number): Promise<Seen> =>
    JSON.parse((await client(t.baseUrl, AuthService, { protocol }).getJwks({}, { timeoutMs })).keysJson) as Seen;

  test.each(PROTOCOLS)("%s: a unary call without a deadline gets the default", async (protocol) => {
    const seen = await unarySeen(protocol);
    expect(seen.remainingMs).toBeGreaterThan(limits.deadlineMsDefault - SLACK_MS);
    expect(seen.remainingMs).toBeLessThanOrEqual(limits.deadlineMsDefault);
    // callDeadline gives the same deadline as an absolute time.
    expect(Math.abs(seen.deadlineMs! - (seen.nowMs + seen.remainingMs!))).toBeLessThan(50);
  });

  test.each(PROTOCOLS)("%s: a longer deadline is clamped to the maximum, not refused", async (protocol) => {
    const seen = await unarySeen(protocol, limits.deadlineMsMax + 60_000);
    expect(seen.remainingMs).toBeGreaterThan(limits.deadlineMsMax - SLACK_MS);
    expect(seen.remainingMs).toBeLessThanOrEqual(limits.deadlineMsMax);
  });

  test.each(PROTOCOLS)("%s: a shorter deadline is kept", async (protocol) => {
    const seen = await unarySeen(protocol, 5_000);
    expect(seen.remainingMs).toBeGreaterThan(5_000 - SLACK_MS);
    expect(seen.remainingMs).toBeLessThanOrEqual(5_000);
  });

  // Raw calls that send a 400 ms deadline but never give up themselves: what ends the call is
  // the server's deadline, not the client going away.
  test.each([
    ["connect", () => postHttp1(t.baseUrl, "/bank.v1.AuthService/IntrospectToken", "{}", { "content-type": "application/json", "connect-timeout-ms": "400" }), (r: RawResponse) => connectCode(r)],
    ["grpc", () => grpcCall(t.baseUrl, "bank.v1.AuthService/IntrospectToken", grpcFrame(new Uint8Array()), undefined, { "grpc-timeout": "400m" }), (r: RawResponse) => r.trailers["grpc-status"] ?? r.headers["grpc-status"]],
  ] as const)("%s: the handler's signal fires at the deadline, with DEADLINE_EXCEEDED", async (_protocol, call, code) => {
    const before = aborts.length;
    const res = await call();
    expect(["deadline_exceeded", String(Code.DeadlineExceeded)]).toContain(code(res));
    await waitUntil("the handler's signal fired", () => aborts.length > before);
    expect(aborts[before]!.code).toBe(Code.DeadlineExceeded);
    expect(aborts[before]!.afterMs).toBeGreaterThan(300);
  });

  const streamSeen = async (protocol: Protocol, timeoutMs?: number): Promise<number> => {
    const abort = new AbortController();
    const stream = client(t.baseUrl, AccountService, { protocol }).watchAccount({ accountId: "x" }, { timeoutMs, signal: abort.signal })[Symbol.asyncIterator]();
    const first = await stream.next();
    abort.abort(new ConnectError("enough", Code.Canceled));
    // Read on until the client sees its own cancel: connect-es clears its deadline timer (here up
    // to 48 hours, which would hold the jest worker open) only when a read ends the call; leaving
    // a for-await loop does not.
    await expect(stream.next()).rejects.toMatchObject({ code: Code.Canceled });
    if (first.done) throw new Error("no message");
    return (JSON.parse(first.value.cursor) as { remainingMs: number }).remainingMs;
  };

  test.each(PROTOCOLS)("%s: a stream gets the stream default and maximum, not the unary ones", async (protocol) => {
    const byDefault = await streamSeen(protocol);
    expect(byDefault).toBeGreaterThan(limits.streamDeadlineMsDefault - SLACK_MS);
    expect(byDefault).toBeLessThanOrEqual(limits.streamDeadlineMsDefault);
    const clamped = await streamSeen(protocol, limits.streamDeadlineMsMax * 2);
    expect(clamped).toBeGreaterThan(limits.streamDeadlineMsMax - SLACK_MS);
    expect(clamped).toBeLessThanOrEqual(limits.streamDeadlineMsMax);
  });

  // Raw calls with a 500 ms deadline and no timer of their own: the server ends the stream.
  test("gRPC: Health.Watch ends with DEADLINE_EXCEEDED when its deadline passes", async () => {
    const res = await grpcCall(t.baseUrl, "grpc.health.v1.Health/Watch", grpcFrame(new Uint8Array()), undefined, { "grpc-timeout": "500m" });
    expect(res.trailers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
    // One message (SERVING) came first.
    expect(res.body.readUInt32BE(1)).toBe(2);
  });

  test("Connect: Health.Watch ends with deadline_exceeded when its deadline passes", async () => {
    const res = await postHttp1(t.baseUrl, "/grpc.health.v1.Health/Watch", grpcFrame(Buffer.from("{}")), { "content-type": "application/connect+json", "connect-timeout-ms": "500" });
    const first = res.body.subarray(5, 5 + res.body.readUInt32BE(1)).toString("utf8");
    expect(JSON.parse(first)).toEqual({ status: "SERVING" });
    const endAt = 5 + res.body.readUInt32BE(1);
    const end = JSON.parse(res.body.subarray(endAt + 5).toString("utf8")) as { error?: { code: string } };
    expect(end.error?.code).toBe("deadline_exceeded");
  });
});

test("drain: Health.Watch gets NOT_SERVING, then UNAVAILABLE (SERVER_DRAINING), with no call in flight", async () => {
  const t = await startReportingApp();
  const statuses: Status[] = [];
  let ended: ConnectError | undefined;
  const watch = (async () => {
    try {
      for await (const res of client(t.baseUrl, Health, { protocol: "grpc" }).watch({ service: "bank.v1.AccountService" })) statuses.push(res.status);
    } catch (e) {
      ended = ConnectError.from(e);
    }
  })();
  await waitUntil("the watch saw its first status", () => statuses.length > 0);
  await t.stop();
  await watch;
  expect(statuses).toEqual([Status.SERVING, Status.NOT_SERVING]);
  expect(ended?.code).toBe(Code.Unavailable);
  expect(ended?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SERVER_DRAINING");
});
