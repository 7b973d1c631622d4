// The plugin's own options, set in buf.gen.yaml (`opt:`). Everything that names something of
// this API (the access option, the error detail, the governed package) is an option, so the
// generator itself reads only descriptors and the Connect protocol.
import type { ErrorExample } from "./connect-protocol";

export interface OpenApiOptions {
  /** Output path under the plugin's `out` directory. */
  file: string;
  /** info.title of the document. */
  title: string;
  /** info.version of the document. */
  version: string;
  /** Services listed first, in this order (the rest follow in file order). */
  firstServices: string[];
  /** Services whose full name starts with one of these are left out (reflection). */
  excludeServicePrefixes: string[];
  /** Full name of the method option declaring who may call a method (bank.v1.access). */
  accessOption: string;
  /** Packages whose methods the server governs with that option; other packages are open. */
  governedPackages: string[];
  /** Full name of the message sent as the error detail (bank.v1.ErrorInfo). */
  errorDetail: string;
  /** Request example values (`example=<jsonName>=<value>`, or `<Message full name>.<jsonName>`
   * for one message): the value as JSON when it parses, else the string itself. */
  examples: Map<string, unknown>;
  /** The steps of "Run the whole flow" at the top of the document, in order: a method's full
   * name (`bank.v1.AuthService.Register`, linked to its operation) or any text, then `|` and
   * what to do there. */
  flow: string[];
  /** Error examples, one per distinct reason (`error_example=<code>:<REASON>:[<scope>]:<message>`):
   * shown on the operations its scope names (see ErrorExample). */
  errorExamples: ErrorExample[];
}

const DEFAULTS: OpenApiOptions = {
  file: "openapi.json",
  title: "API",
  version: "v1",
  firstServices: [],
  excludeServicePrefixes: [],
  accessOption: "",
  governedPackages: [],
  errorDetail: "",
  examples: new Map(),
  flow: [],
  errorExamples: [],
};

/** protoplugin's parseOptions: unknown keys are an error (a typo must not pass silently). */
export function parseOptions(raw: { key: string; value: string }[]): OpenApiOptions {
  const options: OpenApiOptions = { ...DEFAULTS, firstServices: [], excludeServicePrefixes: [], governedPackages: [], examples: new Map(), flow: [], errorExamples: [] };
  for (const { key, value } of raw) {
    switch (key) {
      case "file":
        options.file = value;
        break;
      case "title":
        options.title = value;
        break;
      case "version":
        options.version = value;
        break;
      case "first_service":
        options.firstServices.push(value);
        break;
      case "exclude_service_prefix":
        options.excludeServicePrefixes.push(value);
        break;
      case "access_option":
        options.accessOption = value;
        break;
      case "governed_package":
        options.governedPackages.push(value);
        break;
      case "error_detail":
        options.errorDetail = value;
        break;
      case "example": {
        const eq = value.indexOf("=");
        if (eq <= 0) throw new Error(`protoc-gen-openapi: example=${JSON.stringify(value)} needs <field>=<value>`);
        options.examples.set(value.slice(0, eq), jsonOrString(value.slice(eq + 1)));
        break;
      }
      case "flow":
        options.flow.push(value);
        break;
      case "error_example": {
        const m = /^([a-z_]+):([A-Z][A-Z0-9_]*):\[([^\]]+)\]:(.+)$/.exec(value);
        if (!m) throw new Error(`protoc-gen-openapi: error_example=${JSON.stringify(value)} needs <code>:<REASON>:[<scope>]:<message>`);
        options.errorExamples.push({ code: m[1]!, reason: m[2]!, scope: m[3]!.trim().split(/\s+/), message: m[4]! });
        break;
      }
      default:
        throw new Error(`protoc-gen-openapi: unknown option ${JSON.stringify(key)}`);
    }
  }
  return options;
}

function jsonOrString(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
