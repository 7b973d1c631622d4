// Goal (issue 26, item 9 and "control characters"): no request string reaches the database or a
// handler with a C0 control character other than tab, line feed and carriage return, or DEL. A
// NUL in every string field of every request message of every bankd method (the fields found from
// the descriptors in gen/, nested and repeated ones included) is INVALID_ARGUMENT FIELD_INVALID
// naming the field, never INTERNAL (PostgreSQL refuses NUL in text: ListAuditEvents and ListUsers
// filters with \u0000 were 500 with a driver error in the log). Passwords refuse NUL only (any
// other character is theirs); IntrospectToken answers active:false for a malformed token.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { fromJson, type DescField, type DescMessage, type DescMethod, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { bankServices } from "../../src/app";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, strongPassword, uniqueEmail, type TestUser } from "../support/users";
import { rid } from "../ledger/support";

/** A string field reachable from a request message: its JSON path and its proto path. */
interface StringField {
  method: DescMethod;
  json: JsonObject;
  field: string;
}

/** Every string field of `desc` (depth-bounded), each with a JSON request that sets only it
 * (and the messages above it) to `value`; repeated fields get one element. */
function stringFields(desc: DescMessage, value: string, depth = 0): { json: JsonObject; field: string }[] {
  if (depth > 3) return [];
  const out: { json: JsonObject; field: string }[] = [];
  const wrap = (f: DescField, inner: JsonValue): JsonValue => (f.fieldKind === "list" ? [inner] : inner);
  for (const f of desc.fields) {
    const index = f.fieldKind === "list" ? "[0]" : "";
    if ((f.fieldKind === "scalar" || f.fieldKind === "list") && f.scalar === 9 /* STRING */) {
      out.push({ json: { [f.jsonName]: wrap(f, value) }, field: `${f.name}${index}` });
    } else if ((f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) && !f.message!.typeName.startsWith("google.protobuf.")) {
      for (const inner of stringFields(f.message!, value, depth + 1)) out.push({ json: { [f.jsonName]: wrap(f, inner.json) }, field: `${f.name}${index}.${inner.field}` });
    } else if (f.fieldKind === "map" && f.mapKey === 9) {
      out.push({ json: { [f.jsonName]: { [value]: f.mapKind === "scalar" && f.scalar === 9 ? "x" : {} } }, field: f.name });
    }
  }
  return out;
}

const everyStringField = (value: string): StringField[] =>
  bankServices.flatMap((s) => s.methods.flatMap((method) => stringFields(method.input, value).map((f) => ({ method, ...f }))));

async function outcome(t: TestApp, token: string, f: StringField): Promise<{ code: string; reason?: string; field?: string } | "ok"> {
  const c = createClient(f.method.parent, createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))] })) as unknown as Record<string, (m: unknown) => unknown>;
  const message = fromJson(f.method.input, f.json);
  try {
    const res = c[f.method.localName]!(message);
    if (f.method.methodKind === "server_streaming") {
      for await (const _ of res as AsyncIterable<unknown>) break;
    } else await res;
    return "ok";
  } catch (err) {
    const e = ConnectError.from(err);
    const info = e.findDetails(ErrorInfoSchema)[0];
    return { code: Code[e.code], reason: info?.reason, field: info?.metadata.field };
  }
}

