// Errors as each protocol puts them on the wire, for the answers the transport gives itself
// (before connect-es runs: unknown methods, bad timeouts, unsupported compression, JSON too deep)
// and for reading and rewriting the answers connect-es gives before any interceptor runs
// (oversized or undecodable messages). Written from the protocol specifications (connectrpc.com
// /docs/protocol, gRPC's PROTOCOL-HTTP2 and PROTOCOL-WEB): connect-es keeps its own encoders
// internal, so they are not used here.
import { Code, ConnectError, decodeBinaryHeader, encodeBinaryHeader } from "@connectrpc/connect";
import { HEADER } from "./headers";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { create, toBinary, toJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { responseContentType, type RpcRequestKind } from "./rpc-protocol";

/** Envelope flags: Connect's end-of-stream message, gRPC-Web's trailer frame. */
export const CONNECT_END_STREAM_FLAG = 0b10;
export const GRPC_WEB_TRAILER_FLAG = 0b1000_0000;

const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.Canceled]: 499,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
  [Code.Unauthenticated]: 401,
};

interface RawDetail {
  type: string;
  value: Uint8Array;
  /** The detail as proto3 JSON, when its type is known here (Connect's optional "debug"). */
  debug?: JsonValue;
}

/** "invalid_argument" for Code.InvalidArgument (the Connect protocol's spelling). */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

function codeFromName(name: unknown): Code | undefined {
  if (typeof name !== "string") return undefined;
  const entry = Object.entries(Code).find(([key, value]) => typeof value === "number" && codeName(value) === name && key !== "");
  return entry ? (entry[1] as Code) : undefined;
}

function rawDetails(error: ConnectError): RawDetail[] {
  return error.details.map((d) => {
    if (!("desc" in d)) return { type: d.type, value: d.value, debug: d.debug };
    const desc = d.desc as DescMessage;
    const message = create(desc, d.value as never);
    return { type: desc.typeName, value: toBinary(desc, message), debug: toJson(desc, message) };
  });
}

// --- Connect -------------------------------------------------------------------------------

function connectErrorJson(error: ConnectError): Record<string, unknown> {
  const details = rawDetails(error).map((d) => ({ type: d.type, value: Buffer.from(d.value).toString("base64").replace(/=+$/, ""), ...(d.debug === undefined ? {} : { debug: d.debug }) }));
  return { code: codeName(error.code), message: error.rawMessage, ...(details.length > 0 ? { details } : {}) };
}

function connectErrorFromJson(json: unknown): ConnectError | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const o = json as { code?: unknown; message?: unknown; details?: unknown };
  const code = codeFromName(o.code) ?? Code.Unknown;
  const error = new ConnectError(typeof o.message === "string" ? o.message : "", code);
  if (Array.isArray(o.details)) {
    for (const d of o.details as { type?: unknown; value?: unknown; debug?: JsonValue }[]) {
      if (typeof d?.type === "string" && typeof d.value === "string") error.details.push({ type: d.type, value: Buffer.from(d.value, "base64"), debug: d.debug });
    }
  }
  return error;
}

// --- gRPC and gRPC-Web ---------------------------------------------------------------------

/** google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; } */
export function encodeStatus(error: ConnectError): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, 0).int32(error.code);
  w.tag(2, 2).string(error.rawMessage);
  for (const d of rawDetails(error)) {
    w.tag(3, 2).bytes(toBinary(AnySchema, create(AnySchema, { typeUrl: `type.googleapis.com/${d.type}`, value: d.value })));
  }
  return w.finish();
}

function decodeStatusDetails(bytes: Uint8Array): RawDetail[] {
  const details: RawDetail[] = [];
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field !== 3) {
      r.skip(wireType);
      continue;
    }
    const any = new BinaryReader(r.bytes());
    const a: Partial<Any> = {};
    while (any.pos < any.len) {
      const [f, t] = any.tag();
      if (f === 1) a.typeUrl = any.string();
      else if (f === 2) a.value = any.bytes();
      else any.skip(t);
    }
    if (a.typeUrl) details.push({ type: a.typeUrl.slice(a.typeUrl.lastIndexOf("/") + 1), value: a.value ?? new Uint8Array() });
  }
  return details;
}

