// Goal (issue 13, items 8-11 and 14): the answers the transport and connect-es give before any
// handler runs keep the error contract of docs/api.md — a Connect code, a bank.v1.ErrorInfo reason,
// x-request-id (the client's own when it sent one), one log line and a metric — for oversized
// messages, malformed or unknown-unit timeouts, unsupported compression, undecodable bodies and
// JSON nested too deep (refused before parsing, compressed or not, unary or streamed), over the
// Connect protocol and gRPC. An unknown method asked for over gRPC is HTTP 200 with grpc-status 12;
// a wrong HTTP method is 405 with Allow. gRPC-Web text mode works on the same routes. A client
// that goes away is logged as canceled, never as a server failure.
import * as http from "node:http";
import * as zlib from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type pino from "pino";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { Health, HealthCheckRequestSchema, HealthCheckResponseSchema } from "../../gen/grpc/health/v1/health_pb";
import { createLogger } from "../../src/logger";
import { limits } from "../../src/limits";
import { metricsText } from "../support/metrics";
import { client, startTestApp, type TestApp } from "../support/app";
import { connectJson, grpcCall, grpcFrame, postHttp1, type RawResponse } from "../system/support/raw-calls";
import { errorInfoInStatus } from "../support/status-details";
import { waitUntil } from "../support/wait";

interface LogLine {
  level: number;
  msg: string;
  method?: string;
  code?: string;
  reason?: string;
  requestId?: string;
}

const lines: LogLine[] = [];
let handlerStarted: () => void = () => undefined;
const logger = createLogger("info", { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } as pino.DestinationStream);

/** The ErrorInfo reason of a raw answer, whichever protocol carried it. */
function reasonOf(res: RawResponse): string | undefined {
  const bin = res.trailers["grpc-status-details-bin"] ?? res.headers["grpc-status-details-bin"];
  if (bin) return decodeStatusReason(bin);
  try {
    const body = JSON.parse(res.body.toString("utf8")) as { details?: { type: string; value: string }[] };
    const detail = body.details?.find((d) => d.type === "bank.v1.ErrorInfo");
    return detail ? fromBinary(ErrorInfoSchema, Buffer.from(detail.value, "base64")).reason : undefined;
  } catch {
    return undefined;
  }
}

const decodeStatusReason = (bin: string): string | undefined => errorInfoInStatus(bin)?.reason;

const grpcStatus = (res: RawResponse) => res.trailers["grpc-status"] ?? res.headers["grpc-status"];
const connectCodeOf = (res: RawResponse) => (JSON.parse(res.body.toString("utf8")) as { code?: string }).code;
const checkRequest = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" }));

