// One port, every protocol: gRPC over HTTP/2 (cleartext with prior knowledge, or TLS with ALPN
// h2), and gRPC-Web and Connect over HTTP/1.1 or HTTP/2, plus a few plain HTTP routes
// (/metrics, /.well-known/jwks.json, the web console).
//
// A cleartext http2 server refuses HTTP/1.1 even with allowHTTP1 (that needs ALPN; still so on
// Node 24),
// so the cleartext listener reads the first bytes of each connection: the HTTP/2 client preface
// starts with "PRI", anything else is HTTP/1.1.
import * as fs from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { Config } from "../config";
import { limits as defaultLimits, type Limits } from "../limits";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import type { HttpRoute } from "../module";
import { ConnectionGuard } from "./connection-guard";
import { AddressCaps, socketAddress } from "./address-caps";
import { createRpcHandler } from "./rpc-adapter";
import { writeHead } from "../util/http-response";

export type HttpHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;
/** Plain HTTP routes by path (module.ts); return false to fall through to 404. */
export type { HttpRoute };

/** The limits the server applies (tests shorten the time limits). */
export type ServerLimits = Numbers<Pick<
  Limits,
  | "messageBytesMax"
  | "deadlineMsDefault"
  | "deadlineMsMax"
  | "streamDeadlineMsDefault"
  | "streamDeadlineMsMax"
  | "deadlineGraceMs"
  | "http2MaxConcurrentStreams"
  | "http2ClientResetsMax"
  | "http2ClientResetWindowMs"
  | "http2RequestTimeoutMs"
  | "connectionIdleMs"
  | "connectionsMax"
  | "connectionHandshakeMs"
  | "http1HeadersTimeoutMs"
  | "http1RequestTimeoutMs"
  | "http1KeepAliveTimeoutMs"
  | "jsonDepthMax"
  | "connectionsPerAddressMax"
  | "callsPerAddressMax"
  | "anonymousStreamsPerAddressMax"
  | "anonymousStreamsMax"
>>;

type Numbers<T> = { readonly [K in keyof T]: number };

export interface ServerOptions {
  config: Pick<Config, "host" | "port" | "tls"> & Partial<Pick<Config, "trustProxy">>;
  logger: Logger;
  metrics?: Metrics;
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  /** Plain HTTP routes, tried in order for requests that are not RPCs. */
  httpRoutes: HttpRoute[];
  /** Wraps the whole handler (CORS). */
  wrap?: (handler: HttpHandler) => HttpHandler;
  shutdownSignal: AbortSignal;
  /** Defaults to src/limits.ts. */
  limits?: ServerLimits;
}

export interface ListeningServer {
  host: string;
  port: number;
  url: string;
  /** Stops accepting connections, lets open HTTP/2 sessions finish (GOAWAY), then closes. */
  close(graceMs: number): Promise<void>;
}

export function createHandler(opts: Omit<ServerOptions, "config"> & { trustProxy?: boolean; caps?: AddressCaps; guard?: ConnectionGuard }): HttpHandler {
  const fallback: HttpHandler = (req, res) => {
    void (async () => {
      for (const route of opts.httpRoutes) {
        if (await route(req, res)) return;
      }
      writeHead(res, 404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found\n");
    })().catch((err: unknown) => {
      opts.logger.error({ err }, "http route failed");
      if (!res.headersSent) writeHead(res, 500, { "content-type": "text/plain; charset=utf-8" });
      res.end("internal error\n");
    });
  };
  const rpc = createRpcHandler({
    routes: opts.routes,
    interceptors: opts.interceptors,
    shutdownSignal: opts.shutdownSignal,
    logger: opts.logger,
    metrics: opts.metrics,
    limits: opts.limits ?? defaultLimits,
    fallback,
    caps: opts.caps,
    trustProxy: opts.trustProxy,
    onAnonymousStream: (req) => {
      if ("stream" in req) opts.guard?.markAnonymous(req.stream);
    },
  }) as HttpHandler;
  return opts.wrap ? opts.wrap(rpc) : rpc;
}

export async function listen(opts: ServerOptions): Promise<ListeningServer> {
  const limits = opts.limits ?? defaultLimits;
  const guard = new ConnectionGuard(limits, opts.logger, opts.metrics);
  const trustProxy = opts.config.trustProxy ?? false;
  const caps = new AddressCaps(limits);
  const handler = createHandler({ ...opts, trustProxy, caps, guard });
  /** The per-address connection cap (none for a trusted proxy's connections): false when the
   * socket was closed for it. */
  const admitSocket = (socket: net.Socket): boolean => {
    if (trustProxy) return true;
    const release = caps.admitConnection(socketAddress(socket.remoteAddress));
    if (!release) {
      opts.metrics?.connectionsRefused.inc({ reason: "PER_ADDRESS" });
      socket.destroy();
      return false;
    }
    socket.once("close", release);
    return true;
  };
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  const h2settings: http2.Settings = { maxConcurrentStreams: limits.http2MaxConcurrentStreams };
  const trackSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    guard.watchHttp2Session(session);
    session.on("close", () => sessions.delete(session));
  };
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };

  const accepting: Accepting = { limits, guard, handler, h2settings, admitSocket, track, trackSession };
  const { listener, h1 } = opts.config.tls ? tlsListener(opts.config.tls, accepting) : cleartextListener(accepting);
  // More connections than this are closed as they arrive (net.Server's own cap).
  listener.maxConnections = limits.connectionsMax;

  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(opts.config.port, opts.config.host, () => {
      listener.off("error", reject);
      resolve();
    });
  });
  const address = listener.address() as AddressInfo;
  const scheme = opts.config.tls ? "https" : "http";
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    host: address.address,
    port: address.port,
    url: `${scheme}://${hostForUrl}:${address.port}`,
    close: async (graceMs: number) => {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const session of sessions) session.close();
      h1?.closeIdleConnections();
      const deadline = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      deadline.unref();
      await closed;
      clearTimeout(deadline);
    },
  };
}

