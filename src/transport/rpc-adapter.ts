// The Node.js request handler for RPCs, in place of connect-node's connectNodeAdapter, built from
// connect-es's public pieces (createConnectRouter, the router's UniversalHandlers,
// universalRequestFromNodeRequest / universalResponseToNodeResponse, the compressions). It does
// what connectNodeAdapter does, plus what bankd's contract needs before and after connect-es:
//
// - every call gets a deadline: the default when the client sends none, the maximum when it asks
//   for more (call-timeout.ts), so each handler's ctx.signal fires at the effective deadline; a
//   handler still running well past it has its stream reset;
// - gRPC-Web text mode (base64 both ways) on the same routes (grpc-web-text.ts);
// - JSON requests nested too deep are refused before anything parses them (json-depth.ts), and
//   64-bit integers in JSON are read only as `-?[0-9]+` (json-int64.ts);
// - answers that connect-es or the transport give before any interceptor runs (unknown method,
//   wrong HTTP method, bad timeout, unsupported compression, oversized or undecodable message)
//   carry the error contract of docs/api.md: an ErrorInfo reason, x-request-id, a log line, metrics;
// - an unknown method asked for over gRPC gets HTTP 200 with grpc-status 12, as gRPC clients
//   expect; a wrong HTTP method gets 405 with Allow;
// - a client that goes away is noted (transport/call.ts) so that it is not logged as a failure.
import type * as http from "node:http";
import { HEADER } from "./headers";
import * as http2 from "node:http2";
import { Code, ConnectError, createConnectRouter, createContextValues, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { DescMessage } from "@bufbuild/protobuf";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { connectError, frameworkError } from "./errors";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import type { Limits } from "../limits";
import { clientAddress, remoteAddressKey, requestIdOf } from "./observe";
import type { AddressCaps } from "./address-caps";
import { applyDeadlinePolicy } from "./call-timeout";
import { binaryContentType, decodeBase64Body, encodeBase64Body } from "./grpc-web-text";
import { guardEnvelopedJson, jsonDepthWithin, jsonTooDeep } from "./json-depth";
import { looseInt64 } from "./json-int64";
import { acceptEncodingHeader, mediaType, requestEncodingHeader, responseContentType, rpcRequestKind, type RpcRequestKind } from "./rpc-protocol";
import { transportCallKey, type TransportCall } from "./call";
import { errorResponse, rewriteResponseError } from "./wire-errors";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

export type RpcLimits = { readonly [K in keyof Pick<Limits, "messageBytesMax" | "deadlineMsDefault" | "deadlineMsMax" | "streamDeadlineMsDefault" | "streamDeadlineMsMax" | "deadlineGraceMs" | "http2RequestTimeoutMs" | "jsonDepthMax">]: number };

export interface RpcAdapterOptions {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  shutdownSignal: AbortSignal;
  logger: Logger;
  metrics?: Metrics;
  limits: RpcLimits;
  /** Requests that are not RPCs (plain HTTP routes, 404). */
  fallback: NodeHandler;
  /** Per-client-address shares of calls (address-caps.ts); none when absent. */
  caps?: AddressCaps;
  /** Whether the client address is the first X-Forwarded-For entry (BANK_TRUST_PROXY). */
  trustProxy?: boolean;
  /** Told of each admitted streaming call without a token (the connection guard does not count
   * it as keeping its HTTP/2 connection busy). */
  onAnonymousStream?: (req: NodeRequest) => void;
}

const COMPRESSIONS = [compressionGzip, compressionBrotli];
const ACCEPTED_ENCODINGS = COMPRESSIONS.map((c) => c.name).join(", ");

/** What the transport answered by itself, for the log line and the metrics. */
interface Refusal {
  code: Code;
  reason: string;
  unexpected: boolean;
}

export function createRpcHandler(opts: RpcAdapterOptions): NodeHandler {
  const router = createConnectRouter({
    interceptors: opts.interceptors,
    readMaxBytes: opts.limits.messageBytesMax,
    writeMaxBytes: opts.limits.messageBytesMax,
    // A zero balance is sent as "minorUnits": "0", not left out: JSON clients read what they see.
    jsonOptions: { alwaysEmitImplicit: true },
    shutdownSignal: opts.shutdownSignal,
    acceptCompression: COMPRESSIONS,
  });
  opts.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = paths.get((req.url ?? "").split("?", 1)[0]!);
    const kind = rpcRequestKind(req.method ?? "", header(req, "content-type"), req.url ?? "");
    if (!handler && !(kind && req.method === "POST")) {
      opts.fallback(req, res);
      return;
    }
    void serveCall(opts, handler, kind, req, res);
  };
}