describe("answers given before any handler", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp("sqlite", {}, {
      logger,
      modules: async () => [
        {
          routes: (router) =>
            router.service(AuthService, {
              // Cut short when its client goes away, as a database call would be: it throws a plain error.
              async getJwks(_req, ctx) {
                handlerStarted();
                await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
                throw new Error("Connection terminated: the query was aborted");
              },
            }),
        },
      ],
    });
  });
  afterAll(async () => t.stop());

  /** Each case: a raw call carrying x-request-id, the code and reason it must get. */
  const cases: [string, (id: string) => Promise<RawResponse>, string, string][] = [
    ["Connect: oversized JSON", (id) => connectJson(t.baseUrl, "grpc.health.v1.Health/Check", { service: "x".repeat(limits.messageBytesMax + 10) }, undefined, { "x-request-id": id }), "resource_exhausted", "MESSAGE_TOO_LARGE"],
    ["gRPC: oversized message", (id) => grpcCall(t.baseUrl, "grpc.health.v1.Health/Check", grpcFrame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "x".repeat(limits.messageBytesMax + 10) }))), undefined, { "x-request-id": id }), "8", "MESSAGE_TOO_LARGE"],
    ["Connect: malformed timeout", (id) => connectJson(t.baseUrl, "grpc.health.v1.Health/Check", {}, undefined, { "x-request-id": id, "connect-timeout-ms": "soon" }), "invalid_argument", "INVALID_TIMEOUT"],
    ["gRPC: timeout with an unknown unit", (id) => grpcCall(t.baseUrl, "grpc.health.v1.Health/Check", grpcFrame(checkRequest), undefined, { "x-request-id": id, "grpc-timeout": "5X" }), "3", "INVALID_TIMEOUT"],
    ["Connect: unsupported compression", (id) => connectJson(t.baseUrl, "grpc.health.v1.Health/Check", "{}", undefined, { "x-request-id": id, "content-encoding": "zstd" }), "unimplemented", "UNSUPPORTED_COMPRESSION"],
    ["gRPC: unsupported compression", (id) => grpcCall(t.baseUrl, "grpc.health.v1.Health/Check", grpcFrame(checkRequest, true), undefined, { "x-request-id": id, "grpc-encoding": "zstd" }), "12", "UNSUPPORTED_COMPRESSION"],
    ["Connect: undecodable binary body", (id) => postHttp1(t.baseUrl, "/grpc.health.v1.Health/Check", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07]), { "content-type": "application/proto", "x-request-id": id }), "invalid_argument", "MALFORMED_REQUEST"],
    ["Connect: undecodable JSON body", (id) => connectJson(t.baseUrl, "grpc.health.v1.Health/Check", "{\"service\": ", undefined, { "x-request-id": id }), "invalid_argument", "MALFORMED_REQUEST"],
    ["gRPC: undecodable message", (id) => grpcCall(t.baseUrl, "grpc.health.v1.Health/Check", grpcFrame(Buffer.from([0x0a, 0x03, 0xff, 0xfe, 0xfd])), undefined, { "x-request-id": id }), "3", "MALFORMED_REQUEST"],
    ["gRPC: gzip flag on a message that is not gzip", (id) => grpcCall(t.baseUrl, "grpc.health.v1.Health/Check", grpcFrame(Buffer.from("not gzip"), true), undefined, { "x-request-id": id, "grpc-encoding": "gzip" }), "3", "MALFORMED_REQUEST"],
  ];

  test.each(cases)("%s: code, ErrorInfo reason, x-request-id, a log line, a metric", async (label, call, code, reason) => {
    const id = `test-${label.replace(/[^a-z]+/gi, "-")}`.slice(0, 60);
    const res = await call(id);
    expect(grpcStatus(res) ?? connectCodeOf(res)).toBe(code);
    // The HTTP status agrees with the code (Connect), or is 200 (gRPC: the code is in the trailers).
    expect(res.status).toBe(({ resource_exhausted: 429, invalid_argument: 400, unimplemented: 501 } as Record<string, number>)[code] ?? 200);
    expect(reasonOf(res)).toBe(reason);
    expect(res.headers["x-request-id"]).toBe(id);
    await waitUntil("the log line of the refusal", () => lines.some((l) => l.requestId === id && l.reason === reason));
    expect(lines.filter((l) => l.requestId === id && l.level >= 50)).toEqual([]);
    const metrics = await metricsText(t.baseUrl);
    expect(metrics).toMatch(new RegExp(`bankd_rpc_refused_total\\{reason="${reason}"\\} [1-9]`));
  });

  test("JSON nested deeper than the limit is refused before parsing: plain, gzip, enveloped, and a GET", async () => {
    const deep = `{"service":${"[".repeat(500_000)}${"]".repeat(500_000)}}`;
    const answers = [
      await connectJson(t.baseUrl, "grpc.health.v1.Health/Check", deep),
      await connectJson(t.baseUrl, "grpc.health.v1.Health/Check", zlib.gzipSync(deep), undefined, { "content-encoding": "gzip" }),
      // A server-streaming call over the Connect streaming protocol (one enveloped JSON message).
      await postHttp1(t.baseUrl, "/grpc.health.v1.Health/Watch", grpcFrame(Buffer.from(deep)), { "content-type": "application/connect+json" }),
      await grpcCall(t.baseUrl, "grpc.health.v1.Health/Check", grpcFrame(Buffer.from(deep)), undefined, { "content-type": "application/grpc+json" }),
      await grpcCall(t.baseUrl, "grpc.health.v1.Health/Check", grpcFrame(zlib.gzipSync(deep), true), undefined, { "content-type": "application/grpc+json", "grpc-encoding": "gzip" }),
    ];
    const endStream = answers[2]!.body.subarray(5).toString("utf8");
    expect(JSON.parse(endStream).error.details[0].debug.reason).toBe("JSON_TOO_DEEP");
    expect([answers[0]!, answers[1]!, answers[3]!, answers[4]!].map(reasonOf)).toEqual(["JSON_TOO_DEEP", "JSON_TOO_DEEP", "JSON_TOO_DEEP", "JSON_TOO_DEEP"]);
    const shallowDeep = `{"service":${"[".repeat(limits.jsonDepthMax + 1)}${"]".repeat(limits.jsonDepthMax + 1)}}`;
    // A Connect GET (methods without side effects): the message is in the query.
    const get1 = await getRaw(`${t.baseUrl}/bank.v1.AuthService/GetJwks?encoding=json&message=${encodeURIComponent(shallowDeep)}`);
    expect(get1.status).toBe(400);
    expect(reasonOf(get1)).toBe("JSON_TOO_DEEP");
    // Within the limit, JSON is read as before (a string where a string belongs).
    const ok = await connectJson(t.baseUrl, "grpc.health.v1.Health/Check", { service: "" });
    expect(JSON.parse(ok.body.toString("utf8"))).toEqual({ status: "SERVING" });
  });

  test("an unknown method over gRPC is HTTP 200 with grpc-status 12, also for grpc-js; over Connect, 501 (the Connect spec's status for unimplemented) with the contract", async () => {
    const raw = await grpcCall(t.baseUrl, "nope.v1.Nope/Call", grpcFrame(new Uint8Array()));
    expect(raw.status).toBe(200);
    expect(grpcStatus(raw)).toBe("12");
    expect(reasonOf(raw)).toBe("UNKNOWN_METHOD");
    expect(raw.headers["x-request-id"]).toBeTruthy();
    const generic = new grpc.Client(`127.0.0.1:${t.app.server.port}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      generic.makeUnaryRequest("/nope.v1.Nope/Call", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e!)),
    );
    generic.close();
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(err.details).toContain("nope.v1.Nope/Call");
    const connect = await connectJson(t.baseUrl, "nope.v1.Nope/Call", {});
    expect(connect.status).toBe(501);
    expect(connectCodeOf(connect)).toBe("unimplemented");
    expect(reasonOf(connect)).toBe("UNKNOWN_METHOD");
  });

  test("a wrong HTTP method on an RPC path is 405 with Allow", async () => {
    const put = await new Promise<RawResponse>((resolve, reject) => {
      const req = http.request(`${t.baseUrl}/grpc.health.v1.Health/Check`, { method: "PUT", headers: { "content-type": "application/json" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, trailers: {}, body: Buffer.concat(chunks) }));
      });
      req.on("error", reject);
      req.end("{}");
    });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe("POST");
    expect(reasonOf(put)).toBe("METHOD_NOT_ALLOWED");
    // IntrospectToken has no side effects, so Connect allows GET there (this test app does not
    // implement it: the GET reaches the router and is answered unimplemented, not 405).
    const introspect = await getRaw(`${t.baseUrl}/bank.v1.AuthService/IntrospectToken?encoding=json&message=${encodeURIComponent("{}")}`);
    expect(introspect.status).not.toBe(405);
    expect(reasonOf(introspect)).toBe("NOT_IMPLEMENTED");
  });

  test("gRPC-Web text mode: base64 both ways, on the same route, errors included", async () => {
    const body = Buffer.from(grpcFrame(checkRequest)).toString("base64");
    const res = await postHttp1(t.baseUrl, "/grpc.health.v1.Health/Check", body, { "content-type": "application/grpc-web-text", accept: "application/grpc-web-text" });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/grpc-web-text+proto");
    const frames = decodeTextFrames(res.body.toString("latin1"));
    expect(fromBinary(HealthCheckResponseSchema, frames[0]!.data).status).toBe(1);
    expect(frames[1]!.flags).toBe(0x80);
    expect(frames[1]!.data.toString("utf8")).toContain("grpc-status: 0");
    // An unknown service, in text mode too: grpc-status 5 in the base64 trailer.
    const unknown = Buffer.from(grpcFrame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "nope" })))).toString("base64");
    const err = await postHttp1(t.baseUrl, "/grpc.health.v1.Health/Check", unknown, { "content-type": "application/grpc-web-text+proto" });
    const trailer = decodeTextFrames(err.body.toString("latin1")).find((f) => f.flags === 0x80)!;
    expect(trailer.data.toString("utf8")).toContain("grpc-status: 5");
    // Not base64: refused with the contract, in text mode.
    const garbage = await postHttp1(t.baseUrl, "/grpc.health.v1.Health/Check", "!!!!", { "content-type": "application/grpc-web-text" });
    expect(decodeTextFrames(garbage.body.toString("latin1")).find((f) => f.flags === 0x80)!.data.toString("utf8")).toContain("grpc-status: 3");
  });

  test.each(["grpc", "connect"] as const)("%s: a client that goes away is logged as canceled, not as a failure", async (protocol) => {
    const abort = new AbortController();
    let requestId: string | null = null;
    const started = new Promise<void>((resolve) => (handlerStarted = resolve));
    const call = client(t.baseUrl, AuthService, { protocol }).getJwks({}, { signal: abort.signal, onHeader: (h) => (requestId = h.get("x-request-id")) }).catch((e: unknown) => ConnectError.from(e));
    await started;
    abort.abort();
    // (The client's own error is not checked: under jest, Node's AbortError fails connect-es's
    // instanceof checks and the client reports it as internal.)
    expect(await call).toBeInstanceOf(ConnectError);
    await waitUntil("the log line of the canceled call", () => lines.some((l) => l.method === "bank.v1.AuthService/GetJwks" && l.code === "Canceled" && (requestId === null || l.requestId === requestId)));
    expect(lines.filter((l) => l.method === "bank.v1.AuthService/GetJwks" && l.level >= 50)).toEqual([]);
    const metrics = await metricsText(t.baseUrl);
    expect(metrics).toMatch(/bankd_rpc_total\{method="bank.v1.AuthService\/GetJwks",code="Canceled"\} [1-9]/);
    expect(metrics).not.toMatch(/bankd_rpc_total\{method="bank.v1.AuthService\/GetJwks",code="Internal"\}/);
  });

  test("a Health.Watch the client cancels ends as canceled", async () => {
    const abort = new AbortController();
    const seen: number[] = [];
    await (async () => {
      for await (const res of client(t.baseUrl, Health, { protocol: "grpc" }).watch({ service: "" }, { signal: abort.signal })) {
        seen.push(res.status);
        abort.abort();
      }
    })().catch(() => undefined);
    expect(seen).toEqual([1]);
    await waitUntil("the log line of the canceled watch", () => lines.some((l) => l.method === "grpc.health.v1.Health/Watch" && l.code === "Canceled")).catch((e: unknown) => {
      throw new Error(`${String(e)}: ${JSON.stringify(lines.filter((l) => l.method === "grpc.health.v1.Health/Watch"))}`);
    });
    expect(lines.filter((l) => l.method === "grpc.health.v1.Health/Watch" && l.level >= 50)).toEqual([]);
  });
});

function decodeTextFrames(text: string): { flags: number; data: Buffer }[] {
  // Each flushed chunk is padded on its own: decode segment by segment.
  const bytes = Buffer.concat(text.split(/(?<==)(?=[^=])/).map((s) => Buffer.from(s, "base64")));
  const frames: { flags: number; data: Buffer }[] = [];
  for (let i = 0; i + 5 <= bytes.length; ) {
    const length = bytes.readUInt32BE(i + 1);
    frames.push({ flags: bytes[i]!, data: bytes.subarray(i + 5, i + 5 + length) });
    i += 5 + length;
  }
  return frames;
}

function get(url: string): Promise<RawResponse & { body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, trailers: {}, body: Buffer.concat(chunks) }));
    }).on("error", reject);
  });
}

const getRaw = get;
