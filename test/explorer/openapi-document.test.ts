// Goal: gen/openapi/bankd.openapi.json is a valid OpenAPI 3.1 document (Redocly's linter, its
// recommended rules, no errors), and it says what the protos say: every message's fields under
// their proto3 JSON names and types, required and read-only exactly where the field comments
// say "Required." and "Output only.", oneofs as alternatives, each method's access as the
// server enforces it, the Connect headers, the GET form and the Connect error body. The protos
// are read here from `buf build` (descriptors with comments), not through the generator. The
// validator used by the other tests is shown to reject what the schemas forbid.
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { getOption, hasOption, type DescMethod } from "@bufbuild/protobuf";
import { access, Role } from "../../gen/bank/v1/access_pb";
import { bankServices } from "../../src/app";
import { accessRule, isGoverned } from "../../src/transport/auth-interceptor";
import { Health } from "../../gen/grpc/health/v1/health_pb";
import { DOCUMENT_FILE, DocumentValidator, loadDocument, operations, resolve, type Schema } from "./support";

const run = promisify(execFile);
const doc = loadDocument();
const schemas = doc.components.schemas;

interface FieldProto {
  name: string;
  jsonName: string;
  type: string;
  label: string;
  typeName?: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
}
interface MessageProto {
  name: string;
  field?: FieldProto[];
  nestedType?: MessageProto[];
  oneofDecl?: { name: string }[];
}
interface FileProto {
  name: string;
  package: string;
  messageType?: MessageProto[];
  sourceCodeInfo?: { location: { path?: number[]; leadingComments?: string }[] };
}

/** The protos as `buf build` sees them, with their comments (the image in JSON). */
async function protoFiles(): Promise<FileProto[]> {
  const { stdout } = await run(path.resolve("node_modules/.bin/buf"), ["build", "-o", "-#format=json"], { maxBuffer: 64 * 1024 * 1024 });
  return (JSON.parse(stdout) as { file: FileProto[] }).file.filter((f) => !f.name.startsWith("google/"));
}

interface MessageInfo {
  fullName: string;
  proto: MessageProto;
  comments: Map<string, string>;
}

/** Every message with its comments by source path ("4,0,2,1" = field 1 of message 0). */
function messagesOf(file: FileProto): MessageInfo[] {
  const comments = new Map((file.sourceCodeInfo?.location ?? []).map((l) => [(l.path ?? []).join(","), (l.leadingComments ?? "").trim()]));
  const out: MessageInfo[] = [];
  const walk = (messages: MessageProto[], prefix: string, pathPrefix: number[]) => {
    messages.forEach((m, i) => {
      const p = [...pathPrefix, i];
      const own = new Map<string, string>();
      (m.field ?? []).forEach((f, fi) => own.set(`field:${f.name}`, comments.get([...p, 2, fi].join(",")) ?? ""));
      (m.oneofDecl ?? []).forEach((o, oi) => own.set(`oneof:${o.name}`, comments.get([...p, 8, oi].join(",")) ?? ""));
      out.push({ fullName: `${prefix}.${m.name}`, proto: m, comments: own });
      walk(m.nestedType ?? [], `${prefix}.${m.name}`, [...p, 3]);
    });
  };
  walk(file.messageType ?? [], file.package, [4]);
  return out;
}

/** A property's schema, wherever the message schema keeps it (oneof members are in alternatives). */
function propertiesOf(schema: Schema): Map<string, Schema> {
  const all = new Map(Object.entries((schema.properties ?? {}) as Record<string, Schema>));
  const groups = [...((schema.oneOf as Schema[]) ? [schema.oneOf as Schema[]] : []), ...((schema.allOf as Schema[] | undefined) ?? []).map((g) => g.oneOf as Schema[])];
  for (const alternatives of groups) for (const a of alternatives) for (const [k, v] of Object.entries((a.properties ?? {}) as Record<string, Schema>)) if (v !== (false as unknown)) all.set(k, v);
  return all;
}

const INT64_TYPES = new Set(["TYPE_INT64", "TYPE_UINT64", "TYPE_SINT64", "TYPE_FIXED64", "TYPE_SFIXED64"]);

