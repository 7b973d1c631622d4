// No request string carries a C0 control character other than tab, line feed and carriage return,
// or DEL (issue 26): every string field of every request message (nested, repeated, map keys and
// values), found from the method's descriptor, is checked before authentication and before any
// handler, so that no such string reaches a query (PostgreSQL refuses NUL in text, which was a
// 500 with a driver error) or a log line. Passwords refuse NUL only: any other character is the
// password's own. IntrospectToken's token is not refused: a malformed token is answered
// `active: false` (RFC 7662), which the handler does.
import type { Interceptor } from "@connectrpc/connect";
import { ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { invalidArgument } from "../errors";

/** C0 controls except tab (09), line feed (0a) and carriage return (0d), and DEL. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const NUL = /\u0000/;

/** Fields whose value is the caller's secret: NUL only is refused. */
const PASSWORD_FIELDS = new Set(["bank.v1.RegisterRequest.password", "bank.v1.LoginRequest.password", "bank.v1.ChangePasswordRequest.current_password", "bank.v1.ChangePasswordRequest.new_password"]);
/** Fields whose handler answers anything malformed itself, without an error. */
const ANSWERED_FIELDS = new Set(["bank.v1.IntrospectTokenRequest.token"]);

const MAX_DEPTH = 32;

function refuse(path: string, password: boolean): never {
  throw invalidArgument("FIELD_INVALID", password ? `${path} must not contain NUL characters.` : `${path} must not contain control characters (other than tab, line feed and carriage return).`, { field: path });
}

function checkString(field: DescField, value: string, path: string): void {
  const fullName = `${field.parent.typeName}.${field.name}`;
  if (ANSWERED_FIELDS.has(fullName)) return;
  const password = PASSWORD_FIELDS.has(fullName);
  if ((password ? NUL : CONTROL).test(value)) refuse(path, password);
}

function checkMessage(message: ReflectMessage, prefix: string, depth: number): void {
  if (depth > MAX_DEPTH) return; // deeper than bankd's requests go; the JSON depth limit bounds the rest
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    const path = `${prefix}${field.name}`;
    switch (field.fieldKind) {
      case "scalar":
        if (field.scalar === ScalarType.STRING) checkString(field, message.get(field) as string, path);
        break;
      case "list": {
        const list = message.get(field);
        let i = 0;
        for (const item of list) {
          if (field.listKind === "scalar" && field.scalar === ScalarType.STRING) checkString(field, item as string, `${path}[${i}]`);
          else if (field.listKind === "message") checkMessage(item as ReflectMessage, `${path}[${i}].`, depth + 1);
          i++;
        }
        break;
      }
      case "map": {
        for (const [key, value] of message.get(field)) {
          if (field.mapKey === ScalarType.STRING) checkString(field, String(key), path);
          if (field.mapKind === "scalar" && field.scalar === ScalarType.STRING) checkString(field, value as string, path);
          else if (field.mapKind === "message") checkMessage(value as ReflectMessage, `${path}.`, depth + 1);
        }
        break;
      }
      case "message":
        checkMessage(message.get(field), `${path}.`, depth + 1);
        break;
      default:
        break;
    }
  }
}

/** Throws INVALID_ARGUMENT FIELD_INVALID naming the first string field of `message` that holds a
 * control character (field paths as in AIP-193: `transfers[0].description`). */
export function refuseControlCharacters(desc: DescMessage, message: Message): void {
  checkMessage(reflect(desc, message), "", 0);
}

/** The check on every request message: a unary call's before its handler runs, a streaming
 * call's (server-streaming ones included: connect-es hands their one request over as a stream)
 * as the handler reads it, before the handler sees it. */
export function controlCharacterInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      refuseControlCharacters(req.method.input, req.message);
      return next(req);
    }
    const source = req.message;
    const input = req.method.input;
    async function* checked() {
      for await (const message of source) {
        refuseControlCharacters(input, message);
        yield message;
      }
    }
    return next({ ...req, message: checked() });
  };
}
