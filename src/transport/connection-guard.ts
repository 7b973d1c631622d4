// Time limits and abuse limits on connections, enforced by bankd itself on every path (cleartext
// HTTP/1.1 and HTTP/2 after the first-bytes sniff, TLS with either protocol). Node's own
// headersTimeout/requestTimeout checks only run for sockets a listening http.Server accepted
// itself, never for sockets handed over with emit("connection"), and the TLS server applies
// none of them, so slow clients (slowloris) could hold connections for as long as they liked.
//
// - HTTP/1.1: request headers within http1HeadersTimeoutMs (from the connection's first byte, or
//   from the end of the previous response), the whole request within http1RequestTimeoutMs.
// - HTTP/2: a connection with no open stream for connectionIdleMs is closed, whatever else it
//   sends (PINGs, headers that never end); streams without a token that stream by nature
//   (Health.Watch, reflection: markAnonymous) do not count as open, so a connection that holds
//   only those is closed like an idle one (GOAWAY: its streams end at anonymousStreamMsMax, with
//   OK, and the client re-opens elsewhere; issue 25); a client that resets more than http2ClientResetsMax
//   streams within http2ClientResetWindowMs ("rapid reset") is sent GOAWAY ENHANCE_YOUR_CALM.
// The connection cap (connectionsMax) is the listener's maxConnections (server.ts).
import type * as http from "node:http";
import * as http2 from "node:http2";
import type * as net from "node:net";
import type { Limits } from "../limits";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";

export type GuardLimits = {
  readonly [K in keyof Pick<Limits, "connectionIdleMs" | "http1HeadersTimeoutMs" | "http1RequestTimeoutMs" | "http2ClientResetsMax" | "http2ClientResetWindowMs">]: number;
};

interface Http1Timers {
  headers?: NodeJS.Timeout;
  request?: NodeJS.Timeout;
}

export class ConnectionGuard {
  private readonly http1 = new WeakMap<net.Socket, Http1Timers>();
  /** Streams marked anonymous (markAnonymous), whether or not their session has seen them yet. */
  private readonly anonymous = new WeakSet<http2.Http2Stream>();
  /** How a counted stream stops counting (its close, or markAnonymous). */
  private readonly counted = new WeakMap<http2.Http2Stream, () => void>();

  constructor(
    private readonly limits: GuardLimits,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** An HTTP/1.1 connection: its first request's headers must be in by `startedMs` + the limit. */
  watchHttp1Socket(socket: net.Socket, startedMs = Date.now()): void {
    const timers: Http1Timers = {};
    this.http1.set(socket, timers);
    this.armHeaders(socket, timers, startedMs + this.limits.http1HeadersTimeoutMs - Date.now());
    socket.once("close", () => {
      clearTimeout(timers.headers);
      clearTimeout(timers.request);
    });
  }

  /** Every HTTP/1.1 request (the server's "request" event). */
  onHttp1Request(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    const timers = this.http1.get(socket);
    if (!timers) return;
    clearTimeout(timers.headers);
    clearTimeout(timers.request);
    timers.request = setTimeout(() => {
      if (req.readableEnded) return;
      if (!res.headersSent) res.writeHead(408, { "content-type": "text/plain; charset=utf-8", connection: "close" }).end("request timeout\n");
      socket.destroy();
    }, this.limits.http1RequestTimeoutMs);
    timers.request.unref();
    req.once("end", () => clearTimeout(timers.request));
    // The next request on a kept-alive connection gets its own headers window.
    res.once("finish", () => {
      if (!socket.destroyed) this.armHeaders(socket, timers, this.limits.http1HeadersTimeoutMs);
    });
  }

  /** An HTTP/2 connection: idle (no open stream) limit and the stream-reset budget. */
  watchHttp2Session(session: http2.ServerHttp2Session): void {
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      idle = setTimeout(() => session.close(), this.limits.connectionIdleMs);
      idle.unref();
    };
    let windowStartMs = Date.now();
    let resets = 0;
    let calmed = false;
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      if (!this.anonymous.has(stream)) {
        if (open++ === 0) clearTimeout(idle);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          this.counted.delete(stream);
          if (--open === 0 && !session.closed) armIdle();
        };
        this.counted.set(stream, release);
        stream.once("close", release);
      }
      stream.once("aborted", () => {
        const now = Date.now();
        if (now - windowStartMs > this.limits.http2ClientResetWindowMs) [windowStartMs, resets] = [now, 0];
        if (++resets > this.limits.http2ClientResetsMax && !calmed) {
          calmed = true;
          this.calm(session);
        }
      });
    });
    session.once("close", () => clearTimeout(idle));
    armIdle();
  }

  /** A streaming call without a token (Health.Watch, reflection): it does not keep its
   * connection from being idle. Called by the RPC handler, before or after the session's
   * "stream" event. */
  markAnonymous(stream: http2.Http2Stream): void {
    this.anonymous.add(stream);
    this.counted.get(stream)?.();
  }

  private calm(session: http2.ServerHttp2Session): void {
    if (session.destroyed) return;
    this.metrics?.http2Goaways.inc({ reason: "RAPID_RESET" });
    this.logger.warn({ remoteAddress: session.socket?.remoteAddress, resetsMax: this.limits.http2ClientResetsMax }, "http2 connection closed: too many stream resets");
    // GOAWAY first, then the socket: destroy() alone may not get the frame out.
    session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    setImmediate(() => session.destroy());
  }

  private armHeaders(socket: net.Socket, timers: Http1Timers, ms: number): void {
    clearTimeout(timers.headers);
    timers.headers = setTimeout(() => socket.destroy(), Math.max(0, ms));
    timers.headers.unref();
  }
}
