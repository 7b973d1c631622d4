// Messages and enums as JSON Schema, by the proto3 JSON mapping: lowerCamelCase names (the
// field's json_name), 64-bit integers as decimal strings, enums by value name, well-known types
// in their JSON form, oneofs as alternatives. Messages and enums become components referenced
// by their full proto name; `required` and `readOnly` come from the field comments.
import { ScalarType } from "@bufbuild/protobuf";
import type { DescEnum, DescField, DescMessage, DescOneof } from "./descriptors";
import { behaviourOf, commentOf } from "./comments";
import type { JsonSchema } from "./json-schema";
import { int64Schema, uint64Schema, wellKnownSchema } from "./well-known";

export class SchemaSet {
  private readonly schemas = new Map<string, JsonSchema>();

  /** A reference to a message's schema, added with everything it uses; well-known types inline. */
  message(message: DescMessage): JsonSchema {
    const inline = wellKnownSchema(message.typeName);
    if (inline) return inline;
    if (!this.schemas.has(message.typeName)) {
      // Registered before it is built, so that recursive messages end in a $ref.
      this.schemas.set(message.typeName, {});
      this.schemas.set(message.typeName, this.messageSchema(message));
    }
    return ref(message.typeName);
  }

  enumeration(desc: DescEnum): JsonSchema {
    if (desc.typeName === "google.protobuf.NullValue") return { type: "null" };
    if (!this.schemas.has(desc.typeName)) this.schemas.set(desc.typeName, enumSchema(desc));
    return ref(desc.typeName);
  }

  /** components.schemas, sorted by name so that the document is stable. */
  components(): Record<string, JsonSchema> {
    return Object.fromEntries([...this.schemas.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  private messageSchema(message: DescMessage): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const field of message.fields) {
      if (field.oneof) continue;
      properties[field.jsonName] = this.field(field, false);
      if (behaviourOf(commentOf(field)).required) required.push(field.jsonName);
    }
    const groups = message.oneofs.map((oneof) => this.oneof(oneof));
    const notes = message.oneofs.map(oneofNote);
    const schema: JsonSchema = { type: "object", description: [commentOf(message), ...notes].filter(Boolean).join("\n\n"), properties };
    if (required.length > 0) schema.required = required;
    if (groups.length === 0) {
      schema.additionalProperties = false;
    } else {
      // Oneof members live in the alternatives, which `additionalProperties` cannot see.
      if (groups.length === 1) schema.oneOf = groups[0];
      else schema.allOf = groups.map((oneOf) => ({ oneOf }));
      schema.unevaluatedProperties = false;
    }
    return schema;
  }

  /** The alternatives of a oneof: one per member; plus "none" unless its comment says Required. */
  private oneof(oneof: DescOneof): JsonSchema[] {
    const { required, outputOnly } = behaviourOf(commentOf(oneof));
    const alternatives: JsonSchema[] = oneof.fields.map((field) => ({
      title: field.jsonName,
      properties: { [field.jsonName]: this.field(field, outputOnly) },
      required: [field.jsonName],
    }));
    if (!required) {
      // "None of them": every member is forbidden (a false schema), so it excludes the others.
      alternatives.push({ title: `no ${oneof.name}`, properties: Object.fromEntries(oneof.fields.map((f) => [f.jsonName, false])) });
    }
    return alternatives;
  }

  private field(field: DescField, outputOnly: boolean): JsonSchema {
    const comment = commentOf(field);
    return annotate(this.value(field), comment, outputOnly || behaviourOf(comment).outputOnly);
  }

  private value(field: DescField): JsonSchema {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumeration(field.enum);
      case "message":
        return this.message(field.message);
      case "list":
        return { type: "array", items: this.element(field) };
      case "map":
        return { type: "object", propertyNames: mapKeySchema(field.mapKey), additionalProperties: this.element(field) };
    }
  }

  private element(field: DescField & { fieldKind: "list" | "map" }): JsonSchema {
    const kind = field.fieldKind === "list" ? field.listKind : field.mapKind;
    if (kind === "message") return this.message(field.message!);
    if (kind === "enum") return this.enumeration(field.enum!);
    return scalarSchema(field.scalar!);
  }
}

function ref(typeName: string): JsonSchema {
  return { $ref: `#/components/schemas/${typeName}` };
}

/** A field's schema with its comment; well-known types keep their format note after it. */
function annotate(schema: JsonSchema, comment: string, readOnly: boolean): JsonSchema {
  const note = typeof schema.description === "string" ? schema.description : "";
  const description = [comment, note].filter(Boolean).join(" ");
  const out: JsonSchema = { ...schema };
  if (description) out.description = description;
  if (readOnly) out.readOnly = true;
  return out;
}

function oneofNote(oneof: DescOneof): string {
  const names = oneof.fields.map((f) => `\`${f.jsonName}\``).join(", ");
  const { required } = behaviourOf(commentOf(oneof));
  return `${required ? "Exactly" : "At most"} one of ${names} (oneof \`${oneof.name}\`): ${commentOf(oneof)}`;
}

function enumSchema(desc: DescEnum): JsonSchema {
  const values = desc.values.map((v) => `- \`${v.name}\`: ${commentOf(v).replace(/\s+/g, " ")}`.trimEnd());
  return {
    type: "string",
    enum: desc.values.map((v) => v.name),
    description: [commentOf(desc), "Values (by name, as the proto3 JSON mapping writes them):", values.join("\n")].filter(Boolean).join("\n\n"),
  };
}

/** `type` is a ScalarType number (protoplugin's own enum type; the values are protobuf's). */
export function scalarSchema(type: number): JsonSchema {
  switch (type) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return int64Schema();
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return uint64Schema();
    default:
      throw new Error(`unknown scalar type ${type}`);
  }
}

/** JSON object keys are strings: map keys are written as the key's decimal or "true"/"false". */
function mapKeySchema(type: number): JsonSchema {
  switch (type) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "string", enum: ["true", "false"] };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", pattern: "^[0-9]+$" };
    default:
      return { type: "string", pattern: "^-?[0-9]+$" };
  }
}
