// One service as OpenAPI: a tag with the service's description (streaming methods listed there
// with how to call them, since a plain HTTP request cannot), and for each unary method a
// `POST /<package>.<Service>/<Method>` operation, plus the GET form when the method declares
// no side effects.
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { DescExtension, DescMethod as Method, DescService } from "./descriptors";
import { accessOf, type Access } from "./access";
import { behaviourOf, commentOf, firstSentence } from "./comments";
import { CODES_BY_STATUS, PROTOCOL_VERSION_PARAMETER, TIMEOUT_PARAMETER, errorResponse, getParameters, parameterRef, responseRef, type ErrorExample } from "./connect-protocol";
import type { JsonSchema } from "./json-schema";
import type { SchemaSet } from "./schemas";
import { requestExample, type ExampleValues } from "./examples";

export const BEARER_SCHEME = "bearerAuth";

export interface ServiceContext {
  schemas: SchemaSet;
  accessExtension: DescExtension | undefined;
  governedPackages: readonly string[];
  examples: ExampleValues;
  errorExamples: readonly ErrorExample[];
  /** The statuses whose shared response (components.responses) some operation references. */
  sharedErrorResponses: Set<string>;
}

export function serviceTag(service: DescService, ctx: ServiceContext): JsonSchema {
  const streaming = service.methods.filter((m) => m.methodKind !== "unary");
  const parts = [commentOf(service)];
  if (streaming.length > 0) {
    parts.push(
      "**Streaming methods** are not listed as operations: a stream is a sequence of enveloped messages, which this page cannot send or show. " +
        "Call them with a Connect, gRPC or gRPC-Web client, or with `buf curl` (see the README):",
      streaming.map((m) => streamingLine(m, ctx)).join("\n"),
    );
  }
  const tag: JsonSchema = { name: service.typeName, description: parts.filter(Boolean).join("\n\n") };
  // The streaming methods' messages, by reference, for tools (and so that they are not unused).
  if (streaming.length > 0) tag["x-streaming-methods"] = streaming.map((m) => streamingMethod(m, ctx));
  return tag;
}

function streamingMethod(method: Method, ctx: ServiceContext): JsonSchema {
  return {
    method: method.name,
    kind: method.methodKind,
    path: `/${method.parent.typeName}/${method.name}`,
    request: ctx.schemas.message(method.input),
    response: ctx.schemas.message(method.output),
    "x-access": accessExtension(accessOf(method, ctx.accessExtension, ctx.governedPackages)),
  };
}

function streamingLine(method: Method, ctx: ServiceContext): string {
  const input = `\`${method.input.typeName}\``;
  const output = `\`${method.output.typeName}\``;
  const shape = method.methodKind === "server_streaming" ? `${input} → stream of ${output}` : `stream of ${input} → ${output}`;
  const access = accessOf(method, ctx.accessExtension, ctx.governedPackages);
  const bearer = access.kind === "open" || access.kind === "public" ? "" : `-H "Authorization: Bearer $TOKEN" `;
  const body = JSON.stringify(Object.fromEntries(requiredFields(method.input).map((name) => [name, "..."])));
  const example = `\`npx buf curl --http2-prior-knowledge ${bearer}-d '${body}' $BANK_URL/${method.parent.typeName}/${method.name}\``;
  return `- \`${method.name}\` (${method.methodKind.replace("_", " ")}): ${shape}. ${commentOf(method).replace(/\s+/g, " ")} ${accessLine(access)} The messages are under Schemas below. Example: ${example}`;
}

function requiredFields(message: Method["input"]): string[] {
  return message.fields.filter((f) => behaviourOf(commentOf(f)).required).map((f) => f.jsonName);
}

export function unaryMethods(service: DescService): Method[] {
  return service.methods.filter((m) => m.methodKind === "unary");
}

