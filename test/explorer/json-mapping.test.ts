// Goal: the generator's schemas are the proto3 JSON mapping for every kind of field, not only the
// kinds bankd's protos use today. A proto with every scalar, enums (top-level and nested), maps
// with string, integer and bool keys, a recursive message, a oneof, proto3 optional and the
// well-known types (Timestamp, Duration, wrappers, Struct, Value, ListValue, FieldMask, Empty) is
// run through protoc-gen-openapi by buf; messages filled with every field are written to JSON by
// protobuf-es (the same runtime the server answers with) and must validate against the schemas,
// and JSON that breaks the mapping must not.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { create, createFileRegistry, fromBinary, toJson, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { DocumentValidator, type OpenApiDocument } from "./support";

const run = promisify(execFile);
const ROOT = path.resolve(".");

const PROTO = `syntax = "proto3";
package mapping.v1;
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

// Kind is a top-level enum.
enum Kind {
  // Unset.
  KIND_UNSPECIFIED = 0;
  // One.
  KIND_ONE = 1;
}

// Inner has a nested enum.
message Inner {
  // Level is nested.
  enum Level {
    // Unset.
    LEVEL_UNSPECIFIED = 0;
    // High.
    LEVEL_HIGH = 1;
  }
  // Required. A name.
  string name = 1;
  // Optional. A level.
  Level level = 2;
}

// Everything has one field of each kind.
message Everything {
  int32 i32 = 1;
  int64 i64 = 2;
  uint64 u64 = 3;
  sint64 s64 = 4;
  fixed32 f32 = 5;
  sfixed64 sf64 = 6;
  double d = 7;
  float f = 8;
  bool b = 9;
  string s = 10;
  bytes by = 11;
  Kind kind = 12;
  repeated Kind kinds = 13;
  repeated int64 i64s = 14;
  map<int32, string> by_int = 15;
  map<bool, Inner> by_bool = 16;
  map<string, int64> by_string = 17;
  map<uint64, Kind> by_uint = 18;
  Inner inner = 19;
  repeated Inner inners = 20;
  Everything next = 21;
  google.protobuf.Timestamp ts = 22;
  google.protobuf.Duration dur = 23;
  google.protobuf.Int64Value w64 = 24;
  google.protobuf.StringValue ws = 25;
  google.protobuf.BoolValue wb = 26;
  google.protobuf.BytesValue wby = 27;
  google.protobuf.Struct st = 28;
  google.protobuf.Value v = 29;
  google.protobuf.ListValue lv = 30;
  google.protobuf.FieldMask fm = 31;
  google.protobuf.Empty empty = 32;
  // Optional. A choice.
  oneof choice {
    // A string.
    string text = 33;
    // A message.
    Inner message = 34;
  }
  optional string maybe = 35;
  string snake_case_name = 36;
}

// S serves Everything.
service S {
  // Get has no side effects.
  rpc Get(Everything) returns (Everything) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  // Watch streams.
  rpc Watch(Inner) returns (stream Inner);
}
`;

async function generate(dir: string): Promise<{ doc: OpenApiDocument; everything: DescMessage }> {
  fs.mkdirSync(path.join(dir, "proto/mapping/v1"), { recursive: true });
  fs.writeFileSync(path.join(dir, "proto/mapping/v1/everything.proto"), PROTO);
  const template = JSON.stringify({
    version: "v2",
    plugins: [{ local: [path.join(ROOT, "node_modules/.bin/tsx"), path.join(ROOT, "scripts/protoc-gen-openapi/main.ts")], out: path.join(dir, "out"), strategy: "all", opt: ["target=ts", "file=mapping.json"] }],
  });
  const buf = path.join(ROOT, "node_modules/.bin/buf");
  await run(buf, ["generate", path.join(dir, "proto"), "--template", template], { cwd: ROOT });
  await run(buf, ["build", path.join(dir, "proto"), "-o", path.join(dir, "image.binpb")], { cwd: ROOT });
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, fs.readFileSync(path.join(dir, "image.binpb"))));
  const doc = JSON.parse(fs.readFileSync(path.join(dir, "out/mapping.json"), "utf8")) as OpenApiDocument;
  return { doc, everything: registry.getMessage("mapping.v1.Everything")! };
}

