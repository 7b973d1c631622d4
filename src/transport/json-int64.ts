// Strict 64-bit integers in JSON requests (issue 26, item 7), stricter than ProtoJSON on purpose.
// protobuf-es reads an int64 written as a JSON string with BigInt(), which takes "0x10" (16),
// " 5", "5 " and "+5" (5), "0b1" (1) and "" (0), and reads exponent numbers (1e3) as ProtoJSON
// allows. Amounts are money: a value must mean what a person reading the request sees. So before
// protobuf-es parses a JSON request, this reads the raw JSON against the method's request
// descriptor and refuses any int64/uint64/sint64/fixed64/sfixed64 value (in nested messages,
// repeated fields, map keys and values, and the Int64Value/UInt64Value wrappers) that is not
// written `-?[0-9]+`: as a string, or as a JSON number that a double holds exactly. Built on
// public APIs only (JSON.parse's reviver with its source text, the message descriptors).
import { Code, type ConnectError } from "@connectrpc/connect";
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { connectError } from "./errors";

const SIGNED = new Set([ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64]);
const UNSIGNED = new Set([ScalarType.UINT64, ScalarType.FIXED64]);
const DECIMAL = /^-?[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const WRAPPERS: Record<string, ScalarType> = { "google.protobuf.Int64Value": ScalarType.INT64, "google.protobuf.UInt64Value": ScalarType.UINT64 };

/** A JSON number, with the text it was written as. */
class RawNumber {
  constructor(readonly source: string) {}
}

/** A field named as the refusal names it: the message's full name and the field's proto name. */
class Loose {
  constructor(readonly field: string) {}
}

const byName = new WeakMap<DescMessage, Map<string, DescField>>();

/** The fields of `desc` by JSON name and by proto name (ProtoJSON parsers accept both). */
function fieldsOf(desc: DescMessage): Map<string, DescField> {
  let map = byName.get(desc);
  if (!map) {
    map = new Map();
    for (const f of desc.fields) {
      map.set(f.name, f);
      map.set(f.jsonName, f);
    }
    byName.set(desc, map);
  }
  return map;
}

/** The message a field of message type refers to, if it is one to walk into (not another
 * well-known type, whose JSON forms are not messages: Timestamp, Duration, Struct, ...). */
function walkable(message: DescMessage): boolean {
  return !message.typeName.startsWith("google.protobuf.");
}

/** True when `value` (a parsed JSON value) is a strict spelling of a `type` integer. */
function strict(value: unknown, type: ScalarType): boolean {
  let text: string;
  if (typeof value === "string") text = value;
  else if (value instanceof RawNumber) {
    text = value.source;
    // A JSON number is read into a double: beyond 2^53 it would not be the value written.
    if (DECIMAL.test(text) && !Number.isSafeInteger(Number(text))) return false;
  } else return false;
  if (!DECIMAL.test(text)) return false;
  const n = BigInt(text);
  return UNSIGNED.has(type) ? n >= 0n && n <= UINT64_MAX : n >= INT64_MIN && n <= INT64_MAX;
}

const is64 = (type: ScalarType | undefined) => type !== undefined && (SIGNED.has(type) || UNSIGNED.has(type));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof RawNumber);

function checkMessage(desc: DescMessage, json: unknown): void {
  if (!isObject(json)) return; // not a message: protobuf-es refuses it
  const fields = fieldsOf(desc);
  for (const [key, value] of Object.entries(json)) {
    const field = fields.get(key);
    if (!field || value === null) continue; // unknown keys and nulls are protobuf-es's to judge
    const name = `${desc.typeName}.${field.name}`;
    const check = (v: unknown, type: ScalarType) => {
      if (!strict(v, type)) throw new Loose(name);
    };
    switch (field.fieldKind) {
      case "scalar":
        if (is64(field.scalar)) check(value, field.scalar);
        break;
      case "list":
        if (!Array.isArray(value)) break;
        for (const item of value) {
          if (item === null) continue;
          if (field.listKind === "scalar" && is64(field.scalar)) check(item, field.scalar);
          else if (field.listKind === "message") checkField(field.message, item, name);
        }
        break;
      case "map":
        if (!isObject(value)) break;
        for (const [k, v] of Object.entries(value)) {
          if (is64(field.mapKey)) check(k, field.mapKey);
          if (v === null) continue;
          if (field.mapKind === "scalar" && is64(field.scalar)) check(v, field.scalar);
          else if (field.mapKind === "message") checkField(field.message, v, name);
        }
        break;
      case "message":
        checkField(field.message, value, name);
        break;
      default:
        break;
    }
  }
}

/** A value of message type: a wrapper of a 64-bit integer is the bare value in JSON. */
function checkField(message: DescMessage, value: unknown, name: string): void {
  const wrapped = WRAPPERS[message.typeName];
  if (wrapped !== undefined) {
    if (!strict(value, wrapped)) throw new Loose(name);
  } else if (walkable(message)) checkMessage(message, value);
}

/**
 * Checks the JSON request `bytes` of a method whose request message is `desc`: a refusal naming
 * the first 64-bit integer field not written `-?[0-9]+` (or out of its range), else undefined.
 * Text that is not JSON is left to protobuf-es, which refuses it.
 */
export function looseInt64(bytes: Uint8Array, desc: DescMessage): ConnectError | undefined {
  let json: unknown;
  try {
    const text = new TextDecoder().decode(bytes);
    json = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => (typeof value === "number" && context?.source !== undefined ? new RawNumber(context.source) : value));
  } catch {
    return undefined;
  }
  try {
    checkMessage(desc, json);
    return undefined;
  } catch (err) {
    if (!(err instanceof Loose)) throw err;
    return connectError(
      Code.InvalidArgument,
      "MALFORMED_REQUEST",
      `The request body does not fit the method's request message: field ${err.field} is a 64-bit integer and must be written as decimal digits with an optional leading minus ("-?[0-9]+"), as a string or a JSON integer number.`,
      { field: err.field },
    );
  }
}