/** gRPC's percent-encoding of grpc-message: bytes outside printable ASCII, and "%", as %XX of
 * their UTF-8 encoding; everything else as is (clients such as grpc-js decode only that). */
export function grpcPercentEncode(text: string): string {
  let out = "";
  for (const b of Buffer.from(text, "utf8")) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

/** Sets grpc-status, grpc-message and grpc-status-details-bin on `target` (trailers). */
export function setGrpcStatus(target: Headers, error: ConnectError): void {
  target.set(HEADER.grpcStatus, String(error.code));
  target.set(HEADER.grpcMessage, grpcPercentEncode(error.rawMessage));
  target.set("grpc-status-details-bin", encodeBinaryHeader(encodeStatus(error)));
}

/** The error in gRPC trailers, or undefined when they say OK. */
export function grpcStatusError(trailer: Headers): ConnectError | undefined {
  const status = trailer.get(HEADER.grpcStatus);
  if (status === null || status === "0") return undefined;
  const code = Number(status) in Code ? (Number(status) as Code) : Code.Unknown;
  let message = trailer.get(HEADER.grpcMessage) ?? "";
  try {
    message = decodeURIComponent(message);
  } catch {
    // A message that is not valid percent-encoding is kept as sent.
  }
  const error = new ConnectError(message, code);
  const bin = trailer.get("grpc-status-details-bin");
  if (bin) {
    try {
      error.details.push(...decodeStatusDetails(decodeBinaryHeader(bin)));
    } catch {
      // Undecodable details are dropped; the code and message still stand.
    }
  }
  return error;
}

function grpcWebTrailerBytes(error: ConnectError): Uint8Array {
  const t = new Headers();
  setGrpcStatus(t, error);
  const lines: string[] = [];
  t.forEach((value, key) => lines.push(`${key}: ${value}\r\n`));
  return Buffer.from(lines.join(""), "utf8");
}

function parseGrpcWebTrailer(data: Uint8Array): Headers {
  const h = new Headers();
  for (const line of Buffer.from(data).toString("utf8").split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) h.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return h;
}

// --- Envelopes and whole responses ---------------------------------------------------------

export function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(5 + data.byteLength);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
}

/** A complete answer carrying `error`, in the protocol and codec of the request. */
export function errorResponse(kind: RpcRequestKind, error: ConnectError, header = new Headers()): UniversalServerResponse {
  error.metadata.forEach((value, key) => header.set(key, value));
  header.set("content-type", responseContentType({ ...kind, text: false }));
  if (kind.protocol === "grpc") {
    const trailer = new Headers();
    setGrpcStatus(trailer, error);
    return { status: 200, header, trailer, body: empty() };
  }
  if (kind.protocol === "grpc-web") {
    return { status: 200, header, body: single(envelope(GRPC_WEB_TRAILER_FLAG, grpcWebTrailerBytes(error))) };
  }
  if (kind.enveloped) {
    const end = Buffer.from(JSON.stringify({ error: connectErrorJson(error) }), "utf8");
    return { status: 200, header, body: single(envelope(CONNECT_END_STREAM_FLAG, end)) };
  }
  const body = Buffer.from(JSON.stringify(connectErrorJson(error)), "utf8");
  header.set("content-type", "application/json");
  header.set("content-length", String(body.byteLength));
  return { status: HTTP_STATUS[error.code] ?? 500, header, body: single(body) };
}

/** Called with each error a response carries; returns its replacement, or undefined to keep it. */
export type ErrorRewrite = (error: ConnectError) => ConnectError | undefined;

/** `res` with its error (if any) passed through `rewrite`. Only the error part (a Connect unary
 * error body, read now, whole; a trailer, when the body streams past it) is decoded. */
export async function rewriteResponseError(kind: RpcRequestKind, res: UniversalServerResponse, rewrite: ErrorRewrite): Promise<UniversalServerResponse> {
  if (kind.protocol === "connect" && !kind.enveloped) {
    if (res.status === 200 || !res.body) return res;
    return rewriteConnectUnary(res, rewrite);
  }
  if (kind.protocol === "grpc") {
    const trailer = res.trailer ?? new Headers();
    return { ...res, trailer, body: afterBody(res.body, () => rewriteGrpcTrailer(trailer, rewrite)) };
  }
  return { ...res, body: rewriteFinalFrame(kind, res.body, rewrite) };
}

