// Raw protocol calls, below any client library: what exactly goes over the wire (every header,
// every trailer, the body bytes), for the error-hygiene checks and the hostile-input fuzzing.
import * as http from "node:http";
import * as http2 from "node:http2";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: Buffer;
}

function flat(h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  return out;
}

/** One HTTP/1.1 POST (the Connect protocol: unary = plain POST, JSON or binary body). */
export function postHttp1(baseUrl: string, path: string, body: Buffer | string, headers: Record<string, string>, timeoutMs = 30_000): Promise<RawResponse> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { "content-length": String(Buffer.byteLength(body)), ...headers }, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: flat(res.headers), trailers: flat(res.trailers as http.IncomingHttpHeaders), body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("raw call timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** A Connect unary call with a JSON body (an object is serialized; a string or Buffer is sent
 * as is, so malformed bodies can be sent too). */
export function connectJson(baseUrl: string, procedure: string, body: unknown, token?: string, extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
  const payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return postHttp1(baseUrl, `/${procedure}`, payload, { "content-type": "application/json", "connect-protocol-version": "1", ...(token ? { authorization: `Bearer ${token}` } : {}), ...extraHeaders });
}

/** gRPC over one HTTP/2 connection: a single length-prefixed message (`frame` = the whole body,
 * prefix included, so that hostile prefixes can be sent). */
export function grpcCall(baseUrl: string, procedure: string, frame: Buffer, token?: string, extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": `/${procedure}`,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...extraHeaders,
    });
    let headers: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => (headers = flat(h)));
    req.on("trailers", (t) => (trailers = flat(t)));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      session.close();
      resolve({ status: Number(headers[":status"] ?? 0), headers, trailers, body: Buffer.concat(chunks) });
    });
    req.on("error", (err) => {
      session.destroy();
      reject(err);
    });
    req.end(frame);
  });
}

/** The gRPC length prefix + message. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, Buffer.from(message)]);
}

/** The Connect error code of a raw response ("internal", ...), or "ok". */
export function connectCode(res: RawResponse): string {
  if (res.status === 200) return "ok";
  try {
    return String((JSON.parse(res.body.toString("utf8")) as { code?: unknown }).code ?? `http-${res.status}`);
  } catch {
    return `http-${res.status}`;
  }
}

/** Every byte a client receives, as text (binary parts decoded as latin1, base64 details
 * decoded), for leak checks. */
export function wireText(res: RawResponse): string {
  const parts = [JSON.stringify(res.headers), JSON.stringify(res.trailers), res.body.toString("latin1")];
  for (const h of [res.headers, res.trailers]) {
    const details = h["grpc-status-details-bin"];
    if (details) parts.push(Buffer.from(details, "base64").toString("latin1"));
    const message = h["grpc-message"];
    if (message) parts.push(decodeURIComponent(message));
  }
  return parts.join("\n");
}
