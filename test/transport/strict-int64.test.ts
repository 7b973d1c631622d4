// Goal (issue 26, item 7): an int64-family field in a JSON request is read only when it is written
// as `-?[0-9]+`, as a string or as a JSON integer number that a double holds exactly. Anything
// BigInt() would also take ("0x10", " 5", "5 ", "+5", "0b1", "1e3") or an exponent number (1e3)
// is INVALID_ARGUMENT MALFORMED_REQUEST naming the field, before any handler runs and with
// nothing written, in every message shape (nested, repeated, map key and value, wrapper) and on
// every protocol that carries JSON: Connect unary POST and GET ?message=, Connect streaming,
// gRPC+json and gRPC-Web+json. protobuf-es alone reads "0x10" as 16 and " 5" as 5.
import { create, createFileRegistry, fromBinary, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { file_google_protobuf_wrappers as wrappersFile, FileDescriptorProtoSchema, FieldDescriptorProto_Label, FieldDescriptorProto_Type, MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { errorInfoInStatus } from "../support/status-details";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, type TestUser } from "../support/users";
import { connectJson, grpcCall, grpcFrame, postHttp1, type RawResponse } from "../system/support/raw-calls";
import { rid, writeCounts } from "../ledger/support";

/** Written as BigInt() reads them, none is `-?[0-9]+`: each must be refused. */
const LOOSE: string[] = ['"0x10"', '" 5"', '"5 "', '"+5"', '"0b1"', '"0o7"', '"1e3"', "1e3", "1E3", "5.0", '"5.0"', '""', '"-"', "9007199254740993", '"99999999999999999999"'];

interface Refusal {
  code: string;
  reason?: string;
  field?: string;
}

/** google.rpc.Status (base64 binary) -> its bank.v1.ErrorInfo's reason and field. */
function errorInfoOfStatus(bin: string): { reason: string; field?: string } | undefined {
  const info = errorInfoInStatus(bin);
  return info ? { reason: info.reason, field: info.metadata.field } : undefined;
}

function fromConnectError(error: { code?: string; details?: { type: string; value: string }[] }): Refusal {
  const detail = error.details?.find((d) => d.type === "bank.v1.ErrorInfo");
  const info = detail ? fromBinary(ErrorInfoSchema, Buffer.from(detail.value, "base64")) : undefined;
  return { code: error.code ?? "?", reason: info?.reason, field: info?.metadata.field };
}

/** The outcome of a raw call, whichever protocol carried it: "ok" or the refusal. */
function outcome(res: RawResponse, protocol: "connect" | "connect-stream" | "grpc" | "grpc-web"): Refusal | "ok" {
  if (protocol === "connect") return res.status === 200 ? "ok" : fromConnectError(JSON.parse(res.body.toString("utf8")));
  if (protocol === "connect-stream") {
    // Frames: flags(1) length(4) JSON; the end-of-stream frame (flag 2) carries any error.
    for (let at = 0; at < res.body.length; ) {
      const flags = res.body[at]!;
      const len = res.body.readUInt32BE(at + 1);
      const json = JSON.parse(res.body.subarray(at + 5, at + 5 + len).toString("utf8"));
      if (flags & 2 && json.error) return fromConnectError(json.error);
      at += 5 + len;
    }
    return "ok";
  }
  let trailers = res.trailers;
  if (protocol === "grpc-web") {
    trailers = { ...res.headers };
    for (let at = 0; at < res.body.length; ) {
      const flags = res.body[at]!;
      const len = res.body.readUInt32BE(at + 1);
      if (flags & 0x80) {
        for (const line of res.body.subarray(at + 5, at + 5 + len).toString("latin1").split("\r\n")) {
          const i = line.indexOf(":");
          if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
      }
      at += 5 + len;
    }
  }
  const status = trailers["grpc-status"] ?? res.headers["grpc-status"];
  if (status === "0") return "ok";
  const info = errorInfoOfStatus(trailers["grpc-status-details-bin"] ?? "");
  return { code: status ?? "?", reason: info?.reason, field: info?.field };
}

const malformed = (field: string, protocol: string) => (protocol === "connect" || protocol === "connect-stream" ? { code: "invalid_argument", reason: "MALFORMED_REQUEST", field } : { code: "3", reason: "MALFORMED_REQUEST", field });

describe.each(engines())("strict int64 in JSON on the product's methods (%s)", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let accountId: string;
  beforeAll(async () => {
    t = await startTestApp(engine);
    alice = await createTestUser(t);
    accountId = (await client(t.baseUrl, AccountService, { token: alice.token }).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "Main" })).account!.id;
  });
  afterAll(async () => t.stop());

  const deposit = (minorUnits: string) => `{"requestId":"${rid()}","accountId":"${accountId}","amount":{"currency":"USD","minorUnits":${minorUnits}}}`;

  test("Deposit over Connect JSON, gRPC+json and gRPC-Web+json: every loose spelling refused, nothing written", async () => {
    const before = await writeCounts(t.app.db);
    for (const loose of LOOSE) {
      const answers = {
        connect: outcome(await connectJson(t.baseUrl, "bank.v1.TransactionService/Deposit", deposit(loose), alice.token), "connect"),
        grpc: outcome(await grpcCall(t.baseUrl, "bank.v1.TransactionService/Deposit", grpcFrame(Buffer.from(deposit(loose))), alice.token, { "content-type": "application/grpc+json" }), "grpc"),
        "grpc-web": outcome(await postHttp1(t.baseUrl, "/bank.v1.TransactionService/Deposit", grpcFrame(Buffer.from(deposit(loose))), { "content-type": "application/grpc-web+json", authorization: `Bearer ${alice.token}` }), "grpc-web"),
      };
      for (const [protocol, answer] of Object.entries(answers)) expect([loose, protocol, answer]).toEqual([loose, protocol, malformed("bank.v1.Money.minor_units", protocol)]);
    }
    expect(await writeCounts(t.app.db)).toEqual(before);
    // The strict spellings are read as before: a decimal string, a JSON integer number.
    for (const strict of ['"250"', "250", '"0250"']) {
      const res = await connectJson(t.baseUrl, "bank.v1.TransactionService/Deposit", deposit(strict), alice.token);
      expect([strict, res.status, JSON.parse(res.body.toString("utf8")).transaction?.amount?.minorUnits]).toEqual([strict, 200, "250"]);
    }
  });

  test("an amount inside a repeated message (BatchTransfer items) is checked too", async () => {
    const body = (minorUnits: string) =>
      `{"requestId":"${rid()}","transfers":[{"requestId":"${rid()}","fromAccountId":"${accountId}","toAccountId":"${accountId}","amount":{"currency":"USD","minorUnits":"1"}},{"requestId":"${rid()}","fromAccountId":"${accountId}","toAccountId":"${accountId}","amount":{"currency":"USD","minor_units":${minorUnits}}}]}`;
    for (const loose of ['"0x10"', "1e3", '"+5"']) {
      expect(outcome(await connectJson(t.baseUrl, "bank.v1.TransactionService/BatchTransfer", body(loose), alice.token), "connect")).toEqual(malformed("bank.v1.Money.minor_units", "connect"));
    }
  });
});

