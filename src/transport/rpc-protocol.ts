// Which RPC protocol a request speaks, read from its method and Content-Type, with the names of
// the headers that protocol uses. The transport (rpc-adapter.ts) needs this before connect-es
// sees the request: to put the deadline in the right header, to check compression, to guard JSON
// bodies, and to answer errors in a form the client reads.

export type Protocol = "connect" | "grpc" | "grpc-web";

export interface RpcRequestKind {
  protocol: Protocol;
  /** Connect unary calls carry one bare message; every other form is enveloped (5-byte prefix). */
  enveloped: boolean;
  codec: "proto" | "json";
  /** gRPC-Web text mode: the body is base64 both ways. */
  text: boolean;
}

/** The Content-Type of a request (parameters dropped), lower case; "" when absent. */
export function mediaType(contentType: string | null | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The kind of an RPC request, or undefined when it is none of the three protocols. A GET is a
 * Connect unary call with its message in the query. */
export function rpcRequestKind(method: string, contentType: string | null | undefined, url: string): RpcRequestKind | undefined {
  if (method === "GET") {
    const encoding = new URL(url, "http://localhost").searchParams.get("encoding");
    return { protocol: "connect", enveloped: false, codec: encoding === "json" ? "json" : "proto", text: false };
  }
  const type = mediaType(contentType);
  let m = /^application\/grpc(?:\+(proto|json))?$/.exec(type);
  if (m) return { protocol: "grpc", enveloped: true, codec: m[1] === "json" ? "json" : "proto", text: false };
  m = /^application\/grpc-web(-text)?(?:\+(proto|json))?$/.exec(type);
  if (m) return { protocol: "grpc-web", enveloped: true, codec: m[2] === "json" ? "json" : "proto", text: m[1] !== undefined };
  m = /^application\/connect\+(proto|json)$/.exec(type);
  if (m) return { protocol: "connect", enveloped: true, codec: m[1] === "json" ? "json" : "proto", text: false };
  m = /^application\/(proto|json)$/.exec(type);
  if (m) return { protocol: "connect", enveloped: false, codec: m[1] === "json" ? "json" : "proto", text: false };
  return undefined;
}

/** The header that names the request's message compression. */
export function requestEncodingHeader(kind: RpcRequestKind): string {
  if (kind.protocol !== "connect") return "grpc-encoding";
  return kind.enveloped ? "connect-content-encoding" : "content-encoding";
}

/** The header that lists the compressions the server accepts, sent with UNIMPLEMENTED answers. */
export function acceptEncodingHeader(kind: RpcRequestKind): string {
  if (kind.protocol !== "connect") return "grpc-accept-encoding";
  return kind.enveloped ? "connect-accept-encoding" : "accept-encoding";
}

/** The Content-Type connect-es answers a request of this kind with. */
export function responseContentType(kind: RpcRequestKind): string {
  const codec = kind.codec;
  if (kind.protocol === "grpc") return `application/grpc+${codec}`;
  if (kind.protocol === "grpc-web") return kind.text ? `application/grpc-web-text+${codec}` : `application/grpc-web+${codec}`;
  return kind.enveloped ? `application/connect+${codec}` : `application/${codec}`;
}
