// What the Connect protocol (connectrpc.com/docs/protocol) adds around every unary method: the
// request headers, the GET form of side-effect-free methods, and the error body with its HTTP
// status per code. These are facts of the protocol, not of any one API.
import type { JsonSchema } from "./json-schema";

/** Connect error codes by the HTTP status the protocol answers them with. */
export const CODES_BY_STATUS: ReadonlyArray<readonly [status: string, codes: readonly string[]]> = [
  ["400", ["invalid_argument", "failed_precondition", "out_of_range"]],
  ["401", ["unauthenticated"]],
  ["403", ["permission_denied"]],
  ["404", ["not_found"]],
  ["409", ["already_exists", "aborted"]],
  ["429", ["resource_exhausted"]],
  ["499", ["canceled"]],
  ["500", ["unknown", "internal", "data_loss"]],
  ["501", ["unimplemented"]],
  ["503", ["unavailable"]],
  ["504", ["deadline_exceeded"]],
];

/** OpenAPI response ranges: the codes a client can act on, and the server's side. */
export const ERROR_RANGES = ["4XX", "5XX"] as const;

export const ERROR_SCHEMA = "connect.Error";
export const ERROR_DETAIL_SCHEMA = "connect.ErrorDetail";
export const PROTOCOL_VERSION_PARAMETER = "Connect-Protocol-Version";
export const TIMEOUT_PARAMETER = "Connect-Timeout-Ms";

const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const responseRef = (range: string) => ({ $ref: `#/components/responses/connect-error-${range}` });
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
        code: { type: "string", enum: CODES_BY_STATUS.flatMap(([, codes]) => codes), description: "The Connect error code, in snake_case." },
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

/** One response per status range (4XX, 5XX), each narrowing connect.Error's code to the codes
 * answered with a status in that range, and listing which status each code gets. */
export function errorResponses(): Record<string, JsonSchema> {
  return Object.fromEntries(
    ERROR_RANGES.map((range) => {
      const rows = CODES_BY_STATUS.filter(([status]) => status[0] === range[0]);
      const table = ["| code | HTTP status |", "|---|---|", ...rows.flatMap(([status, codes]) => codes.map((c) => `| \`${c}\` | ${status} |`))];
      const schema = { allOf: [schemaRef(ERROR_SCHEMA), { properties: { code: { enum: rows.flatMap(([, codes]) => codes) } } }] };
      const what = range === "4XX" ? "A Connect error about the request or the caller" : "A Connect error on the server's side (retry `unavailable` with the same request id)";
      return [`connect-error-${range}`, { description: `${what}:\n\n${table.join("\n")}`, content: { "application/json": { schema } } }];
    }),
  );
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