/** What the proto3 JSON mapping makes of a field, as a check on its documented schema. */
function expectJsonMapping(where: string, field: FieldProto, property: Schema): void {
  const element = field.label === "LABEL_REPEATED" && !(property.type === "object") ? (property.items as Schema) : property;
  if (field.label === "LABEL_REPEATED") expect({ where, type: property.type }).toEqual({ where, type: expect.stringMatching(/^(array|object)$/) });
  if (INT64_TYPES.has(field.type)) expect({ where, type: element.type, pattern: element.pattern }).toEqual({ where, type: "string", pattern: expect.any(String) });
  if (field.typeName === ".google.protobuf.Timestamp") expect({ where, format: element.format }).toEqual({ where, format: "date-time" });
  if (field.type === "TYPE_ENUM" && property.type !== "object") {
    const target = resolve(doc, element as Schema & { $ref?: string });
    expect({ where, enumNames: (target.enum as string[]).every((v) => /^[A-Z][A-Z0-9_]*$/.test(v)) }).toEqual({ where, enumNames: true });
  }
}

describe("the generated OpenAPI document", () => {
  test("passes @redocly/cli lint with no errors; its only warnings are the streaming messages, referenced from x-streaming-methods", async () => {
    const env = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" };
    const result = await run(path.resolve("node_modules/.bin/redocly"), ["lint", DOCUMENT_FILE, "--format=json"], { env, maxBuffer: 16 * 1024 * 1024 }).catch((err: { stdout: string }) => err);
    const report = JSON.parse(result.stdout) as { totals: { errors: number }; problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[] };
    expect(report.problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(report.totals.errors).toBe(0);
    const streamed = new Set(doc.tags.flatMap((t) => (t["x-streaming-methods"] ?? []).flatMap((m) => [m.request.$ref, m.response.$ref])));
    for (const warning of report.problems) {
      expect({ rule: warning.ruleId, pointer: warning.location[0]?.pointer }).toEqual({ rule: "no-unused-components", pointer: expect.any(String) });
      expect(streamed).toContain(warning.location[0]!.pointer);
    }
  }, 60_000);

  test("every message field is documented by its JSON name and type, required and read-only as its comment says", async () => {
    const files = await protoFiles();
    let checked = 0;
    for (const file of files) {
      for (const message of messagesOf(file)) {
        const schema = schemas[message.fullName];
        if (!schema) continue; // Not used by any documented service (reflection's messages).
        const properties = propertiesOf(schema);
        const fields = message.proto.field ?? [];
        expect({ message: message.fullName, names: [...properties.keys()].sort() }).toEqual({ message: message.fullName, names: fields.map((f) => f.jsonName).sort() });
        const required = new Set((schema.required as string[] | undefined) ?? []);
        for (const field of fields) {
          const where = `${message.fullName}.${field.name}`;
          const comment = message.comments.get(`field:${field.name}`)!;
          const inOneof = field.oneofIndex !== undefined && !field.proto3Optional;
          const oneofComment = inOneof ? message.comments.get(`oneof:${message.proto.oneofDecl![field.oneofIndex!]!.name}`)! : "";
          const property = properties.get(field.jsonName)!;
          expect({ where, required: required.has(field.jsonName) }).toEqual({ where, required: !inOneof && comment.startsWith("Required.") });
          const readOnly = comment.startsWith("Output only.") || oneofComment.startsWith("Output only.");
          expect({ where, readOnly: property.readOnly === true }).toEqual({ where, readOnly });
          expectJsonMapping(where, field, property);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(150);
  }, 60_000);

  test("a oneof is a set of alternatives: exactly one when its comment says Required, at most one otherwise", () => {
    const validator = new DocumentValidator(doc);
    const transfer = { $ref: "#/components/schemas/bank.v1.TransferRequest" };
    const base = { requestId: "r", fromAccountId: "a", amount: { currency: "USD", minorUnits: "1" } };
    expect(validator.errors(transfer, { ...base, toAccountId: "b" })).toEqual([]);
    expect(validator.errors(transfer, { ...base, toAccountNumber: "4021 5583 1907 26" })).toEqual([]);
    expect(validator.errors(transfer, base)).not.toEqual([]);
    expect(validator.errors(transfer, { ...base, toAccountId: "b", toAccountNumber: "1" })).not.toEqual([]);
    const result = { $ref: "#/components/schemas/bank.v1.BatchTransferResult" };
    expect(validator.errors(result, {})).toEqual([]);
    expect(validator.errors(result, { transaction: {}, error: {} })).not.toEqual([]);
  });

  test("the validator rejects what the schemas forbid: int64 as a number, unknown fields, enums by number, a timestamp that is not RFC 3339", () => {
    const validator = new DocumentValidator(doc);
    const money = { $ref: "#/components/schemas/bank.v1.Money" };
    expect(validator.errors(money, { currency: "USD", minorUnits: "-125" })).toEqual([]);
    expect(validator.errors(money, { currency: "USD", minorUnits: 125 })).not.toEqual([]);
    expect(validator.errors(money, { currency: "USD", minorUnits: "1", extra: true })).not.toEqual([]);
    const account = { $ref: "#/components/schemas/bank.v1.Account" };
    expect(validator.errors(account, { type: "ACCOUNT_TYPE_CHECKING", createTime: "2026-01-31T09:30:00Z" })).toEqual([]);
    expect(validator.errors(account, { type: 1 })).not.toEqual([]);
    expect(validator.errors(account, { createTime: "31/01/2026" })).not.toEqual([]);
  });

  test("each method's access is the bank.v1.access option the server enforces, as x-access and as bearer security", () => {
    const roleName = (r: Role) => `ROLE_${Role[r]}`;
    for (const service of [...bankServices, Health]) {
      for (const method of service.methods.filter((m) => m.methodKind === "unary")) {
        const where = `${service.typeName}.${method.name}`;
        for (const op of [doc.paths[`/${service.typeName}/${method.name}`]!.post!, doc.paths[`/${service.typeName}/${method.name}`]!.get].filter((o) => o !== undefined)) {
          expect({ where, access: op["x-access"], security: op.security }).toEqual({ where, ...expectedAccess(method, roleName) });
        }
      }
    }
  });

  test("every operation documents the Connect headers, a JSON body or the GET query, and the Connect error body per status", () => {
    const statuses = ["400", "401", "404", "409", "429", "500", "501", "503", "504"];
    for (const { verb, op } of operations(doc)) {
      const names = op.parameters.map((p) => resolve(doc, p as Schema & { $ref?: string }).name);
      if (verb === "post") {
        expect({ op: op.operationId, names }).toEqual({ op: op.operationId, names: ["Connect-Protocol-Version", "Connect-Timeout-Ms"] });
        expect(op.requestBody?.content["application/json"].schema.$ref).toMatch(/^#\/components\/schemas\//);
      } else {
        expect({ op: op.operationId, names }).toEqual({ op: op.operationId, names: ["connect", "encoding", "message", "Connect-Timeout-Ms"] });
        expect(op.operationId).toBe(`${op.operationId.replace(/\.get$/, "")}.get`);
      }
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", ...statuses]));
    }
    const detail = schemas["connect.ErrorDetail"]!.properties as Record<string, Schema>;
    expect(detail.debug!.$ref).toBe("#/components/schemas/bank.v1.ErrorInfo");
    expect(detail.type!.examples).toEqual(["bank.v1.ErrorInfo"]);
  });
});

function expectedAccess(method: DescMethod, roleName: (r: Role) => string): { access: unknown; security: unknown } {
  if (!isGoverned(method)) return { access: { public: true }, security: [] };
  const rule = accessRule(method);
  expect(hasOption(method, access)).toBe(rule !== undefined);
  if (!rule) return { access: { undeclared: true }, security: [{ bearerAuth: [] }] };
  if (rule.public) return { access: { public: true }, security: [] };
  const roles = getOption(method, access).roles.filter((r) => r !== Role.UNSPECIFIED).map(roleName);
  return { access: { roles }, security: roles.map((r) => ({ bearerAuth: [r] })) };
}