async function serveCall(opts: RpcAdapterOptions, handler: UniversalHandler | undefined, kind: RpcRequestKind | undefined, req: NodeRequest, res: NodeResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const call: TransportCall = { requestId: requestIdOf(header(req, HEADER.requestId)), remoteAddress: req.socket?.remoteAddress ?? "", observed: false, clientGone: false };
  const procedure = handler ? `${handler.service.typeName}/${handler.method.name}` : (req.url ?? "").split("?", 1)[0]!.slice(1, 200);
  // Subscribed before connect-es subscribes to the same events, so that the flag is set by the
  // time the handler's signal fires. "Gone" = the stream or connection ended before we ended the
  // answer (HTTP/1.1 reports it on the request as an error first, then on the response).
  const gone = () => {
    if (!res.writableEnded) call.clientGone = true;
  };
  (isHttp2(req) ? req : res).once("close", gone);
  req.once("error", gone);
  let refusal: Refusal | undefined;
  const refuse = (error: ConnectError): ConnectError => {
    const mapped = frameworkError(error, call.requestId);
    refusal = { code: mapped.error.code, reason: reasonOf(mapped.error), unexpected: mapped.unexpected };
    if (mapped.unexpected) opts.logger.error({ procedure, requestId: call.requestId, err: error }, "rpc failed unexpectedly before its handler");
    return mapped.error;
  };
  const early = precheck(handler, kind, req) ?? admit(opts, handler!, req, res);
  if (early) {
    let logged = false;
    const log = () => {
      if (!logged) logRefusal(opts, procedure, handler !== undefined, call, kind, refusal!, started);
      logged = true;
    };
    res.once("close", log);
    writeEarly(res, kind, early, refuse(early.error), call.requestId, log);
    return;
  }
  const uRes = await dispatch(opts, handler!, kind!, req, res, call, refuse);
  const backstop = deadlineBackstop(req, res, uRes.timeoutMs + opts.limits.deadlineGraceMs);
  // universalResponseToNodeResponse settles on its "end" event, which an HTTP/1.1 response never
  // emits; the response's "close" (after the last byte, or when the client left) is what counts.
  // Settled when the body has been handed to the socket (HTTP/2 emits "finish" only once the
  // client stops sending too, which a client refused early may never do), or when it closes.
  let settled = false;
  const settle = () => {
    if (settled) return;
    settled = true;
    clearTimeout(backstop);
    if (!call.observed && refusal) logRefusal(opts, procedure, true, call, kind, refusal, started);
  };
  res.once("close", settle);
  universalResponseToNodeResponse(afterBody(uRes.response, settle), res as http.ServerResponse).catch((err: unknown) => {
    if (!call.clientGone) opts.logger.warn({ procedure, requestId: call.requestId, err }, "rpc response could not be written");
  });
}

interface Early {
  status?: number;
  headers?: Record<string, string>;
  error: ConnectError;
}

/** Refusals that need no body: an unknown method, a wrong HTTP method, a media type no protocol
 * of the method speaks. */
