// Goal (issue 25, attack 2): one host holding long anonymous streams cannot take every connection
// of the main port. The review opened 4,100 HTTP/2 connections from one host, each holding a
// grpc.health.v1.Health/Watch with grpc-timeout 24H and no token, and every new client was cut off
// at the 4,096-connection cap. Now, per client address (src/limits.ts): at most
// connectionsPerAddressMax connections (more are closed on arrival), anonymousStreamsPerAddressMax
// streams without a token (more are refused RESOURCE_EXHAUSTED ANONYMOUS_STREAMS_PER_ADDRESS), and
// calls with a token keep their headroom; a Health.Watch ends with OK after anonymousStreamMsMax;
// a connection holding only anonymous streams is closed like an idle one. Behind a trusted proxy
// the proxy's connections are exempt and streams are counted per forwarded address.
//
// The hostile side runs against a real listener (src/transport/server.ts, the real caps of src/limits.ts)
// and raw HTTP/2 clients: the flood is the per-address connection cap plus 100, from 127.0.0.1; the
// other client comes from 127.0.0.2 (loopback answers the whole 127/8). Only the idle time and
// the watch's life are shortened, so that the flood is shed within the test. The assertions are
// counts of admitted, refused and closed streams and connections.
import * as http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { fromBinary } from "@bufbuild/protobuf";
import { errorInfoInStatus } from "../support/status-details";
import { Health, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { listen, type ListeningServer, type ServerLimits } from "../../src/transport/server";
import { limits } from "../../src/limits";
import { createLogger } from "../../src/logger";
import { createMetrics, type Metrics } from "../../src/metrics";
import { HealthState, healthRoutes } from "../../src/services/health";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

// The idle time must outlast the flood's arrival: a connection closed as idle while the flood still
// arrives frees its place (and its watch's), and a later one is admitted instead of refused. On a
// loaded CI machine 612 connections took more than 3 s to arrive (33 admitted, 99 closed).
const WATCH_LIFE_MS = 11_000;
const LIMITS: ServerLimits = { ...limits, connectionIdleMs: 8_000 };
const FLOOD = limits.connectionsPerAddressMax + 100;

interface Served {
  server: ListeningServer;
  metrics: Metrics;
  shutdown: AbortController;
}

async function serve(serverLimits: ServerLimits, trustProxy = false): Promise<Served> {
  const metrics = createMetrics();
  const shutdown = new AbortController();
  const server = await listen({
    config: { host: "127.0.0.1", port: 0, tls: undefined, trustProxy },
    logger: createLogger("silent"),
    metrics,
    interceptors: [],
    httpRoutes: [],
    shutdownSignal: shutdown.signal,
    limits: serverLimits,
    routes: (router) => healthRoutes(new HealthState(["bank.v1.AuthService"]), WATCH_LIFE_MS)(router),
  });
  return { server, metrics, shutdown };
}

async function stop(s: Served): Promise<void> {
  s.shutdown.abort();
  await s.server.close(100);
}

/** How a watch began: its first message (admitted), a refusal (its ErrorInfo reason), or its
 * connection closed before any answer. */
type Start = { kind: "admitted"; status: Status } | { kind: "refused"; code: string; reason: string } | { kind: "closed" };

interface Watch {
  session: http2.ClientHttp2Session;
  started: Promise<Start>;
  /** The grpc-status the stream ended with ("closed" when it ended without one). */
  ended: Promise<string>;
  /** The connection is gone. */
  closed: Promise<void>;
  /** Events in the order they came: "goaway" (the server's), "end" (this stream's). */
  order: string[];
  /** Opens another Watch on the same connection. */
  again(headers?: Record<string, string>): Watch;
}

/** A raw Health.Watch over a new HTTP/2 connection from `localAddress`, asking for 24 h. */
function openWatch(port: number, localAddress: string, headers: Record<string, string> = {}): Watch {
  const session = http2.connect(`http://127.0.0.1:${port}`, { localAddress } as http2.SecureClientSessionOptions);
  session.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
  const order: string[] = [];
  session.once("goaway", () => order.push("goaway"));
  return watchOn(session, closed, headers, order);
}

function watchOn(session: http2.ClientHttp2Session, closed: Promise<void>, headers: Record<string, string>, order: string[]): Watch {
  let start: (s: Start) => void = () => undefined;
  const started = new Promise<Start>((resolve) => (start = resolve));
  let end: (status: string) => void = () => undefined;
  const ended = new Promise<string>((resolve) => (end = resolve));
  let status: string | undefined;
  let details: string | undefined;
  const req = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Watch", "content-type": "application/grpc", te: "trailers", "grpc-timeout": "24H", ...headers });
  const settle = (h: http2.IncomingHttpHeaders) => {
    status ??= h["grpc-status"] as string | undefined;
    details ??= h["grpc-status-details-bin"] as string | undefined;
  };
  req.on("response", settle);
  req.on("trailers", settle);
  let buffered = Buffer.alloc(0);
  req.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
      start({ kind: "admitted", status: fromBinary(HealthCheckResponseSchema, buffered.subarray(5, 5 + buffered.readUInt32BE(1))).status });
    }
  });
  const finish = () => {
    if (!order.includes("end")) order.push("end");
    if (status !== undefined && status !== "0") start({ kind: "refused", code: status, reason: reasonOf(details) });
    start({ kind: "closed" });
    end(status ?? "closed");
  };
  req.on("end", finish);
  req.on("close", finish);
  req.on("error", () => undefined);
  req.end(Buffer.alloc(5));
  return { session, started, ended, closed, order, again: (h = {}) => watchOn(session, closed, h, []) };
}

