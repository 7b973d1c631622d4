// connect-es 2.1 reports a request body that is not valid binary protobuf as INTERNAL
// ("parse binary: ..."), and invalid JSON as INVALID_ARGUMENT without an ErrorInfo; and it
// decodes the body before any interceptor runs, so our error mapping never sees either. A
// malformed request is the client's error (API.md: INVALID_ARGUMENT with a reason), so the
// server's input parsers are wrapped here to raise INVALID_ARGUMENT / MALFORMED_REQUEST. The wrap touches only request parsing on the
// server side (getI().parse); responses and clients are unchanged. Applied once, at import.
import * as path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectError } from "./errors";

interface Serialization {
  parse(data: Uint8Array): unknown;
  serialize(data: unknown): Uint8Array;
}
interface Lookup {
  getI(useBinaryFormat: boolean): Serialization;
  getO(useBinaryFormat: boolean): Serialization;
}
type LookupFactory = (method: { input: { typeName: string } }, ...rest: unknown[]) => Lookup;

const PATCHED = Symbol.for("bankd.malformedRequests");

function install(): void {
  // The module is internal to connect-es (not in its package exports), so it is loaded by path:
  // the same file the protocol handlers load, so they see the wrapped factory.
  const file = path.join(path.dirname(require.resolve("@connectrpc/connect")), "protocol", "serialization.js");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const serialization = require(file) as { createMethodSerializationLookup: LookupFactory & { [PATCHED]?: true } };
  const original = serialization.createMethodSerializationLookup;
  if (original[PATCHED]) return;
  const wrapped: LookupFactory & { [PATCHED]?: true } = (method, ...rest) => {
    const lookup = original(method, ...rest);
    const inputs = new Map<boolean, Serialization>();
    return {
      getO: (binary) => lookup.getO(binary),
      getI: (binary) => {
        let input = inputs.get(binary);
        if (!input) {
          const inner = lookup.getI(binary);
          input = { serialize: (data) => inner.serialize(data), parse: (data) => parseOrInvalid(inner, data, method.input.typeName) };
          inputs.set(binary, input);
        }
        return input;
      },
    };
  };
  wrapped[PATCHED] = true;
  serialization.createMethodSerializationLookup = wrapped;
}

function parseOrInvalid(inner: Serialization, data: Uint8Array, typeName: string): unknown {
  try {
    return inner.parse(data);
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    if (err.code === Code.Internal && err.rawMessage.startsWith("parse binary:")) {
      throw connectError(Code.InvalidArgument, "MALFORMED_REQUEST", `The request body is not a valid ${typeName} message.`);
    }
    if (err.code === Code.InvalidArgument && err.details.length === 0) {
      // JSON that does not fit the message (a fractional or non-numeric int64, a wrong type, an
      // unknown enum name): name the field, never echo the value (it may be a password).
      const field = /field ([A-Za-z0-9_.]+)/.exec(err.rawMessage)?.[1];
      const message = field ? `The request body does not fit ${typeName}: field ${field} has an invalid value.` : `The request body is not a valid JSON encoding of ${typeName}.`;
      throw connectError(Code.InvalidArgument, "MALFORMED_REQUEST", message, field ? { field } : {});
    }
    throw err;
  }
}

install();