/** The path item of one unary method: POST, and GET for NO_SIDE_EFFECTS methods. */
export function pathItem(method: Method, ctx: ServiceContext): JsonSchema {
  const access = accessOf(method, ctx.accessExtension, ctx.governedPackages);
  const input = ctx.schemas.message(method.input);
  const output = ctx.schemas.message(method.output);
  const noSideEffects = Number(method.idempotency) === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
  const common = {
    tags: [method.parent.typeName],
    summary: firstSentence(commentOf(method)) || method.name,
    description: [commentOf(method), accessLine(access), noSideEffects ? "No side effects: also callable with GET (the same path, the request in the query)." : ""]
      .filter(Boolean)
      .join("\n\n"),
    "x-access": accessExtension(access),
    security: security(access),
    responses: responses(method, output, access, ctx),
  };
  const item: JsonSchema = {
    post: {
      operationId: `${method.parent.typeName}.${method.name}`,
      ...common,
      parameters: [parameterRef(PROTOCOL_VERSION_PARAMETER), parameterRef(TIMEOUT_PARAMETER)],
      requestBody: { required: true, content: { "application/json": { schema: input, example: requestExample(method.input, ctx.examples) } } },
    },
  };
  if (noSideEffects) item.get = { operationId: `${method.parent.typeName}.${method.name}.get`, ...common, parameters: getParameters(input) };
  return item;
}

function responses(method: Method, output: JsonSchema, access: Access, ctx: ServiceContext): JsonSchema {
  const out: JsonSchema = {
    "200": { description: `The ${method.output.name} message (proto3 JSON).`, content: { "application/json": { schema: output } } },
  };
  const signedIn = access.kind === "roles" || access.kind === "undeclared";
  const mine = ctx.errorExamples.filter((e) => e.scope.some((term) => term === "all" || (term === "signed_in" ? signedIn : scopeTermMatches(term, method))));
  for (const [status, codes] of CODES_BY_STATUS) {
    // No credentials are checked on open and public methods, so no permission is ever denied.
    if (status === "403" && !signedIn) continue;
    if (mine.some((e) => codes.includes(e.code))) {
      out[status] = errorResponse(status, mine);
    } else {
      out[status] = responseRef(status);
      ctx.sharedErrorResponses.add(status);
    }
  }
  return out;
}

/** Whether an error example's scope term (other than `all` and `signed_in`) names `method`:
 * `<Service>.<Method>`, or `field:<jsonName>` of its request (nested messages included). */
export function scopeTermMatches(term: string, method: Method): boolean {
  if (term.startsWith("field:")) return hasField(method.input, term.slice("field:".length), 0);
  return term === `${method.parent.name}.${method.name}`;
}

const nested = (f: Method["input"]["fields"][number]): Method["input"] | undefined => ("message" in f ? f.message : undefined);

function hasField(message: Method["input"], jsonName: string, depth: number): boolean {
  if (depth > 3) return false;
  return message.fields.some((f) => f.jsonName === jsonName || (nested(f) !== undefined && nested(f)!.typeName.startsWith(`${message.file.proto.package}.`) && hasField(nested(f)!, jsonName, depth + 1)));
}

/** Roles as alternatives: each requirement object is one role, and any one of them suffices. */
function security(access: Access): JsonSchema[] {
  if (access.kind === "open" || access.kind === "public") return [];
  if (access.kind === "undeclared" || access.roles.length === 0) return [{ [BEARER_SCHEME]: [] }];
  return access.roles.map((role) => ({ [BEARER_SCHEME]: [role] }));
}

function accessExtension(access: Access): JsonSchema {
  switch (access.kind) {
    case "open":
    case "public":
      return { public: true };
    case "roles":
      return { roles: access.roles };
    case "undeclared":
      return { undeclared: true };
  }
}

function accessLine(access: Access): string {
  switch (access.kind) {
    case "open":
      return "**Access:** open: no credentials needed.";
    case "public":
      return "**Access:** public: no credentials needed.";
    case "roles":
      return access.roles.length === 0
        ? "**Access:** nobody (the method declares no role)."
        : `**Access:** a bearer access token (from \`AuthService.Login\`) of a user with any of the roles ${access.roles.map((r) => `\`${r}\``).join(", ")}.`;
    case "undeclared":
      return "**Access:** none declared, so the server refuses every call (`permission_denied`).";
  }
}