describe("protoc-gen-openapi writes the proto3 JSON mapping of every kind of field", () => {
  let dir: string;
  let doc: OpenApiDocument;
  let everything: DescMessage;
  let validator: DocumentValidator;
  const ref = { $ref: "#/components/schemas/mapping.v1.Everything" };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-openapi-mapping-"));
    ({ doc, everything } = await generate(dir));
    validator = new DocumentValidator(doc);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const full = (choice: Record<string, unknown>) => ({
    i32: -5, i64: -9007199254740993n, u64: 18446744073709551615n, s64: -1n, f32: 7, sf64: 3n, d: 1.25, f: 0.5, b: true, s: "x",
    by: new Uint8Array([0, 255, 7]), kind: 1, kinds: [1, 0], i64s: [1n, -2n],
    byInt: { [-3]: "minus three", 4: "four" }, byBool: { true: { name: "t", level: 1 } }, byString: { a: 5n }, byUint: { "7": 1 },
    inner: { name: "i", level: 1 }, inners: [{ name: "j" }], next: { s: "nested", next: { b: true } },
    ts: { seconds: 1_700_000_000n, nanos: 5_000_000 }, dur: { seconds: 90n, nanos: 500_000_000 },
    // Wrapper fields are unboxed in protobuf-es messages.
    w64: 12n, ws: "w", wb: false, wby: new Uint8Array([1]),
    st: { fields: { k: { kind: { case: "numberValue", value: 1 } } } }, v: { kind: { case: "stringValue", value: "any" } },
    lv: { values: [{ kind: { case: "boolValue", value: true } }] }, fm: { paths: ["snake_case_name", "inner.name"] }, empty: {},
    maybe: "", snakeCaseName: "camel", ...choice,
  });

  test("a message with every field set validates, as protobuf-es writes it, with either oneof member", () => {
    for (const choice of [{ choice: { case: "text", value: "t" } }, { choice: { case: "message", value: { name: "m" } } }]) {
      const json = toJson(everything, create(everything, full(choice) as never));
      expect(validator.errors(ref, json)).toEqual([]);
      expect(Object.keys(json as object)).toContain("snakeCaseName");
    }
    const defaults = toJson(everything, create(everything), { alwaysEmitImplicit: true });
    expect(validator.errors(ref, defaults)).toEqual([]);
  });

  test("JSON that breaks the mapping is refused", () => {
    const json = toJson(everything, create(everything, full({ choice: { case: "text", value: "t" } }) as never)) as Record<string, unknown>;
    const broken: Record<string, unknown>[] = [
      { ...json, i64: 5 }, // int64 as a number
      { ...json, kind: 1 }, // enum by number
      { ...json, ts: "yesterday" }, // not RFC 3339
      { ...json, dur: "90" }, // a duration without its unit
      { ...json, byInt: { three: "x" } }, // a map key that is not an integer
      { ...json, message: { name: "both set" } }, // two members of one oneof
      { ...json, snake_case_name: "x" }, // the proto name instead of the JSON name
    ];
    for (const value of broken) expect(validator.errors(ref, value)).not.toEqual([]);
  });

  test("paths: POST for unary methods, GET for the one without side effects, the stream only in its tag; no access option means open", () => {
    expect(Object.keys(doc.paths)).toEqual(["/mapping.v1.S/Get"]);
    expect(Object.keys(doc.paths["/mapping.v1.S/Get"]!)).toEqual(["post", "get"]);
    expect(doc.paths["/mapping.v1.S/Get"]!.post!.security).toEqual([]);
    expect(doc.tags[0]!["x-streaming-methods"]!.map((m) => m.path)).toEqual(["/mapping.v1.S/Watch"]);
    const inner = doc.components.schemas["mapping.v1.Inner"]!;
    expect(inner.required).toEqual(["name"]);
    expect(doc.components.schemas["mapping.v1.Inner.Level"]!.enum).toEqual(["LEVEL_UNSPECIFIED", "LEVEL_HIGH"]);
  });
});
