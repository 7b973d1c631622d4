// One call on the gRPC port (grpc-port.ts), from grpc-js's handler to the service implementation
// and back, through the same interceptors as the main port (observe, auth, the modules' own):
//
// - the request message is decoded here (@bufbuild/protobuf): an undecodable one is refused as on
//   the main port (INVALID_ARGUMENT MALFORMED_REQUEST, a log line "rpc refused before its
//   handler", bankd_rpc_refused_total), before any interceptor runs;
// - the deadline policy: grpc-js has parsed grpc-timeout (call.getDeadline()); the call gets the
//   default when the client sent none and the maximum when it asked for more (call-timeout.ts),
//   so the handler's ctx.signal fires at the effective deadline; a handler still running
//   deadlineGraceMs after it is answered DEADLINE_EXCEEDED without waiting for it;
// - the handler's signal also fires when the client goes away (grpc-js's "cancelled", noted on
//   the TransportCall so that observe logs it as canceled) and when the process drains;
// - every answer carries x-request-id in its headers; an error carries its Connect code as
//   grpc-status, its message as grpc-message (grpc-js percent-encodes it with encodeURI, which
//   grpc-js and grpcio clients decode as written), and google.rpc.Status with its
//   bank.v1.ErrorInfo in grpc-status-details-bin, as on the main port (wire-errors.ts).
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  encodeBinaryHeader,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { effectiveTimeoutMs, type DeadlinePolicy } from "./call-timeout";
import { connectError, frameworkError, toConnectError } from "./errors";
import { HEADER } from "./headers";
import type { Limits } from "../limits";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { remoteAddressKey, requestIdOf } from "./observe";
import { transportCallKey, type TransportCall } from "./call";
import { encodeStatus } from "./wire-errors";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";

export type GrpcCallLimits = {
  readonly [K in keyof Pick<Limits, "deadlineMsDefault" | "deadlineMsMax" | "streamDeadlineMsDefault" | "streamDeadlineMsMax" | "deadlineGraceMs">]: number;
};

export interface GrpcCallDeps {
  interceptors: Interceptor[];
  shutdownSignal: AbortSignal;
  logger: Logger;
  metrics?: Metrics;
  limits: GrpcCallLimits;
}

type AnyFn = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;
type Call = grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerReadableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>;
type Impl = (input: unknown, ctx: HandlerContext) => unknown;

/** The call's HandlerContext, for the innermost step of the interceptor chain. */
const handlerContextKey = createContextKey<HandlerContext | undefined>(undefined, { description: "bankd gRPC port handler context" });

/** What grpc-js sees of every request: the content type it checked (it passes none on). */
const GRPC_CONTENT_TYPE = "application/grpc";

