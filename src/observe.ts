// The outermost interceptor: gives each call a request id and its CallInfo, refuses new calls
// while draining, maps every thrown error through errors.ts, and writes one log line and the
// metrics for each call.
import { Code, createContextKey, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { callInfoKey, type CallInfo } from "./context";
import { connectError, toConnectError } from "./errors";

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
/** Health stays answerable while draining, so balancers see NOT_SERVING. */
const HEALTH_SERVICE = "grpc.health.v1.Health";

export function observeInterceptor(deps: ObserveDeps): Interceptor {
  return (next) => async (req) => {
    const method = req.method.parent.typeName + "/" + req.method.name;
    const headerId = req.header.get("x-request-id") ?? "";
    const requestId = REQUEST_ID.test(headerId) ? headerId : randomUUID();
    const info: CallInfo = {
      requestId,
      clientAddress: clientAddress(req.header, req.contextValues.get(remoteAddressKey), deps.trustProxy),
      userAgent: (req.header.get("user-agent") ?? "").slice(0, 256),
      procedure: method,
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
      const codeName = code === 0 ? "ok" : Code[code];
      deps.metrics.rpcInFlight.dec({ method });
      deps.metrics.rpcTotal.inc({ method, code: codeName });
      deps.metrics.rpcSeconds.observe({ method, code: codeName }, seconds);
      if (counted) deps.inFlight.done();
      const line = { method, code: codeName, durationMs: Math.round(seconds * 1e6) / 1e3, requestId, userId: info.principal?.userId, protocol: req.header.get("content-type")?.split(";")[0] };
      if (err !== undefined) deps.logger.error({ ...line, err }, "rpc failed unexpectedly");
      else deps.logger.info(line, "rpc");
    };
    try {
      if (deps.isDraining() && req.method.parent.typeName !== HEALTH_SERVICE) {
        throw connectError(Code.Unavailable, "SHUTTING_DOWN", "The server is shutting down; retry on another instance.");
      }
      const res = await next(req);
      res.header.set("x-request-id", requestId);
      if (res.stream) {
        streaming = true;
        return wrapStream(res, requestId, finish);
      }
      finish(0);
      return res as UnaryResponse;
    } catch (err) {
      if (streaming) throw err;
      const mapped = toConnectError(err, requestId);
      mapped.error.metadata.set("x-request-id", requestId);
      finish(mapped.error.code, mapped.unexpected ? err : undefined);
      throw mapped.error;
    }
  };
}

function wrapStream(res: StreamResponse, requestId: string, finish: (code: Code | 0, err?: unknown) => void): StreamResponse {
  const source = res.message;
  async function* guarded() {
    try {
      for await (const message of source) yield message;
      finish(0);
    } catch (err) {
      const mapped = toConnectError(err, requestId);
      finish(mapped.error.code, mapped.unexpected ? err : undefined);
      throw mapped.error;
    }
  }
  return { ...res, message: guarded() };
}

/** The socket's remote address, set by the Node adapter's contextValues hook. */
export const remoteAddressKey = createContextKey<string>("", { description: "remote address" });

function clientAddress(header: Headers, remote: string, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = header.get("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return remote.replace(/^::ffff:/, "") || "unknown";
}

