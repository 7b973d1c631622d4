// Goal (issue 13, items 12 and 13): the transport holds against slow and abusive clients on every
// path. Slow headers, slow bodies and silent connections are cut at their limits on cleartext
// HTTP/1.1 (sockets handed over after the first-bytes sniff), on TLS (HTTP/1.1 by ALPN, and the
// handshake itself), and on HTTP/2 (a connection with no stream however many PINGs it sends, a
// stream whose request never ends); connections beyond the cap are closed on arrival; an HTTP/2
// client that opens and cancels streams in a loop ("rapid reset") gets GOAWAY ENHANCE_YOUR_CALM
// while another client is served. The time limits are shortened for the test through listen()'s
// `limits` (the real ones are in src/limits.ts; the last test uses those, through the real app).
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import * as http2 from "node:http2";
import { execFileSync } from "node:child_process";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { listen, type ListeningServer, type ServerLimits } from "../../src/transport/server";
import { limits } from "../../src/limits";
import { createLogger } from "../../src/logger";
import { createMetrics, type Metrics } from "../../src/metrics";
import { HealthState, healthRoutes } from "../../src/services/health";
import { client, startTestApp } from "../support/app";
import { eventually } from "../support/wait";

const SHORT: ServerLimits = {
  ...limits,
  connectionHandshakeMs: 400,
  http1HeadersTimeoutMs: 500,
  http1RequestTimeoutMs: 800,
  connectionIdleMs: 700,
  http2RequestTimeoutMs: 800,
  connectionsMax: 20,
  http2ClientResetsMax: 50,
};
/** How much later than its limit a connection may be cut (timers, a busy machine). */
const SLACK_MS = 2_000;

let certDir: string;
beforeAll(() => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-abuse-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path.join(certDir, "key.pem"), "-out", path.join(certDir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
});
afterAll(() => fs.rmSync(certDir, { recursive: true, force: true }));

interface Served {
  server: ListeningServer;
  metrics: Metrics;
  shutdown: AbortController;
}

/** A server with health and a never-ending AuthService.GetJwks (a call that stays in flight). */
async function serve(tlsOn = false): Promise<Served> {
  const metrics = createMetrics();
  const shutdown = new AbortController();
  const server = await listen({
    config: { host: "127.0.0.1", port: 0, tls: tlsOn ? { certFile: path.join(certDir, "cert.pem"), keyFile: path.join(certDir, "key.pem") } : undefined },
    logger: createLogger("silent"),
    metrics,
    interceptors: [],
    httpRoutes: [],
    shutdownSignal: shutdown.signal,
    limits: SHORT,
    routes: (router) => {
      healthRoutes(new HealthState(["bank.v1.AuthService"]))(router);
      router.service(AuthService, {
        async getJwks(_req, ctx) {
          await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
          return { keysJson: "{}" };
        },
      });
    },
  });
  return { server, metrics, shutdown };
}

async function stop(s: Served): Promise<void> {
  s.shutdown.abort();
  await s.server.close(100);
}