/** grpc-js's handler for one method of a service implementation. */
export function methodHandler(spec: MethodImplSpec, deps: GrpcCallDeps): grpc.UntypedHandleCall {
  const method = spec.method;
  const procedure = `${method.parent.typeName}/${method.name}`;
  const policy: DeadlinePolicy =
    method.methodKind === "unary"
      ? { defaultMs: deps.limits.deadlineMsDefault, maxMs: deps.limits.deadlineMsMax }
      : { defaultMs: deps.limits.streamDeadlineMsDefault, maxMs: deps.limits.streamDeadlineMsMax };
  const chain = applyInterceptors(implementationStep(spec), deps.interceptors);
  const env: MethodEnv = { method, procedure, url: `grpc:///${procedure}`, policy, chain, deps: { ...deps, shutdown: new ShutdownFanout(deps.shutdownSignal) } };
  switch (method.methodKind) {
    case "unary":
      return ((call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void serveUnary(env, call, callback)) as grpc.handleUnaryCall<Buffer, Buffer>;
    case "server_streaming":
      return ((call: grpc.ServerWritableStream<Buffer, Buffer>) => void serveStream(env, call, call.request)) as grpc.handleServerStreamingCall<Buffer, Buffer>;
    case "client_streaming":
      return ((call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void serveUnary(env, call, callback)) as grpc.handleClientStreamingCall<Buffer, Buffer>;
    case "bidi_streaming":
      return ((call: grpc.ServerDuplexStream<Buffer, Buffer>) => void serveStream(env, call, undefined)) as grpc.handleBidiStreamingCall<Buffer, Buffer>;
  }
}

interface MethodEnv {
  method: DescMethod;
  procedure: string;
  /** The HandlerContext's url (grpc-js gives no scheme or authority that matters here). */
  url: string;
  policy: DeadlinePolicy;
  chain: AnyFn;
  deps: GrpcCallDeps & { shutdown: ShutdownFanout };
}

/** One listener on the process's shutdown signal per method, instead of one per call (adding
 * and removing a listener on a shared EventTarget per call showed in the profile). */
class ShutdownFanout {
  private readonly calls = new Set<() => void>();
  constructor(readonly signal: AbortSignal) {
    signal.addEventListener("abort", () => {
      for (const abort of this.calls) abort();
    }, { once: true });
  }
  add(abort: () => void): void {
    if (this.signal.aborted) abort();
    else this.calls.add(abort);
  }
  delete(abort: () => void): void {
    this.calls.delete(abort);
  }
}

/** The innermost step: the implementation itself, called as connect-es calls it. */
function implementationStep(spec: MethodImplSpec): AnyFn {
  const impl = spec.impl as Impl;
  const output = spec.method.output;
  return async (req) => {
    const context = req.contextValues.get(handlerContextKey)!;
    // connect-es's mergeRequest: an interceptor may have replaced the header, signal or values.
    const unchanged = req.header === context.requestHeader && req.signal === context.signal && req.contextValues === context.values && req.service === context.service;
    const ctx: HandlerContext = unchanged ? context : { ...context, service: req.service, requestHeader: req.header, signal: req.signal, values: req.contextValues };
    const common = { service: req.service, header: context.responseHeader, trailer: context.responseTrailer };
    switch (spec.kind) {
      case "unary":
        return { ...common, stream: false, method: spec.method, message: create(output, (await impl(req.message, ctx)) as never) } as UnaryResponse;
      case "client_streaming":
        return { ...common, stream: true, method: spec.method, message: single(create(output, (await impl(req.message, ctx)) as never)) } as unknown as StreamResponse;
      case "server_streaming":
        return { ...common, stream: true, method: spec.method, message: normalized(output, impl(await only(req.message as AsyncIterable<unknown>), ctx) as AsyncIterable<unknown>) } as StreamResponse;
      case "bidi_streaming":
        return { ...common, stream: true, method: spec.method, message: normalized(output, impl(req.message, ctx) as AsyncIterable<unknown>) } as StreamResponse;
    }
  };
}

/** What one call holds between grpc-js's handler and its answer. */
class CallState {
  readonly started = process.hrtime.bigint();
  readonly transport: TransportCall;
  readonly context: HandlerContext;
  /** True once a status (or a unary answer) has been handed to grpc-js. */
  answered = false;
  private headerSent = false;
  private readonly controller = new AbortController();
  /** One timer per call: the deadline, then (re-armed) the backstop deadlineGraceMs later. */
  private timer: NodeJS.Timeout | undefined;
  private readonly onShutdown: () => void;

  constructor(
    private readonly env: MethodEnv,
    private readonly call: Call,
    private readonly fail: (error: ConnectError) => void,
  ) {
    const header = headersOf(call.metadata);
    header.set("content-type", GRPC_CONTENT_TYPE);
    const remoteAddress = peerAddress(call.getPeer());
    this.transport = { requestId: requestIdOf(header.get(HEADER.requestId)), remoteAddress, observed: false, clientGone: false };
    // grpc-js parsed grpc-timeout into an absolute deadline (Infinity without one).
    const clientDeadline = Number(call.getDeadline());
    const timeoutMs = effectiveTimeoutMs(Number.isFinite(clientDeadline) ? clientDeadline - Date.now() : undefined, env.policy);
    const deadlineAt = Date.now() + timeoutMs;
    if (timeoutMs <= 0) this.timedOut();
    else this.timer = setTimeout(() => this.timedOut(), timeoutMs);
    this.onShutdown = () => this.controller.abort(env.deps.shutdown.signal.reason);
    env.deps.shutdown.add(this.onShutdown);
    // grpc-js emits "cancelled" when the stream closes, also after a status it sent itself: at
    // its own deadline (when the client's deadline is within the maximum), or after ours.
    (call as grpc.ServerUnaryCall<Buffer, Buffer>).once("cancelled", () => {
      if (this.answered) return;
      if (Number.isFinite(clientDeadline) && Date.now() >= clientDeadline) this.timedOut();
      else {
        this.transport.clientGone = true;
        this.controller.abort(new ConnectError("the client went away", Code.Canceled));
      }
    });
    // The HandlerContext connect-es would build (createHandlerContext), without what this call
    // does not need: its own deadline timer and linked abort controllers (the deadline, the
    // client going away and the drain all abort `controller`).
    this.context = {
      service: env.method.parent,
      method: env.method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: env.url,
      signal: this.controller.signal,
      timeoutMs: () => deadlineAt - Date.now(),
      requestHeader: header,
      responseHeader: new Headers(),
      responseTrailer: new Headers(),
      values: createContextValues().set(transportCallKey, this.transport).set(remoteAddressKey, remoteAddress),
    };
    this.context.values.set(handlerContextKey, this.context);
  }

  /** The deadline: the handler's signal fires; a handler still at work deadlineGraceMs later is
   * answered DEADLINE_EXCEEDED without waiting for it (the client has stopped waiting). */
  private timedOut(): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (this.answered) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.answered) this.fail(connectError(Code.DeadlineExceeded, "DEADLINE_EXCEEDED", "The call ended before its work was done."));
    }, this.env.deps.limits.deadlineGraceMs);
    this.timer.unref();
  }

  request(message: unknown, stream: boolean): UnaryRequest | StreamRequest {
    const c = this.context;
    return { stream, service: c.service, method: c.method, requestMethod: c.requestMethod, url: c.url, signal: c.signal, header: c.requestHeader, contextValues: c.values, message } as UnaryRequest | StreamRequest;
  }

  /** Sends the response headers once: x-request-id and what the handler set. */
  sendHeader(header: Headers | undefined): void {
    if (this.headerSent || this.call.cancelled) return;
    this.headerSent = true;
    const md = metadataOf(header ?? this.context.responseHeader);
    md.set(HEADER.requestId, this.transport.requestId);
    this.call.sendMetadata(md);
  }

  /** The call is over for grpc-js: its timer and listener go, the handler's signal stays as it is. */
  end(): void {
    this.answered = true;
    clearTimeout(this.timer);
    this.env.deps.shutdown.delete(this.onShutdown);
  }

  /** The grpc-js status of what a call threw. */
  status(err: unknown): Partial<grpc.StatusObject> {
    const error = contractError(err, this.transport.requestId);
    const md = new grpc.Metadata();
    error.metadata.forEach((value, key) => {
      if (key === HEADER.requestId) return;
      if (key.endsWith("-bin")) md.set(key, Buffer.from(value, "base64"));
      else md.set(key, value);
    });
    md.set("grpc-status-details-bin", Buffer.from(encodeStatus(error)));
    return { code: error.code as number as grpc.status, details: error.rawMessage, metadata: md };
  }

  /** An answer given before any interceptor ran, logged and counted as the main port does. */
  refuse(error: ConnectError): Partial<grpc.StatusObject> {
    const reason = error.findDetails(ErrorInfoSchema)[0]?.reason ?? "UNKNOWN";
    const seconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    const code = Code[error.code];
    const { metrics, logger } = this.env.deps;
    metrics?.rpcTotal.inc({ method: this.env.procedure, code });
    metrics?.rpcSeconds.observe({ method: this.env.procedure, code }, seconds);
    metrics?.rpcRefused.inc({ reason });
    const line = { method: this.env.procedure, code, reason, durationMs: Math.round(seconds * 1e6) / 1e3, requestId: this.transport.requestId, protocol: GRPC_CONTENT_TYPE, clientAddress: this.transport.remoteAddress };
    logger.info(line, "rpc refused before its handler");
    return this.status(error);
  }
}

