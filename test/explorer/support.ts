// Shared by the explorer tests: the generated OpenAPI document, a JSON Schema 2020-12
// validator over its schemas (ajv's Ajv2020, the maintained validator of that draft), the
// services a real server says it serves (reflection), and requests built from the document's
// request schemas.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb";
import { client } from "../support/app";

export const DOCUMENT_FILE = path.resolve("gen/openapi/bankd.openapi.json");

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Schema = { [keyword: string]: Json };
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, { content: Record<string, { schema: Schema }> }>; examples: Record<string, { summary: string; value: Json }> };
  tags: { name: string; description: string; "x-streaming-methods"?: StreamingMethod[] }[];
  [key: string]: unknown;
}
export interface StreamingMethod {
  method: string;
  kind: string;
  path: string;
  request: Schema;
  response: Schema;
  "x-access": { public?: boolean; roles?: string[] };
}
export interface Operation {
  operationId: string;
  tags: string[];
  security: Record<string, string[]>[];
  "x-access": { public?: boolean; roles?: string[] };
  parameters: (Schema & { $ref?: string })[];
  requestBody?: { content: { "application/json": { schema: Schema } } };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Schema }> }>;
}

export function loadDocument(): OpenApiDocument {
  return JSON.parse(fs.readFileSync(DOCUMENT_FILE, "utf8")) as OpenApiDocument;
}

/** Every operation of the document, in document order. */
export function operations(doc: OpenApiDocument): { path: string; verb: "post" | "get"; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([p, item]) =>
    (["post", "get"] as const).filter((verb) => item[verb]).map((verb) => ({ path: p, verb, op: item[verb]! })),
  );
}

/** Follows a local $ref ("#/components/..."). */
export function resolve<T>(doc: OpenApiDocument, node: T & { $ref?: unknown }): T {
  if (typeof node.$ref !== "string") return node;
  let target: unknown = doc;
  for (const part of node.$ref.replace(/^#\//, "").split("/")) target = (target as Record<string, unknown>)[part];
  if (target === undefined) throw new Error(`dangling $ref ${node.$ref}`);
  return resolve(doc, target as T & { $ref?: unknown });
}

const DEFS_ID = "urn:bankd:openapi";

/** Validates JSON against schemas of the document (their $refs resolved in the document). */
export class DocumentValidator {
  private readonly ajv: Ajv2020;
  constructor(doc: OpenApiDocument) {
    // strictTypes off: OpenAPI schemas narrow a $ref's properties without repeating its type.
    this.ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addFormat("uint64", /^[0-9]+$/);
    this.ajv.addSchema({ $id: DEFS_ID, $defs: rewriteRefs(doc.components.schemas) as Json });
  }

  compile(schema: Schema): ValidateFunction {
    return this.ajv.compile(rewriteRefs(schema) as Schema);
  }

  /** The errors of `value` against `schema`, as readable lines (empty when it is valid). */
  errors(schema: Schema, value: unknown): string[] {
    const validate = this.compile(schema);
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
  }
}

function rewriteRefs(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${DEFS_ID}#/$defs/`));
}

/** The services the server says it serves (gRPC reflection v1 ListServices). */
export async function servedServices(baseUrl: string): Promise<string[]> {
  const reflection = client(baseUrl, ServerReflection, { protocol: "grpc" });
  async function* one() {
    yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
  }
  const names: string[] = [];
  for await (const res of reflection.serverReflectionInfo(one())) {
    if (res.messageResponse.case === "listServicesResponse") names.push(...res.messageResponse.value.service.map((s) => s.name));
  }
  return names;
}

/** Values for fields by their JSON name; a function is called for each use. `undefined` leaves
 * the field out. */
export type FieldValues = Record<string, Json | undefined | (() => Json)>;

/** A request message built from a schema: every writable field of every level is set, from
 * `values` when it names the field, else from the field's type (first real enum value, a
 * date-time, a decimal string for 64-bit integers, ...). For a oneof, the first member. */
export function buildFromSchema(doc: OpenApiDocument, schema: Schema, values: FieldValues): Json {
  const s = resolve(doc, schema);
  if (s.type === "object" || s.properties || s.oneOf || s.allOf) return buildObject(doc, s, values);
  if (Array.isArray(s.enum)) return (s.enum as string[]).find((v) => !String(v).endsWith("_UNSPECIFIED")) ?? (s.enum[0] as Json);
  switch (s.type) {
    case "array":
      return [buildFromSchema(doc, s.items as Schema, values)];
    case "string":
      if (s.format === "date-time") return new Date().toISOString();
      if (s.format === "int64" || s.format === "uint64") return "100";
      return "explorer test";
    case "integer":
      return 10;
    case "number":
      return 1.5;
    case "boolean":
      return false;
    default:
      throw new Error(`cannot build a value for ${JSON.stringify(s).slice(0, 200)}`);
  }
}

function buildObject(doc: OpenApiDocument, s: Schema, values: FieldValues): Json {
  const properties: Record<string, Schema> = { ...((s.properties as Record<string, Schema>) ?? {}) };
  // Oneof groups: the first alternative that sets a member.
  const groups = [...(s.oneOf ? [s.oneOf as Schema[]] : []), ...((s.allOf as Schema[] | undefined) ?? []).map((g) => (g.oneOf as Schema[]) ?? [])];
  for (const alternatives of groups) {
    const chosen = alternatives.find((a) => Array.isArray(a.required) && a.required.length > 0);
    if (chosen) Object.assign(properties, chosen.properties);
  }
  const out: Record<string, Json> = {};
  for (const [name, property] of Object.entries(properties)) {
    if (property.readOnly === true) continue;
    if (name in values) {
      const v = values[name];
      if (v === undefined) continue;
      out[name] = typeof v === "function" ? v() : v;
      continue;
    }
    out[name] = buildFromSchema(doc, property, values);
  }
  return out;
}

/** A fresh UUID for every call that creates or moves something (AIP-155). */
export const freshRequestId = (): Json => randomUUID();