/** The ErrorInfo reason in grpc-status-details-bin ("" when there is none). */
const reasonOf = (bin: string | undefined): string => errorInfoInStatus(bin)?.reason ?? "";

function tally(starts: Start[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of starts) {
    const key = s.kind === "refused" ? `refused ${s.reason}` : s.kind;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

async function metric(s: Served, name: string, label: string): Promise<number> {
  const m = (await s.metrics.registry.getSingleMetricAsString(name)).split("\n").find((line) => line.includes(label));
  return m ? Number(m.split(" ").pop()) : 0;
}

describe("anonymous streams get a share per client address", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve(LIMITS);
  });
  afterAll(async () => stop(s));

  test(`${FLOOD} connections holding Health.Watch from one address: capped, refused, shed; another address and a caller with a token are served`, async () => {
    const flood = Array.from({ length: FLOOD }, () => openWatch(s.server.port, "127.0.0.1"));
    // A caller with a token from the flooding address, on one of its open connections, keeps its
    // headroom: its stream is not anonymous. It opens on the first connection whose watch is
    // refused, as soon as the refusal arrives: a connection left with no stream is closed once idle
    // (connectionIdleMs), which must not come before the token's stream starts.
    const tokenCall = new Promise<{ open: Watch; signedIn: Watch }>((resolve) => {
      for (const w of flood) void w.started.then((x) => x.kind === "refused" && resolve({ open: w, signedIn: w.again({ authorization: "Bearer some-token" }) }));
    });
    const starts = await Promise.all(flood.map((w) => w.started));
    const counts = tally(starts);
    console.log(`stream shares: ${FLOOD} flood connections from 127.0.0.1 -> ${JSON.stringify(counts)}`);
    const anonymousMax = limits.anonymousStreamsPerAddressMax;
    expect(counts).toEqual({
      admitted: anonymousMax,
      "refused ANONYMOUS_STREAMS_PER_ADDRESS": limits.connectionsPerAddressMax - anonymousMax,
      closed: FLOOD - limits.connectionsPerAddressMax,
    });
    expect(starts.filter((x) => x.kind === "refused").every((x) => x.kind === "refused" && x.code === String(Code.ResourceExhausted))).toBe(true);
    expect(await metric(s, "bankd_connections_refused_total", 'reason="PER_ADDRESS"')).toBe(FLOOD - limits.connectionsPerAddressMax);

    // While the flood holds: a new client from another address is served, a Check and a Watch.
    const other = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${s.server.port}`, nodeOptions: { localAddress: "127.0.0.2" } as http2.ClientSessionOptions }));
    expect((await other.check({ service: "" })).status).toBe(Status.SERVING);
    const otherWatch = openWatch(s.server.port, "127.0.0.2");
    expect(await otherWatch.started).toEqual({ kind: "admitted", status: Status.SERVING });
    // The caller with a token, opened on a refused connection while the flood holds, is admitted.
    const { open, signedIn } = await tokenCall;
    expect((await signedIn.started).kind).toBe("admitted");
    signedIn.session.destroy();

    // The flood is shed: every admitted watch ends with OK at its life's end, and every flood
    // connection is closed by the server (idle, or holding only anonymous streams).
    const admitted = flood.filter((_, i) => starts[i]!.kind === "admitted");
    const ends = await Promise.all(admitted.map((w) => w.ended));
    expect(ends).toEqual(Array.from({ length: anonymousMax }, () => "0"));
    // Their connections were closed as idle (GOAWAY) while the watch was still open: an
    // anonymous stream does not keep its connection busy.
    expect(admitted.map((w) => w.order.join(","))).toEqual(Array.from({ length: anonymousMax }, () => "goaway,end"));
    await Promise.all(flood.filter((w) => w !== open).map((w) => w.closed));
    expect(await otherWatch.ended).toBe("0");
    await otherWatch.closed;
  });
});

describe("behind a trusted proxy", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ ...LIMITS, connectionsPerAddressMax: 4, anonymousStreamsPerAddressMax: 3 }, true);
  });
  afterAll(async () => stop(s));

  test("the proxy's connections are exempt from the per-address cap; streams count per forwarded address", async () => {
    // Eight connections from the proxy (127.0.0.1), twice the per-address cap: all accepted.
    const viaProxy = Array.from({ length: 8 }, (_, i) => openWatch(s.server.port, "127.0.0.1", { "x-forwarded-for": `203.0.113.${i < 5 ? 1 : 2}` }));
    const starts = await Promise.all(viaProxy.map((w) => w.started));
    // 203.0.113.1: five watches, three admitted, two refused; 203.0.113.2: three, all admitted.
    expect(tally(starts.slice(0, 5))).toEqual({ admitted: 3, "refused ANONYMOUS_STREAMS_PER_ADDRESS": 2 });
    expect(tally(starts.slice(5))).toEqual({ admitted: 3 });
    expect(await metric(s, "bankd_connections_refused_total", 'reason="PER_ADDRESS"')).toBe(0);
    for (const w of viaProxy) w.session.destroy();
  });
});