async function serveUnary(env: MethodEnv, call: grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): Promise<void> {
  const state: CallState = new CallState(env, call, (error) => answer(() => callback(state.status(error))));
  const answer = (send: () => void) => {
    if (state.answered) return;
    state.end();
    if (!call.cancelled) send();
  };
  let input: unknown;
  if ("request" in call) {
    try {
      input = decode(env.method.input, call.request);
    } catch (err) {
      const status = state.refuse(err as ConnectError);
      answer(() => {
        state.sendHeader(undefined);
        callback(status);
      });
      return;
    }
  } else {
    input = decodeStream(env.method.input, call);
  }
  try {
    const res = await env.chain(state.request(input, !("request" in call)));
    let message: unknown = res.message;
    if (res.stream) for await (const m of res.message) message = m;
    const bytes = toBuffer(toBinary(env.method.output, message as never));
    answer(() => {
      state.sendHeader(res.header);
      callback(null, bytes, metadataOf(res.trailer));
    });
  } catch (err) {
    answer(() => {
      state.sendHeader(undefined);
      callback(state.status(err));
    });
  }
}

async function serveStream(env: MethodEnv, call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>, request: Buffer | undefined): Promise<void> {
  const fail = (error: unknown) => {
    if (state.answered) return;
    const status = state.status(error);
    state.end();
    if (call.cancelled) return;
    state.sendHeader(undefined);
    call.emit("error", status);
  };
  const state: CallState = new CallState(env, call, fail);
  let input: AsyncIterable<unknown>;
  if (request !== undefined) {
    let message: unknown;
    try {
      message = decode(env.method.input, request);
    } catch (err) {
      const status = state.refuse(err as ConnectError);
      state.end();
      if (!call.cancelled) {
        state.sendHeader(undefined);
        call.emit("error", status);
      }
      return;
    }
    input = single(message);
  } else {
    input = decodeStream(env.method.input, call as grpc.ServerDuplexStream<Buffer, Buffer>);
  }
  try {
    const res = (await env.chain(state.request(input, true))) as StreamResponse;
    const output = env.method.output;
    // Read to the end even when the client has gone: the handler's signal has fired, so it ends
    // soon, and the observe interceptor logs the call when its stream ends.
    for await (const message of res.message) {
      if (state.answered || call.cancelled) continue;
      state.sendHeader(res.header);
      if (!call.write(toBuffer(toBinary(output, message)))) await drained(call, state.context.signal);
    }
    if (state.answered) return;
    state.end();
    if (call.cancelled) return;
    state.sendHeader(res.header);
    call.end(metadataOf(res.trailer));
  } catch (err) {
    fail(err);
  }
}