function precheck(handler: UniversalHandler | undefined, kind: RpcRequestKind | undefined, req: NodeRequest): Early | undefined {
  // HTTP 501: the Connect protocol's HTTP status for the code unimplemented.
  if (!handler) return { status: 501, error: connectError(Code.Unimplemented, "UNKNOWN_METHOD", `There is no method ${(req.url ?? "").split("?", 1)[0]!.slice(1, 200)}.`) };
  if (!handler.allowedMethods.includes(req.method ?? "")) {
    return { status: 405, headers: { allow: handler.allowedMethods.join(", ") }, error: connectError(Code.Unimplemented, "METHOD_NOT_ALLOWED", `${req.method} is not allowed here; use ${handler.allowedMethods.join(" or ")}.`) };
  }
  const type = kind?.text ? binaryContentType(header(req, "content-type") ?? "") : header(req, "content-type");
  if (!kind || (req.method !== "GET" && !handler.supportedContentType(type ?? ""))) {
    return { status: 415, headers: { "accept-post": "application/json, application/proto, application/grpc, application/grpc-web, application/grpc-web-text" }, error: connectError(Code.Unimplemented, "UNSUPPORTED_MEDIA_TYPE", `Content-Type ${JSON.stringify(mediaType(type)).slice(0, 80)} is not supported.`) };
  }
  return undefined;
}

/** Takes the call's share of its client address (address-caps.ts), given back when its response
 * closes; a refusal when the address (or every anonymous stream together) is at its cap. */
function admit(opts: RpcAdapterOptions, handler: UniversalHandler, req: NodeRequest, res: NodeResponse): Early | undefined {
  if (!opts.caps) return undefined;
  const anonymousStream = handler.method.methodKind !== "unary" && !header(req, HEADER.authorization);
  const address = clientAddress(header(req, HEADER.forwardedFor) ?? null, req.socket?.remoteAddress ?? "", opts.trustProxy ?? false);
  const admitted = opts.caps.admitCall(address, anonymousStream);
  // HTTP 429: the Connect protocol's HTTP status for the code resource_exhausted.
  if ("refusal" in admitted) return { status: 429, error: admitted.refusal };
  res.once("close", admitted.release);
  if (anonymousStream) opts.onAnonymousStream?.(req);
  return undefined;
}

/** Writes an early refusal: in the protocol of the request when it is an RPC one (gRPC clients
 * get HTTP 200 and grpc-status), else as a Connect JSON error with the early HTTP status. */
function writeEarly(res: NodeResponse, kind: RpcRequestKind | undefined, early: Early, error: ConnectError, requestId: string, written: () => void): void {
  const grpcLike = kind !== undefined && kind.protocol !== "connect";
  const uRes = errorResponse(grpcLike ? kind : { protocol: "connect", enveloped: false, codec: "json", text: false }, error, new Headers({ [HEADER.requestId]: requestId, ...early.headers }));
  if (!grpcLike && early.status !== undefined) uRes.status = early.status;
  void universalResponseToNodeResponse(afterBody(kind?.text ? textResponse(kind, uRes) : uRes, written), res as http.ServerResponse).catch(() => undefined);
}

/** Prepares the request, runs connect-es's handler, and fixes up its answer. */
async function dispatch(
  opts: RpcAdapterOptions,
  handler: UniversalHandler,
  kind: RpcRequestKind,
  req: NodeRequest,
  res: NodeResponse,
  call: TransportCall,
  refuse: (error: ConnectError) => ConnectError,
): Promise<{ response: UniversalServerResponse; timeoutMs: number }> {
  const contextValues = createContextValues().set(transportCallKey, call).set(remoteAddressKey, call.remoteAddress);
  // Throws only for an HTTP/1.1 request without a Host header, which Node refuses earlier.
  const uReq = universalRequestFromNodeRequest(req, res, undefined, contextValues);
  const unary = handler.method.methodKind === "unary" || handler.method.methodKind === "server_streaming";
  const policy = handler.method.methodKind === "unary"
    ? { defaultMs: opts.limits.deadlineMsDefault, maxMs: opts.limits.deadlineMsMax }
    : { defaultMs: opts.limits.streamDeadlineMsDefault, maxMs: opts.limits.streamDeadlineMsMax };
  const timeout = applyDeadlinePolicy(uReq.header, kind.protocol, policy);
  if (unary && isHttp2(req)) requestTimeout(req, opts.limits.http2RequestTimeoutMs);
  const header = new Headers({ [HEADER.requestId]: call.requestId });
  let response: UniversalServerResponse;
  try {
    const problem = timeout.ok ? await prepare(uReq, kind, handler.method.input, opts.limits, header) : connectError(Code.InvalidArgument, "INVALID_TIMEOUT", `The deadline header value ${JSON.stringify(timeout.value)} is not a valid timeout.`);
    response = problem ? errorResponse(kind, refuse(problem), header) : await handler(uReq);
  } catch (err) {
    response = errorResponse(kind, refuse(err instanceof ConnectError ? err : new ConnectError("transport failure", Code.Internal, undefined, undefined, err)), header);
  }
  response.header ??= new Headers();
  header.forEach((value, key) => response.header!.set(key, value));
  response = await rewriteResponseError(kind, response, (error) => (call.observed ? undefined : refuse(error)));
  return { response: kind.text ? textResponse(kind, response) : response, timeoutMs: timeout.ok ? timeout.timeoutMs : 0 };
}