/** A service built at run time from a descriptor, for shapes bankd's API does not have yet: an
 * int64 of every kind, repeated, in a map (key and value), nested, in a wrapper, and a method with
 * no side effects (Connect GET), and a server-streaming twin (the Connect streaming protocol).
 * Both echo their request. */
function probeService(): { service: DescService; message: DescMessage } {
  const T = FieldDescriptorProto_Type;
  const L = FieldDescriptorProto_Label;
  const field = (name: string, number: number, type: FieldDescriptorProto_Type, extra: Record<string, unknown> = {}) => ({ name, number, type, label: L.OPTIONAL, jsonName: name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), ...extra });
  const file = create(FileDescriptorProtoSchema, {
    name: "probe/v1/probe.proto",
    package: "probe.v1",
    syntax: "proto3",
    dependency: ["google/protobuf/wrappers.proto"],
    messageType: [
      {
        name: "Probe",
        field: [
          field("signed", 1, T.INT64),
          field("unsigned", 2, T.UINT64),
          field("zigzag", 3, T.SINT64),
          field("fixed", 4, T.FIXED64),
          field("sfixed", 5, T.SFIXED64),
          field("many", 6, T.INT64, { label: L.REPEATED }),
          field("by_key", 7, T.MESSAGE, { label: L.REPEATED, typeName: ".probe.v1.Probe.ByKeyEntry" }),
          field("child", 8, T.MESSAGE, { typeName: ".probe.v1.Probe" }),
          field("children", 9, T.MESSAGE, { label: L.REPEATED, typeName: ".probe.v1.Probe" }),
          field("wrapped", 10, T.MESSAGE, { typeName: ".google.protobuf.Int64Value" }),
          field("note", 11, T.STRING),
          field("small", 12, T.INT32),
        ],
        nestedType: [{ name: "ByKeyEntry", field: [field("key", 1, T.INT64), field("value", 2, T.FIXED64)], options: { mapEntry: true } }],
      },
    ],
    service: [
      {
        name: "ProbeService",
        method: [
          { name: "Echo", inputType: ".probe.v1.Probe", outputType: ".probe.v1.Probe", options: { idempotencyLevel: MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS } },
          { name: "EchoStream", inputType: ".probe.v1.Probe", outputType: ".probe.v1.Probe", serverStreaming: true },
        ],
      },
    ],
  });
  const registry = createFileRegistry(file, (name) => (name === "google/protobuf/wrappers.proto" ? wrappersFile : undefined));
  return { service: registry.getService("probe.v1.ProbeService")!, message: registry.getMessage("probe.v1.Probe")! };
}

