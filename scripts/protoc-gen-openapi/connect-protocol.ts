// What the Connect protocol (connectrpc.com/docs/protocol) adds around every unary method: the
// request headers, the GET form of side-effect-free methods, and the error body with its HTTP
// status per code. These are facts of the protocol, not of any one API.
import type { JsonSchema } from "./json-schema";

/** Connect error codes by the HTTP status the protocol answers them with. `canceled` (499) is
 * left out: only a client that has gone away gets it, so no client ever reads it. */
export const CODES_BY_STATUS: ReadonlyArray<readonly [status: string, codes: readonly string[]]> = [
  ["400", ["invalid_argument", "failed_precondition", "out_of_range"]],
  ["401", ["unauthenticated"]],
  ["403", ["permission_denied"]],
  ["404", ["not_found"]],
  ["409", ["already_exists", "aborted"]],
  ["429", ["resource_exhausted"]],
  ["500", ["unknown", "internal", "data_loss"]],
  ["501", ["unimplemented"]],
  ["503", ["unavailable"]],
  ["504", ["deadline_exceeded"]],
];

export const ERROR_SCHEMA = "connect.Error";
export const ERROR_DETAIL_SCHEMA = "connect.ErrorDetail";
export const PROTOCOL_VERSION_PARAMETER = "Connect-Protocol-Version";
export const TIMEOUT_PARAMETER = "Connect-Timeout-Ms";

const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const responseRef = (status: string) => ({ $ref: `#/components/responses/connect-error-${status}` });
export const parameterRef = (name: string) => ({ $ref: `#/components/parameters/${name}` });

/** connect.Error and connect.ErrorDetail; `detail` is the schema of the detail's JSON form. */
export function errorSchemas(detailName: string | undefined, detail: JsonSchema | undefined): Record<string, JsonSchema> {
  const debug: JsonSchema = { ...(detail ?? {}), description: "The same detail as JSON (proto3 JSON mapping), for readers of JSON." };
  return {
    [ERROR_SCHEMA]: {
      type: "object",
      description: "The body of every failed unary call (HTTP status other than 200).",
      required: ["code"],
      properties: {
        code: { type: "string", enum: [...CODES_BY_STATUS.flatMap(([, codes]) => codes), "canceled"], description: "The Connect error code, in snake_case." },
        message: { type: "string", description: "A sentence for people; never parse it." },
        details: { type: "array", items: schemaRef(ERROR_DETAIL_SCHEMA), description: "Structured details of the error." },
      },
      additionalProperties: false,
    },
    [ERROR_DETAIL_SCHEMA]: {
      type: "object",
      description: detailName ? `One error detail: a \`${detailName}\` message, binary in \`value\` and JSON in \`debug\`.` : "One error detail.",
      required: ["type", "value"],
      properties: {
        type: { type: "string", description: "The full name of the detail's message type.", ...(detailName ? { examples: [detailName] } : {}) },
        value: { type: "string", contentEncoding: "base64", description: "The detail in the protobuf binary format, base64 without padding." },
        debug,
      },
      additionalProperties: false,
    },
  };
}

/** An error example (`error_example=<code>:<REASON>:[<scope>]:<message>`): one per distinct
 * reason, shown on the operations its scope names. Scope terms, separated by spaces; any one
 * that matches suffices: `all` (every operation), `signed_in` (operations that need a bearer
 * token), `field:<jsonName>` (the request has that field, also inside a nested message such as
 * BatchTransfer's transfers), `<Service>.<Method>` (that operation). */
export interface ErrorExample {
  code: string;
  reason: string;
  scope: string[];
  message: string;
}

/** One shared response per HTTP status of `statuses` (those some operation shows without an
 * example of its own), each narrowing connect.Error's code to that status's
 * codes. (Status ranges such as 4XX would be shorter, but Swagger UI shows a ranged answer as
 * "Undocumented".) Examples are per operation: see errorResponse. */
export function errorResponses(statuses: ReadonlySet<string>): Record<string, JsonSchema> {
  return Object.fromEntries(CODES_BY_STATUS.filter(([status]) => statuses.has(status)).map(([status]) => [`connect-error-${status}`, errorResponse(status, [])]));
}

/** The response for `status`, with one named example per reason of `examples` whose code it
 * carries (issue 28: Swagger UI otherwise drew the same "string" body under every status, then
 * every reason under every operation). */
export function errorResponse(status: string, examples: readonly ErrorExample[]): JsonSchema {
  const codes = CODES_BY_STATUS.find(([s]) => s === status)![1];
  const schema = { allOf: [schemaRef(ERROR_SCHEMA), { properties: { code: { enum: codes } } }] };
  const description = `Connect error ${codes.map((c) => `\`${c}\``).join(" or ")}.`;
  const mine = examples.filter((e) => codes.includes(e.code));
  const media: JsonSchema = { schema };
  if (mine.length > 0) media.examples = Object.fromEntries(mine.map((e) => [e.reason, { $ref: `#/components/examples/${e.reason}` }]));
  return { description, content: { "application/json": media } };
}

/** components.examples: each error example once, by reason, referenced by the operations. */
export function errorExamples(examples: readonly ErrorExample[], detailName: string | undefined): Record<string, JsonSchema> {
  return Object.fromEntries(examples.map((e) => [e.reason, { summary: `${e.code} ${e.reason}`, value: errorBody(e, detailName) }]));
}

/** The body the server sends for `e`: the detail as binary (an ErrorInfo's field 1, the reason)
 * and as JSON. */
function errorBody(e: ErrorExample, detailName: string | undefined): JsonSchema {
  if (!detailName) return { code: e.code, message: e.message };
  const reason = Buffer.from(e.reason, "utf8");
  const value = Buffer.concat([Buffer.from([0x0a, reason.length]), reason]).toString("base64").replace(/=+$/, "");
  return { code: e.code, message: e.message, details: [{ type: detailName, value, debug: { reason: e.reason } }] };
}

export function headerParameters(): Record<string, JsonSchema> {
  return {
    [PROTOCOL_VERSION_PARAMETER]: {
      name: PROTOCOL_VERSION_PARAMETER,
      in: "header",
      required: false,
      description: "The Connect protocol version. Connect clients send `1`; a plain HTTP client may leave it out.",
      schema: { type: "string", enum: ["1"], default: "1" },
    },
    [TIMEOUT_PARAMETER]: {
      name: TIMEOUT_PARAMETER,
      in: "header",
      required: false,
      description: "The call's deadline in milliseconds (at most 10 digits). Past it the call ends with `deadline_exceeded`. The server applies its own default when it is missing and caps it at its own maximum.",
      schema: { type: "string", pattern: "^[0-9]{1,10}$" },
      example: "5000",
    },
  };
}

/** The query parameters of the GET form: `?connect=v1&encoding=json&message=<URL-encoded JSON>`. */
export function getParameters(input: JsonSchema): JsonSchema[] {
  return [
    { name: "connect", in: "query", required: false, description: "The protocol version, `v1`.", schema: { type: "string", enum: ["v1"], default: "v1" } },
    { name: "encoding", in: "query", required: true, description: "The codec of `message`: `json`.", schema: { type: "string", enum: ["json"], default: "json" } },
    { name: "message", in: "query", required: true, description: "The request message as JSON, URL-encoded.", content: { "application/json": { schema: input } } },
    parameterRef(TIMEOUT_PARAMETER),
  ];
}