/** Text mode, compression and JSON checks (depth, strict int64 against `input`, the method's
 * request message) on the request; returns a refusal, if any. */
async function prepare(uReq: UniversalServerRequest, kind: RpcRequestKind, input: DescMessage, limits: RpcLimits, responseHeader: Headers): Promise<ConnectError | undefined> {
  const body = uReq.body as AsyncIterable<Uint8Array>;
  if (kind.text) {
    uReq.header.set("content-type", binaryContentType(uReq.header.get("content-type") ?? ""));
    uReq.body = decodeBase64Body(body);
  }
  const encoding = uReq.method === "GET" ? null : uReq.header.get(requestEncodingHeader(kind));
  const compression = encoding && encoding !== "identity" ? COMPRESSIONS.find((c) => c.name === encoding) : undefined;
  if (encoding && encoding !== "identity" && !compression) {
    responseHeader.set(acceptEncodingHeader(kind), ACCEPTED_ENCODINGS);
    return connectError(Code.Unimplemented, "UNSUPPORTED_COMPRESSION", `Compression ${JSON.stringify(encoding.slice(0, 40))} is not supported; use one of: ${ACCEPTED_ENCODINGS}.`);
  }
  if (kind.codec !== "json") return undefined;
  const decompress = compression ? (bytes: Uint8Array) => compression.decompress(bytes, limits.messageBytesMax) : undefined;
  const check = (bytes: Uint8Array) => looseInt64(bytes, input);
  if (kind.enveloped) {
    uReq.body = guardEnvelopedJson(uReq.body as AsyncIterable<Uint8Array>, limits.jsonDepthMax, limits.messageBytesMax, decompress, check);
    return undefined;
  }
  return uReq.method === "GET" ? checkJsonQuery(uReq, limits, check) : readJsonBody(uReq, limits, decompress, check);
}

type JsonCheck = (bytes: Uint8Array) => ConnectError | undefined;

/** A Connect unary JSON body: read in full (bounded), decompressed, checked, handed on as is. */
async function readJsonBody(uReq: UniversalServerRequest, limits: RpcLimits, decompress: ((bytes: Uint8Array) => Promise<Uint8Array>) | undefined, check: JsonCheck): Promise<ConnectError | undefined> {
  const declared = Number(uReq.header.get("content-length") ?? "0");
  if (declared > limits.messageBytesMax) return tooLarge(limits);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of uReq.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limits.messageBytesMax) return tooLarge(limits);
    chunks.push(chunk);
  }
  let bytes: Uint8Array = Buffer.concat(chunks);
  if (decompress) {
    bytes = await decompress(bytes);
    uReq.header.delete("content-encoding");
  }
  if (!jsonDepthWithin(bytes, limits.jsonDepthMax)) return jsonTooDeep(limits.jsonDepthMax);
  const loose = check(bytes);
  if (loose) return loose;
  uReq.header.set("content-length", String(bytes.byteLength));
  uReq.body = (async function* () {
    yield bytes;
  })();
  return undefined;
}