describe("strict int64 in every shape and on every JSON protocol (a probe service)", () => {
  let t: TestApp;
  const { service } = probeService();
  beforeAll(async () => {
    t = await startTestApp("sqlite", {}, { modules: async () => [{ routes: (router) => router.service(service, {
              echo: (req: unknown) => req,
              async *echoStream(req: unknown) {
                yield req;
              },
            } as never) }] });
  });
  afterAll(async () => t.stop());

  const path = "probe.v1.ProbeService/Echo";
  const calls = {
    connect: async (json: string) => outcome(await connectJson(t.baseUrl, path, json), "connect"),
    get: async (json: string) => outcome(await getRaw(`${t.baseUrl}/${path}?connect=v1&encoding=json&message=${encodeURIComponent(json)}`), "connect"),
    "get-base64": async (json: string) => outcome(await getRaw(`${t.baseUrl}/${path}?connect=v1&encoding=json&base64=1&message=${Buffer.from(json).toString("base64url")}`), "connect"),
    "connect-stream": async (json: string) => outcome(await postHttp1(t.baseUrl, `/${path}Stream`, grpcFrame(Buffer.from(json)), { "content-type": "application/connect+json", "connect-protocol-version": "1" }), "connect-stream"),
    grpc: async (json: string) => outcome(await grpcCall(t.baseUrl, path, grpcFrame(Buffer.from(json)), undefined, { "content-type": "application/grpc+json" }), "grpc"),
    "grpc-web": async (json: string) => outcome(await postHttp1(t.baseUrl, `/${path}`, grpcFrame(Buffer.from(json)), { "content-type": "application/grpc-web+json" }), "grpc-web"),
  };
  const protocolOf = (name: string) => (name === "grpc" || name === "grpc-web" || name === "connect-stream" ? name : "connect");

  /** Where a value goes, and the field the refusal must name. */
  const shapes: [string, (v: string) => string, string][] = [
    ["int64", (v) => `{"signed":${v}}`, "probe.v1.Probe.signed"],
    ["uint64", (v) => `{"unsigned":${v}}`, "probe.v1.Probe.unsigned"],
    ["sint64", (v) => `{"zigzag":${v}}`, "probe.v1.Probe.zigzag"],
    ["fixed64", (v) => `{"fixed":${v}}`, "probe.v1.Probe.fixed"],
    ["sfixed64", (v) => `{"sfixed":${v}}`, "probe.v1.Probe.sfixed"],
    ["repeated", (v) => `{"many":["1",${v}]}`, "probe.v1.Probe.many"],
    ["map value", (v) => `{"byKey":{"1":${v}}}`, "probe.v1.Probe.by_key"],
    ["nested", (v) => `{"child":{"child":{"signed":${v}}}}`, "probe.v1.Probe.signed"],
    ["repeated nested, proto name", (v) => `{"children":[{},{"signed":"1"},{"signed":${v}}]}`, "probe.v1.Probe.signed"],
    ["wrapper", (v) => `{"wrapped":${v}}`, "probe.v1.Probe.wrapped"],
  ];

  test.each(Object.keys(calls))("%s: each loose spelling in each shape is MALFORMED_REQUEST naming the field", async (name) => {
    const call = calls[name as keyof typeof calls];
    for (const [shape, json, fieldName] of shapes) {
      for (const loose of LOOSE) expect([shape, loose, await call(json(loose))]).toEqual([shape, loose, malformed(fieldName, protocolOf(name))]);
      expect([shape, await call(json('"-42"'))]).toEqual([shape, shape === "uint64" || shape === "fixed64" || shape === "map value" ? malformed(fieldName, protocolOf(name)) : "ok"]);
      expect([shape, await call(json("42"))]).toEqual([shape, "ok"]);
    }
    // A map's int64 key is a JSON string and must be `-?[0-9]+` too.
    for (const key of ["0x1", " 1", "+1", "1e0"]) expect([key, await call(`{"byKey":{${JSON.stringify(key)}:"1"}}`)]).toEqual([key, malformed("probe.v1.Probe.by_key", protocolOf(name))]);
    // The range of each type, and strings and other fields left alone.
    expect(await call('{"signed":"-9223372036854775808","unsigned":"18446744073709551615","note":"0x10","small":5}')).toBe("ok");
    expect(await call('{"signed":"9223372036854775808"}')).toEqual(malformed("probe.v1.Probe.signed", protocolOf(name)));
    expect(await call('{"unsigned":"18446744073709551616"}')).toEqual(malformed("probe.v1.Probe.unsigned", protocolOf(name)));
    expect(await call('{"signed":null,"child":null,"many":[]}')).toBe("ok");
  });
});

function getRaw(url: string): Promise<RawResponse> {
  return fetch(url).then(async (res) => {
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return { status: res.status, headers, trailers: {}, body: Buffer.from(await res.arrayBuffer()) };
  });
}
