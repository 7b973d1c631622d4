// The proto3 JSON mapping of the well-known types that have a special JSON form
// (protobuf.dev/programming-guides/json): they are inlined, never referenced as objects.
import type { JsonSchema } from "./json-schema";

// The example keeps Swagger UI from drawing a random 25-digit sample from the pattern.
const INT64 = { type: "string", format: "int64", pattern: "^-?[0-9]+$", examples: ["1000"] };
const UINT64 = { type: "string", format: "uint64", pattern: "^[0-9]+$", examples: ["1000"] };

const WELL_KNOWN: Record<string, JsonSchema> = {
  "google.protobuf.Timestamp": {
    type: "string",
    format: "date-time",
    description: "An RFC 3339 date-time in UTC with a Z offset and 0, 3, 6 or 9 fractional digits, e.g. `2026-01-31T09:30:00Z`.",
  },
  "google.protobuf.Duration": {
    type: "string",
    pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$",
    description: "A duration in seconds with the suffix `s`, e.g. `1.5s`.",
  },
  "google.protobuf.FieldMask": {
    type: "string",
    description: "Field paths in lowerCamelCase, separated by commas, e.g. `displayName,overdraftLimit`.",
  },
  "google.protobuf.Empty": { type: "object", additionalProperties: false },
  "google.protobuf.Struct": { type: "object", description: "Any JSON object." },
  "google.protobuf.Value": { description: "Any JSON value." },
  "google.protobuf.ListValue": { type: "array", description: "Any JSON array." },
  "google.protobuf.Any": {
    type: "object",
    properties: { "@type": { type: "string", description: "The type URL of the embedded message." } },
    required: ["@type"],
    description: "A message of any type: its fields next to `@type`.",
  },
  "google.protobuf.DoubleValue": { type: "number" },
  "google.protobuf.FloatValue": { type: "number" },
  "google.protobuf.Int64Value": INT64,
  "google.protobuf.UInt64Value": UINT64,
  "google.protobuf.Int32Value": { type: "integer", format: "int32" },
  "google.protobuf.UInt32Value": { type: "integer", minimum: 0, maximum: 4294967295 },
  "google.protobuf.BoolValue": { type: "boolean" },
  "google.protobuf.StringValue": { type: "string" },
  "google.protobuf.BytesValue": { type: "string", contentEncoding: "base64" },
};

/** The inline schema of a well-known type with a special JSON form, or undefined. */
export function wellKnownSchema(typeName: string): JsonSchema | undefined {
  const schema = WELL_KNOWN[typeName];
  return schema === undefined ? undefined : structuredClone(schema);
}

export const int64Schema = (): JsonSchema => ({ ...INT64 });
export const uint64Schema = (): JsonSchema => ({ ...UINT64 });