describe.each(engines())("control characters in request strings (%s)", (engine) => {
  let t: TestApp;
  let staff: TestUser;
  let spare: TestUser;
  beforeAll(async () => {
    t = await startTestApp(engine);
    staff = await createTestUser(t, [Role.CUSTOMER, Role.TELLER, Role.AUDITOR, Role.ADMIN]);
    spare = await createTestUser(t, [Role.CUSTOMER, Role.TELLER, Role.AUDITOR, Role.ADMIN]);
  });
  afterAll(async () => t.stop());

  test("NUL in every string field of every request: FIELD_INVALID naming the field (IntrospectToken: active false), never INTERNAL", async () => {
    const fields = everyStringField("a\u0000b");
    // The generator found the fields that were INTERNAL on PostgreSQL, and the password fields.
    const names = fields.map((f) => `${f.method.name}:${f.field}`);
    expect(names).toEqual(expect.arrayContaining(["ListAuditEvents:actor_id", "ListAuditEvents:action", "ListAuditEvents:target_id", "ListUsers:email_prefix", "Login:password", "ChangePassword:new_password", "Transfer:description"]));
    // All answers first, then one comparison: a failure lists every field that answered wrong.
    const answers: string[] = [];
    const expected: string[] = [];
    for (const f of fields) {
      const answer = await outcome(t, staff.token, f);
      answers.push(`${f.method.name} ${f.field}: ${JSON.stringify(answer)}`);
      expected.push(`${f.method.name} ${f.field}: ${JSON.stringify(f.method.name === "IntrospectToken" ? "ok" : { code: "InvalidArgument", reason: "FIELD_INVALID", field: f.field })}`);
    }
    expect(answers.filter((a) => a.includes("Internal"))).toEqual([]);
    expect(answers).toEqual(expected);
    const introspect = await client(t.baseUrl, AuthService).introspectToken({ token: `${staff.token}\u0000` });
    expect(introspect.active).toBe(false);
  });

  test("other C0 controls and DEL are refused; tab, line feed and carriage return pass the transport", async () => {
    const audit = client(t.baseUrl, AuditService, { token: staff.token });
    const admin = client(t.baseUrl, AdminService, { token: staff.token });
    for (const c of ["\u0001", "\u001b", "\u001f", "\u007f"]) {
      const err = ConnectError.from(await audit.listAuditEvents({ action: `auth.login${c}` }).catch((e: unknown) => e));
      expect([JSON.stringify(c), Code[err.code], err.findDetails(ErrorInfoSchema)[0]?.reason, err.findDetails(ErrorInfoSchema)[0]?.metadata.field]).toEqual([JSON.stringify(c), "InvalidArgument", "FIELD_INVALID", "action"]);
      const users = ConnectError.from(await admin.listUsers({ emailPrefix: `a${c}` }).catch((e: unknown) => e));
      expect([Code[users.code], users.findDetails(ErrorInfoSchema)[0]?.reason]).toEqual(["InvalidArgument", "FIELD_INVALID"]);
    }
    // A description may hold tabs and line feeds (the ledger's own rule for free text).
    const accounts = client(t.baseUrl, AccountService, { token: staff.token });
    const account = (await accounts.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "Main" })).account!;
    const dep = await client(t.baseUrl, TransactionService, { token: staff.token }).deposit({ requestId: rid(), accountId: account.id, amount: { currency: "USD", minorUnits: 5n }, description: "line one\n\tline two" });
    expect(dep.transaction!.description).toBe("line one\n\tline two");
    // The filters with CR and LF reach the query and simply match nothing.
    expect((await audit.listAuditEvents({ action: "auth.login\r\n" })).events).toEqual([]);
  });

  test("passwords refuse NUL only: any other character is the password's own", async () => {
    const auth = client(t.baseUrl, AuthService);
    const password = `${strongPassword()}\u0001\u007f\u001b`;
    const email = uniqueEmail();
    await auth.register({ email, password, fullName: "Control Person" });
    const login = await auth.login({ email, password });
    expect(login.accessToken).not.toBe("");
    const withNul = ConnectError.from(await auth.login({ email, password: `${password}\u0000` }).catch((e: unknown) => e));
    expect([Code[withNul.code], withNul.findDetails(ErrorInfoSchema)[0]?.reason, withNul.findDetails(ErrorInfoSchema)[0]?.metadata.field]).toEqual(["InvalidArgument", "FIELD_INVALID", "password"]);
    // A NUL new password is refused before the current one is even checked; the session stays.
    const change = ConnectError.from(await client(t.baseUrl, AuthService, { token: spare.token }).changePassword({ currentPassword: spare.password, newPassword: `${strongPassword()}\u0000` }).catch((e: unknown) => e));
    expect([Code[change.code], change.findDetails(ErrorInfoSchema)[0]?.metadata.field]).toEqual(["InvalidArgument", "new_password"]);
    expect((await client(t.baseUrl, AuthService, { token: spare.token }).getCurrentUser({})).user!.id).toBe(spare.id);
  });
});
