// The whole OpenAPI 3.1 document: info with how to call the API, one tag per service, the
// paths of every unary method, and the components they reference.
import { findExtension } from "./access";
import type { DescFile, DescMessage, DescService, TypesInFile } from "./descriptors";
import { errorExamples, errorResponses, errorSchemas, headerParameters, type ErrorExample } from "./connect-protocol";
import type { JsonSchema } from "./json-schema";
import type { OpenApiOptions } from "./options";
import { BEARER_SCHEME, pathItem, scopeTermMatches, serviceTag, unaryMethods, type ServiceContext } from "./operations";
import { SchemaSet } from "./schemas";

/** The services to document: every service of the files to generate, minus the excluded ones,
 * the `first_service` ones first. */
export function selectServices(files: readonly DescFile[], options: OpenApiOptions): DescService[] {
  const services = files
    .flatMap((file) => file.services)
    .filter((service) => !options.excludeServicePrefixes.some((prefix) => service.typeName.startsWith(prefix)));
  const rank = (s: DescService) => {
    const i = options.firstServices.indexOf(s.typeName);
    return i < 0 ? options.firstServices.length : i;
  };
  // Array.prototype.sort is stable: services not named keep their file order.
  return services.sort((a, b) => rank(a) - rank(b));
}

export function buildDocument(services: readonly DescService[], allFiles: readonly DescFile[], types: TypesInFile, options: OpenApiOptions): JsonSchema {
  const schemas = new SchemaSet();
  const ctx: ServiceContext = {
    schemas,
    accessExtension: options.accessOption ? findExtension(allFiles, types, options.accessOption) : undefined,
    governedPackages: options.governedPackages,
    examples: options.examples,
    errorExamples: options.errorExamples,
    sharedErrorResponses: new Set(),
  };
  if (options.accessOption && !ctx.accessExtension) throw new Error(`access_option ${options.accessOption} is not among the descriptors`);
  const paths: JsonSchema = {};
  for (const service of services) {
    for (const method of unaryMethods(service)) paths[`/${service.typeName}/${method.name}`] = pathItem(method, ctx);
  }
  checkErrorScopes(options.errorExamples, services);
  const tags = services.map((service) => serviceTag(service, ctx));
  const detail = options.errorDetail ? findMessage(allFiles, types, options.errorDetail) : undefined;
  if (options.errorDetail && !detail) throw new Error(`error_detail ${options.errorDetail} is not among the descriptors`);
  const detailSchema = detail ? schemas.message(detail) : undefined;
  return {
    openapi: "3.1.0",
    info: { title: options.title, version: options.version, description: introduction(options), license: { name: "MIT", identifier: "MIT" } },
    servers: [{ url: "/", description: "The server that serves this document." }],
    tags,
    paths,
    components: {
      schemas: { ...schemas.components(), ...errorSchemas(options.errorDetail || undefined, detailSchema) },
      responses: errorResponses(ctx.sharedErrorResponses),
      examples: errorExamples(options.errorExamples, options.errorDetail || undefined),
      parameters: headerParameters(),
      securitySchemes: {
        [BEARER_SCHEME]: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The `accessToken` of a `Login` (or `RefreshToken`) response. An operation's security requirements name the roles that may call it; any one of them suffices.",
        },
      },
    },
  };
}

/** A scope term that names no documented operation or request field is a typo: refused, so that
 * an example cannot silently vanish from every operation. */
function checkErrorScopes(examples: readonly ErrorExample[], services: readonly DescService[]): void {
  const methods = services.flatMap((s) => unaryMethods(s));
  for (const e of examples) {
    for (const term of e.scope) {
      const known = term === "all" || term === "signed_in" || methods.some((m) => scopeTermMatches(term, m));
      if (!known) throw new Error(`protoc-gen-openapi: error_example ${e.reason}: scope term ${JSON.stringify(term)} matches no operation`);
    }
  }
}

function findMessage(files: readonly DescFile[], types: TypesInFile, typeName: string): DescMessage | undefined {
  for (const file of files) {
    for (const type of types(file)) if (type.kind === "message" && type.typeName === typeName) return type;
  }
  return undefined;
}

function introduction(options: OpenApiOptions): string {
  return [
    ...flowSection(options.flow),
    "Generated from the `.proto` files by `npm run generate`. Every unary method is `POST /<package>.<Service>/<Method>` with a JSON body: the [Connect protocol](https://connectrpc.com/docs/protocol), so plain HTTP clients, `curl` and this page can call it. The same methods are served over gRPC and gRPC-Web on the same port.",
    "JSON follows the proto3 JSON mapping: field names in lowerCamelCase, 64-bit integers (such as `minorUnits`) as strings, enums by value name, timestamps as RFC 3339 strings; fields left out take their default.",
    "**Signing in here:** call `AuthService.Register`, then `AuthService.Login`; copy `accessToken` from its response into **Authorize** (bearerAuth). Each operation says which roles may call it.",
    `**Errors** answer a non-200 status with a JSON body \`{"code", "message", "details"}\`${options.errorDetail ? `; \`details[].debug\` is a \`${options.errorDetail}\` whose \`reason\` (UPPER_SNAKE) says what went wrong` : ""}.`,
  ].join("\n\n");
}

/** "Run the whole flow": the `flow=` steps as a numbered list, method names linked to their
 * operation (Swagger UI's deep links: #/<tag>/<operationId>). */
function flowSection(steps: readonly string[]): string[] {
  if (steps.length === 0) return [];
  const lines = steps.map((step, i) => {
    const bar = step.indexOf("|");
    const head = bar < 0 ? step : step.slice(0, bar).trim();
    const text = bar < 0 ? "" : step.slice(bar + 1).trim();
    const method = /^([a-z][\w.]*)\.([A-Z]\w*)\.([A-Z]\w*)$/.exec(head);
    const title = method ? `[${method[2]}.${method[3]}](#/${method[1]}.${method[2]}/${head})` : `**${head}**`;
    return `${i + 1}. ${title}${text ? `: ${text}` : ""}`;
  });
  return ["## Run the whole flow\n\n" + lines.join("\n") + "\n\nValues in `{{double braces}}` are placeholders this page fills in at each Execute (a fresh UUID, the email you registered, the accounts you opened); type over them to send your own."];
}