/** Resolves with how long the socket stayed open after `start`, or rejects after `maxMs`. */
function closedWithin(socket: net.Socket | tls.TLSSocket, start: number, maxMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${maxMs} ms`));
    }, maxMs);
    socket.on("error", () => undefined);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - start);
    });
  });
}

/** Writes one byte of `text` every `everyMs` until the socket closes. */
function trickle(socket: net.Socket, text: string, everyMs = 100): void {
  let i = 0;
  const tick = setInterval(() => {
    if (socket.destroyed) return clearInterval(tick);
    socket.write(text[i++ % text.length]!);
  }, everyMs);
  socket.once("close", () => clearInterval(tick));
}

const connectTcp = (port: number) => new Promise<net.Socket>((resolve) => {
  const s = net.connect(port, "127.0.0.1", () => resolve(s));
});

describe("slow clients are cut at their limits", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve();
  });
  afterAll(async () => stop(s));

  test("HTTP/1.1 headers sent a byte at a time (after the sniff): closed at the headers limit", async () => {
    const socket = await connectTcp(s.server.port);
    const start = Date.now();
    socket.write("POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\n");
    trickle(socket, "X-Slow: aaaa\r\n");
    const openMs = await closedWithin(socket, start, SHORT.http1HeadersTimeoutMs + SLACK_MS);
    expect(openMs).toBeGreaterThanOrEqual(SHORT.http1HeadersTimeoutMs - 50);
  });

  test("HTTP/1.1 body sent a byte at a time: cut at the request limit", async () => {
    const socket = await connectTcp(s.server.port);
    const start = Date.now();
    socket.write("POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{");
    trickle(socket, " ");
    let answer = "";
    socket.on("data", (d: Buffer) => (answer += d.toString()));
    await closedWithin(socket, start, SHORT.http1RequestTimeoutMs + SLACK_MS);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
  });

  test("a connection that never says which protocol it speaks: closed at the handshake limit", async () => {
    const socket = await connectTcp(s.server.port);
    const start = Date.now();
    socket.write("P");
    await closedWithin(socket, start, SHORT.connectionHandshakeMs + SLACK_MS);
  });

  test("HTTP/2 connection with no stream, however many PINGs: closed when idle", async () => {
    const session = http2.connect(s.server.url);
    const start = Date.now();
    const closed = new Promise<number>((resolve) => session.once("close", () => resolve(Date.now() - start)));
    session.on("error", () => undefined);
    const pinger = setInterval(() => !session.closed && !session.destroyed && session.ping(() => undefined), 100);
    const openMs = await Promise.race([closed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error("still open")), SHORT.connectionIdleMs + SLACK_MS))]).finally(() => clearInterval(pinger));
    session.destroy();
    expect(openMs).toBeGreaterThanOrEqual(SHORT.connectionIdleMs - 50);
  });

  test("HTTP/2 unary call whose request never ends: its stream is reset", async () => {
    const session = http2.connect(s.server.url);
    session.on("error", () => undefined);
    const req = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" });
    req.write(Buffer.from([0, 0, 0, 0, 10]));
    const start = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the stream is still open")), SHORT.http2RequestTimeoutMs + SLACK_MS);
      req.on("error", () => undefined);
      req.once("close", () => {
        clearTimeout(timer);
        resolve(Date.now() - start);
      });
    }).finally(() => session.destroy());
    expect(closedAfter).toBeGreaterThanOrEqual(SHORT.http2RequestTimeoutMs - 50);
    expect(closedAfter).toBeLessThan(SHORT.http2RequestTimeoutMs + SLACK_MS);
  });

  test("connections beyond the cap are closed on arrival; freed room is usable again", async () => {
    const held = await Promise.all(Array.from({ length: SHORT.connectionsMax }, () => connectTcp(s.server.port)));
    for (const h of held) h.write("G"); // sniffing: each is a live connection
    const extra = await connectTcp(s.server.port);
    await closedWithin(extra, Date.now(), SLACK_MS);
    for (const h of held) h.destroy();
    // The server sees the closes when its sockets do: a new caller is served once it has.
    const served = await eventually("a new connection is served once the held ones are gone", () =>
      client(s.server.url, Health)
        .check({ service: "" })
        .then((res) => ({ status: res.status }), () => undefined),
    );
    expect(served.status).toBe(Status.SERVING);
  });
});

describe("TLS", () => {
  let s: Served;
  const ca = () => fs.readFileSync(path.join(certDir, "cert.pem"));
  beforeAll(async () => {
    s = await serve(true);
  });
  afterAll(async () => stop(s));

  test("HTTP/1.1 over TLS, headers a byte at a time: closed at the headers limit", async () => {
    const socket = await new Promise<tls.TLSSocket>((resolve) => {
      const t = tls.connect({ host: "127.0.0.1", port: s.server.port, ca: ca(), ALPNProtocols: ["http/1.1"] }, () => resolve(t));
    });
    const start = Date.now();
    socket.write("POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\n");
    trickle(socket, "X-Slow: aaaa\r\n");
    await closedWithin(socket, start, SHORT.http1HeadersTimeoutMs + SLACK_MS);
  });

  test("a TLS handshake that never finishes: closed at the handshake limit", async () => {
    const socket = await connectTcp(s.server.port);
    const start = Date.now();
    socket.write(Buffer.from([0x16, 0x03, 0x01])); // the start of a ClientHello, then nothing
    await closedWithin(socket, start, SHORT.connectionHandshakeMs + SLACK_MS);
  });
});

test("HTTP/2 rapid reset: GOAWAY ENHANCE_YOUR_CALM for the abuser, another client served meanwhile", async () => {
  const s = await serve();
  try {
    const abuser = http2.connect(s.server.url);
    abuser.on("error", () => undefined);
    const goaway = new Promise<number>((resolve) => abuser.on("goaway", (code: number) => code !== 0 && resolve(code)));
    let opened = 0;
    const flood = (async () => {
      while (!abuser.closed && !abuser.destroyed && opened < 20 * SHORT.http2ClientResetsMax) {
        const req = abuser.request({ ":method": "POST", ":path": "/bank.v1.AuthService/GetJwks", "content-type": "application/grpc", te: "trailers" });
        req.on("error", () => undefined);
        req.end(Buffer.from([0, 0, 0, 0, 0]));
        opened++;
        // Cancel once the server has the stream in hand (its handler waits forever).
        await new Promise((resolve) => setTimeout(resolve, 2));
        req.close(http2.constants.NGHTTP2_CANCEL);
      }
    })();
    flood.catch(() => undefined);
    const bystander = await client(s.server.url, Health, { protocol: "grpc" }).check({ service: "" });
    expect(bystander.status).toBe(Status.SERVING);
    const code = await Promise.race([goaway, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 20_000).unref())]);
    expect(code).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await flood;
    expect(opened).toBeLessThan(20 * SHORT.http2ClientResetsMax);
    abuser.destroy();
    expect(await s.metrics.registry.getSingleMetricAsString("bankd_http2_goaway_total")).toMatch(/reason="RAPID_RESET"\} [1-9]/);
  } finally {
    await stop(s);
  }
}, 60_000);

test("with the real limits: HTTP/1.1 headers trickled after the sniff are cut at limits.http1HeadersTimeoutMs", async () => {
  const t = await startTestApp("sqlite");
  try {
    const socket = await connectTcp(t.app.server.port);
    const start = Date.now();
    socket.write("POST /bank.v1.AuthService/Login HTTP/1.1\r\nHost: x\r\n");
    trickle(socket, "X-Slow: aaaa\r\n", 1_000);
    const openMs = await closedWithin(socket, start, limits.http1HeadersTimeoutMs + SLACK_MS);
    expect(openMs).toBeGreaterThanOrEqual(limits.http1HeadersTimeoutMs - 50);
  } finally {
    await t.stop();
  }
}, 60_000);
