// Request examples that run as they are in the explorer (issue 28): Swagger UI otherwise shows
// "string" for every field and the first enum value (UNSPECIFIED), which the server refuses. An
// example holds the request's required fields and the fields buf.gen.yaml gives a value
// (`example=<jsonName>=<JSON value>`), enums at their first real value, a oneof at its first
// member that has a value (else, when the oneof is required, its first member). Values may be
// placeholders such as "{{fresh UUID}}", which the explorer page fills in at each Execute
// (src/web/explorer-page.ts): a static document cannot hold a fresh request_id or the id of an
// account the reader has just opened.
import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "./descriptors";
import { behaviourOf, commentOf } from "./comments";
import type { JsonSchema } from "./json-schema";

type Json = JsonSchema[string];

/** Example values by field JSON name, or by `<message full name>.<jsonName>` (`example=` options). */
export type ExampleValues = ReadonlyMap<string, Json>;

const keyOf = (field: DescField, values: ExampleValues): string | undefined => {
  const scoped = `${field.parent.typeName}.${field.jsonName}`;
  return values.has(scoped) ? scoped : values.has(field.jsonName) ? field.jsonName : undefined;
};

export function requestExample(message: DescMessage, values: ExampleValues, depth = 0): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const field of message.fields) {
    if (field.oneof) continue;
    const required = behaviourOf(commentOf(field)).required;
    if (!required && keyOf(field, values) === undefined) continue;
    const value = fieldExample(field, values, depth);
    if (value !== undefined) out[field.jsonName] = value;
  }
  for (const oneof of message.oneofs) {
    const member = oneof.fields.find((f) => keyOf(f, values) !== undefined) ?? (behaviourOf(commentOf(oneof)).required ? oneof.fields[0] : undefined);
    if (!member) continue;
    const value = fieldExample(member, values, depth);
    if (value !== undefined) out[member.jsonName] = value;
  }
  return out;
}

function fieldExample(field: DescField, values: ExampleValues, depth: number): Json | undefined {
  const key = keyOf(field, values);
  if (key !== undefined) return values.get(key);
  switch (field.fieldKind) {
    case "enum":
      return (field.enum.values.find((v) => v.number !== 0) ?? field.enum.values[0])?.name;
    case "message":
      if (field.message.typeName.startsWith("google.protobuf.")) return wellKnownExample(field.message.typeName);
      return depth < 4 ? requestExample(field.message, values, depth + 1) : undefined;
    case "list": {
      // One element: a required list is rarely valid empty.
      const item =
        field.listKind === "enum"
          ? (field.enum.values.find((v) => v.number !== 0) ?? field.enum.values[0])?.name
          : field.listKind === "message"
            ? depth < 4 && !field.message.typeName.startsWith("google.protobuf.")
              ? requestExample(field.message, values, depth + 1)
              : undefined
            : scalarExample(field.scalar);
      return item === undefined ? [] : [item];
    }
    case "map":
      return undefined;
    case "scalar":
      return scalarExample(field.scalar);
  }
}

function wellKnownExample(typeName: string): Json | undefined {
  if (typeName === "google.protobuf.Timestamp") return "2026-01-01T00:00:00Z";
  if (typeName === "google.protobuf.Duration") return "60s";
  if (typeName === "google.protobuf.FieldMask") return "*";
  return undefined;
}

function scalarExample(scalar: ScalarType): Json {
  switch (scalar) {
    case ScalarType.STRING:
      return "example";
    case ScalarType.BOOL:
      return false;
    case ScalarType.BYTES:
      return "";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return "1";
    default:
      return 1;
  }
}