/** A Connect GET: the message is in the query (base64 and compression optional). */
async function checkJsonQuery(uReq: UniversalServerRequest, limits: RpcLimits, check: JsonCheck): Promise<ConnectError | undefined> {
  const params = new URL(uReq.url).searchParams;
  let bytes: Uint8Array = params.get("base64") === "1" ? Buffer.from(params.get("message") ?? "", "base64") : Buffer.from(params.get("message") ?? "", "utf8");
  const compression = COMPRESSIONS.find((c) => c.name === params.get("compression"));
  if (compression) bytes = await compression.decompress(bytes, limits.messageBytesMax);
  return jsonDepthWithin(bytes, limits.jsonDepthMax) ? check(bytes) : jsonTooDeep(limits.jsonDepthMax);
}

function tooLarge(limits: RpcLimits): ConnectError {
  return connectError(Code.ResourceExhausted, "MESSAGE_TOO_LARGE", `The request message is larger than ${limits.messageBytesMax} bytes.`);
}

/** `res` whose body calls `done` once it has been read to its end (or abandoned). */
function afterBody(res: UniversalServerResponse, done: () => void): UniversalServerResponse {
  const body = res.body;
  return {
    ...res,
    body: (async function* () {
      try {
        if (body) yield* body;
      } finally {
        done();
      }
    })(),
  };
}

function textResponse(kind: RpcRequestKind, res: UniversalServerResponse): UniversalServerResponse {
  res.header?.set("content-type", responseContentType(kind));
  return { ...res, body: res.body ? encodeBase64Body(res.body) : undefined };
}

/** Resets a call's stream (or closes its HTTP/1.1 connection) when its handler is still at work
 * long after the deadline: the client stopped waiting; the stream should not stay open. */
function deadlineBackstop(req: NodeRequest, res: NodeResponse, afterMs: number): NodeJS.Timeout {
  const timer = setTimeout(() => {
    if (res.writableFinished) return;
    if (isHttp2(req)) req.stream.close(http2.constants.NGHTTP2_CANCEL);
    else res.destroy();
  }, afterMs);
  timer.unref();
  return timer;
}

/** A unary call's request is one message: on HTTP/2 it must arrive in full within `ms`. */
function requestTimeout(req: http2.Http2ServerRequest, ms: number): void {
  if (req.readableEnded) return;
  const timer = setTimeout(() => req.stream.close(http2.constants.NGHTTP2_CANCEL), ms);
  timer.unref();
  const clear = () => clearTimeout(timer);
  req.once("end", clear);
  req.once("close", clear);
}

function logRefusal(opts: RpcAdapterOptions, procedure: string, known: boolean, call: TransportCall, kind: RpcRequestKind | undefined, refusal: Refusal, started: bigint): void {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const code = Code[refusal.code];
  // A path that names no method is the client's text: as a label, each one would be a new series
  // (20,000 random paths made /metrics 81 MB, issue 25). They all count under one label; the log
  // line keeps the path (cut to 200 characters).
  const method = known ? procedure : UNKNOWN_METHOD_LABEL;
  opts.metrics?.rpcTotal.inc({ method, code });
  opts.metrics?.rpcSeconds.observe({ method, code }, seconds);
  opts.metrics?.rpcRefused.inc({ reason: refusal.reason });
  const line = { method: procedure, code, reason: refusal.reason, durationMs: Math.round(seconds * 1e6) / 1e3, requestId: call.requestId, protocol: kind ? responseContentType(kind) : undefined, clientAddress: call.remoteAddress };
  opts.logger.info(line, "rpc refused before its handler");
}

/** The method label of every call to a path that names no method of bankd's services. */
export const UNKNOWN_METHOD_LABEL = "unknown";

function reasonOf(error: ConnectError): string {
  return error.findDetails(ErrorInfoSchema)[0]?.reason ?? "UNKNOWN";
}

function header(req: NodeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isHttp2(req: NodeRequest): req is http2.Http2ServerRequest {
  return "stream" in req;
}
