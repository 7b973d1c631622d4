// The outermost interceptor: gives each call its request id (the transport's, see
// transport/call.ts) and its CallInfo, refuses new calls while draining, maps every thrown error
// through errors.ts, and writes one log line and the metrics for each call. A call whose client
// went away ends as canceled, logged as such: that is not a server error, whatever the handler
// threw when its work was cut short.
import { Code, ConnectError, createContextKey, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { HEADER } from "./headers";
import { randomUUID } from "node:crypto";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { callInfoKey } from "./context";
import type { CallInfo } from "../call-info";
import { connectError, toConnectError, type MappedError } from "./errors";
import { transportCallKey, type TransportCall } from "./call";

export interface ObserveDeps {
  logger: Logger;
  metrics: Metrics;
  /** True once the process has begun to drain: new calls are refused. */
  isDraining: () => boolean;
  /** Counts calls in flight, so that shutdown can wait for them. */
  inFlight: { add(): void; done(): void };
  trustProxy: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The client's x-request-id when it is a sane token, else a fresh UUID. */
export function requestIdOf(headerValue: string | null | undefined): string {
  return headerValue && REQUEST_ID.test(headerValue) ? headerValue : randomUUID();
}
/** Health stays answerable while draining, so balancers see NOT_SERVING. */
const HEALTH_SERVICE = "grpc.health.v1.Health";

export function observeInterceptor(deps: ObserveDeps): Interceptor {
  return (next) => async (req) => {
    const method = req.method.parent.typeName + "/" + req.method.name;
    const transport = req.contextValues.get(transportCallKey);
    if (transport) transport.observed = true;
    const requestId = transport?.requestId ?? requestIdOf(req.header.get(HEADER.requestId));
    const info: CallInfo = {
      requestId,
      clientAddress: clientAddress(req.header.get(HEADER.forwardedFor), transport?.remoteAddress ?? req.contextValues.get(remoteAddressKey), deps.trustProxy),
      userAgent: (req.header.get(HEADER.userAgent) ?? "").slice(0, 256),
      procedure: method,
      signal: req.signal,
    };
    req.contextValues.set(callInfoKey, info);
    const started = process.hrtime.bigint();
    deps.metrics.rpcInFlight.inc({ method });
    // Only unary calls hold up a drain; streams (health watch, reflection) are cut at close.
    const counted = !req.stream;
    if (counted) deps.inFlight.add();
    let streaming = false;
    const finish = (code: Code | 0, err?: unknown) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // One spelling for every code, in metrics and logs: grpc-go's (codes.Code.String(), the
      // grpc_code label of its Prometheus middleware): "OK", then connect-es's Code names, which
      // are the same ("Canceled", "FailedPrecondition", ...).
      const codeName = code === 0 ? OK_CODE_NAME : Code[code];
      deps.metrics.rpcInFlight.dec({ method });
      deps.metrics.rpcTotal.inc({ method, code: codeName });
      deps.metrics.rpcSeconds.observe({ method, code: codeName }, seconds);
      if (counted) deps.inFlight.done();
      const line = { method, code: codeName, durationMs: Math.round(seconds * 1e6) / 1e3, requestId, userId: info.principal?.userId, protocol: req.header.get("content-type")?.split(";")[0] };
      if (err !== undefined) deps.logger.error({ ...line, err }, "rpc failed unexpectedly");
      else if (code === Code.Canceled) deps.logger.info(line, "rpc canceled by the client");
      else deps.logger.info(line, "rpc");
    };
    try {
      if (deps.isDraining() && req.method.parent.typeName !== HEALTH_SERVICE) {
        throw connectError(Code.Unavailable, "SHUTTING_DOWN", "The server is shutting down; retry on another instance.");
      }
      const res = await next(req);
      res.header.set(HEADER.requestId, requestId);
      if (res.stream) {
        streaming = true;
        return wrapStream(res, (err) => mapCallError(err, requestId, req.signal, transport), finish);
      }
      finish(0);
      return res as UnaryResponse;
    } catch (err) {
      if (streaming) throw err;
      const mapped = mapCallError(err, requestId, req.signal, transport);
      mapped.error.metadata.set(HEADER.requestId, requestId);
      finish(mapped.error.code, mapped.unexpected ? err : undefined);
      throw mapped.error;
    }
  };
}

/** Maps what a call threw; a call whose client went away ended because of that. */
function mapCallError(err: unknown, requestId: string, signal: AbortSignal, transport: TransportCall | undefined): MappedError {
  if (transport?.clientGone || (signal.aborted && isCanceled(signal.reason))) {
    return { error: connectError(Code.Canceled, "CANCELED", "The client canceled the call."), unexpected: false };
  }
  return toConnectError(err, requestId);
}

function isCanceled(reason: unknown): boolean {
  // By name: Node's AbortError may come from another realm (a DOMException), where instanceof fails.
  return (reason as { name?: unknown } | undefined)?.name === "AbortError" || (reason instanceof ConnectError && reason.code === Code.Canceled);
}

function wrapStream(res: StreamResponse, map: (err: unknown) => MappedError, finish: (code: Code | 0, err?: unknown) => void): StreamResponse {
  const source = res.message;
  async function* guarded() {
    try {
      for await (const message of source) yield message;
      finish(0);
    } catch (err) {
      const mapped = map(err);
      finish(mapped.error.code, mapped.unexpected ? err : undefined);
      throw mapped.error;
    }
  }
  return { ...res, message: guarded() };
}

/** The socket's remote address, for calls that do not come through rpc-adapter.ts. */
export const remoteAddressKey = createContextKey<string>("", { description: "remote address" });

/** The client address of a call: the first X-Forwarded-For entry behind a trusted proxy, else the
 * socket's peer. */
export function clientAddress(forwardedFor: string | null, remote: string, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = forwardedFor?.split(",")[0]?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return remote.replace(/^::ffff:/, "") || "unknown";
}

/** The code label of a call that succeeded (metrics and logs). */
export const OK_CODE_NAME = "OK";