/** What both listeners do with a new connection: the limits and guard, the handler, the HTTP/2
 * settings, the per-address cap, and the tracking the close needs. */
interface Accepting {
  limits: ServerLimits;
  guard: ConnectionGuard;
  handler: HttpHandler;
  h2settings: http2.Settings;
  admitSocket: (socket: net.Socket) => boolean;
  track: (socket: net.Socket) => void;
  trackSession: (session: http2.ServerHttp2Session) => void;
}

/** TLS with ALPN: HTTP/2 and HTTP/1.1 on one secure server. */
function tlsListener(tls: { certFile: string; keyFile: string }, { limits, guard, handler, h2settings, admitSocket, track, trackSession }: Accepting): { listener: net.Server; h1: undefined } {
  const secure = http2.createSecureServer({
    cert: fs.readFileSync(tls.certFile),
    key: fs.readFileSync(tls.keyFile),
    allowHTTP1: true,
    ALPNProtocols: ["h2", "http/1.1"],
    settings: h2settings,
    maxSessionMemory: 32,
    // A TLS client that never finishes its handshake holds a socket: bounded like the sniff.
    handshakeTimeout: limits.connectionHandshakeMs,
  }, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  secure.on("session", trackSession);
  // Before the handshake: a host at its cap costs no TLS work.
  secure.on("connection", admitSocket);
  secure.on("secureConnection", (socket: net.Socket & { alpnProtocol?: string | false }) => {
    track(socket);
    if (socket.alpnProtocol !== "h2") guard.watchHttp1Socket(socket);
  });
  secure.on("request", (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    if (req.httpVersionMajor === 1) guard.onHttp1Request(req as http.IncomingMessage, res as http.ServerResponse);
  });
  // No secure.setTimeout: it would destroy an HTTP/2 session with a quiet stream (a watch); the
  // guard closes sessions without streams, and HTTP/1.1 sockets between requests.
  return { listener: secure, h1: undefined };
}

/** Cleartext: one TCP listener that sniffs each connection's first bytes and hands it to the
 * HTTP/2 (prior knowledge) or the HTTP/1.1 server. */
function cleartextListener({ limits, guard, handler, h2settings, admitSocket, track, trackSession }: Accepting): { listener: net.Server; h1: http.Server } {
  const h2 = http2.createServer({ settings: h2settings, maxSessionMemory: 32 }, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  h2.on("session", trackSession);
  const h1 = http.createServer(
    // Node checks these only for sockets a listening server accepted itself; the guard enforces
    // them for the sockets handed over here. Passed anyway, so that they are explicit.
    { requestTimeout: limits.http1RequestTimeoutMs, headersTimeout: limits.http1HeadersTimeoutMs, keepAliveTimeout: limits.http1KeepAliveTimeoutMs },
    handler as http.RequestListener,
  );
  h1.timeout = limits.connectionIdleMs;
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => guard.onHttp1Request(req, res));
  const listener = net.createServer((socket) => {
    if (!admitSocket(socket)) return;
    const acceptedMs = Date.now();
    track(socket);
    sniffProtocol(socket, limits.connectionHandshakeMs, (isHttp2) => {
      if (!isHttp2) guard.watchHttp1Socket(socket, acceptedMs);
      (isHttp2 ? h2 : h1).emit("connection", socket);
    });
  });
  return { listener, h1 };
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n");

/** Reads enough of the first bytes to tell the HTTP/2 preface from HTTP/1.1, then hands the
 * socket and those bytes to the matching server. */
function sniffProtocol(socket: net.Socket, timeoutMs: number, route: (isHttp2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  let routed = false;
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const isPrefix = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isPrefix && seen.length < PREFACE.length) return;
    socket.off("data", onData);
    routed = true;
    socket.setTimeout(0);
    if (isPrefix) {
      // The http2 session reads through the socket stream, so the bytes can be put back.
      socket.pause();
      socket.unshift(seen);
      route(true);
    } else {
      // The HTTP/1.1 parser consumes the native handle directly and would never see bytes put
      // back into the stream, so they are handed to its data listener instead.
      route(false);
      socket.emit("data", seen);
    }
  };
  socket.on("data", onData);
  socket.setTimeout(timeoutMs, () => {
    if (!routed) socket.destroy();
  });
}