/** The Connect error that the client gets for what a call threw: observe has mapped it already
 * (it carries an ErrorInfo); anything else goes through the same mapping. */
function contractError(err: unknown, requestId: string): ConnectError {
  if (err instanceof ConnectError) return frameworkError(err, requestId).error;
  return toConnectError(err, requestId).error;
}

function decode(desc: DescMessage, bytes: Buffer): unknown {
  try {
    return fromBinary(desc, bytes);
  } catch {
    throw connectError(Code.InvalidArgument, "MALFORMED_REQUEST", "The request body is not a valid encoding of this method's request message.");
  }
}

async function* decodeStream(desc: DescMessage, call: grpc.ServerReadableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>): AsyncGenerator<unknown> {
  for await (const bytes of call as AsyncIterable<Buffer>) yield decode(desc, bytes);
}

/** Resolves when grpc-js can take more, or when the call's signal fires. */
function drained(call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.on("drain", done);
    signal.addEventListener("abort", done);
  });
}

/** connect-es's order: the first interceptor is the outermost. */
function applyInterceptors(next: AnyFn, interceptors: readonly Interceptor[]): AnyFn {
  let fn = next;
  for (let i = interceptors.length - 1; i >= 0; i--) fn = interceptors[i]!(fn);
  return fn;
}

async function only(input: AsyncIterable<unknown>): Promise<unknown> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  return first.value;
}

async function* single<T>(value: T): AsyncGenerator<T> {
  yield value;
}

async function* normalized(desc: DescMessage, input: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const m of input) yield create(desc, m as never);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function headersOf(md: grpc.Metadata): Headers {
  const header = new Headers();
  const map = md.getMap();
  for (const key in map) {
    const value = map[key]!;
    header.set(key, typeof value === "string" ? value : encodeBinaryHeader(value));
  }
  return header;
}

function metadataOf(header: Headers | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  header?.forEach((value, key) => {
    if (key.endsWith("-bin")) md.set(key, Buffer.from(value, "base64"));
    else md.set(key, value);
  });
  return md;
}

/** "127.0.0.1:51234" / "::1:51234" -> the address without its port. */
function peerAddress(peer: string): string {
  return peer === "unknown" ? "" : peer.replace(/:\d+$/, "");
}