async function rewriteConnectUnary(res: UniversalServerResponse, rewrite: ErrorRewrite): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body!) chunks.push(chunk);
  const original = Buffer.concat(chunks);
  let parsed: ConnectError | undefined;
  try {
    parsed = connectErrorFromJson(JSON.parse(original.toString("utf8")));
  } catch {
    parsed = undefined;
  }
  const replacement = parsed ? rewrite(parsed) : undefined;
  if (!replacement) return { ...res, body: single(original) };
  const body = Buffer.from(JSON.stringify(connectErrorJson(replacement)), "utf8");
  const header = new Headers(res.header);
  header.set("content-length", String(body.byteLength));
  header.delete("content-encoding");
  return { ...res, status: HTTP_STATUS[replacement.code] ?? 500, header, body: single(body) };
}

function rewriteGrpcTrailer(trailer: Headers, rewrite: ErrorRewrite): void {
  const error = grpcStatusError(trailer);
  if (!error) return;
  const replacement = rewrite(error);
  if (replacement) setGrpcStatus(trailer, replacement);
  // connect-es percent-encodes grpc-message as a URI component (";" as %3B, ":" as %3A, " " as
  // %20); gRPC's spec encodes only bytes outside printable ASCII and "%", and grpc-js clients
  // decode with decodeURI, which leaves %3B as is. Re-encoded here as the spec says.
  else trailer.set(HEADER.grpcMessage, grpcPercentEncode(error.rawMessage));
}

/** gRPC-Web trailers and Connect end-stream messages are the last envelope of the body. */
async function* rewriteFinalFrame(kind: RpcRequestKind, body: AsyncIterable<Uint8Array> | undefined, rewrite: ErrorRewrite): AsyncGenerator<Uint8Array> {
  if (!body) return;
  const flag = kind.protocol === "grpc-web" ? GRPC_WEB_TRAILER_FLAG : CONNECT_END_STREAM_FLAG;
  for await (const chunk of body) {
    const isFinal = chunk.byteLength >= 5 && (chunk[0]! & flag) === flag && (chunk[0]! & 1) === 0 && Buffer.from(chunk).readUInt32BE(1) === chunk.byteLength - 5;
    yield isFinal ? rewriteFrame(kind, chunk.subarray(5), rewrite) ?? chunk : chunk;
  }
}

function rewriteFrame(kind: RpcRequestKind, data: Uint8Array, rewrite: ErrorRewrite): Uint8Array | undefined {
  if (kind.protocol === "grpc-web") {
    const trailer = parseGrpcWebTrailer(data);
    const error = grpcStatusError(trailer);
    if (!error) return undefined;
    const replacement = rewrite(error);
    if (replacement) return envelope(GRPC_WEB_TRAILER_FLAG, grpcWebTrailerBytes(replacement));
    // grpc-message re-encoded as gRPC's spec says (see rewriteGrpcTrailer), the rest kept.
    trailer.set(HEADER.grpcMessage, grpcPercentEncode(error.rawMessage));
    const lines: string[] = [];
    trailer.forEach((value, key) => lines.push(`${key}: ${value}\r\n`));
    return envelope(GRPC_WEB_TRAILER_FLAG, Buffer.from(lines.join(""), "utf8"));
  }
  let end: { error?: unknown; metadata?: unknown };
  try {
    end = JSON.parse(Buffer.from(data).toString("utf8")) as typeof end;
  } catch {
    return undefined;
  }
  const error = end.error === undefined ? undefined : connectErrorFromJson(end.error);
  const replacement = error ? rewrite(error) : undefined;
  if (!replacement) return undefined;
  return envelope(CONNECT_END_STREAM_FLAG, Buffer.from(JSON.stringify({ ...end, error: connectErrorJson(replacement) }), "utf8"));
}

async function* afterBody(body: AsyncIterable<Uint8Array> | undefined, done: () => void): AsyncGenerator<Uint8Array> {
  if (body) yield* body;
  done();
}

async function* single(chunk: Uint8Array): AsyncGenerator<Uint8Array> {
  yield chunk;
}

// eslint-disable-next-line require-yield
async function* empty(): AsyncGenerator<Uint8Array> {
  return;
}
