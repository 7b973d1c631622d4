// Goal (issue 28): the explorer's request examples run as they are. Before, every field was
// "string" and every enum UNSPECIFIED, so Execute failed, and ListTransactions' default failed
// INVALID_PAGE_TOKEN. Now each operation's example (generated from buf.gen.yaml's `example=`
// options) holds real enum values, a currency, an empty page token and {{placeholders}} that the
// page fills at each Execute (src/web/explorer-page.ts EXPLORER_FLOW_JS, evaluated here as the
// page runs it): a fresh UUID, a new email, the registered email, the accounts opened. The flow at
// the top of the document (Register -> Login -> Authorize -> CreateAccount -> Deposit -> Transfer),
// sent exactly as the page sends it, is answered 200 at every step, twice in a row (a second
// reader, a new email). Error examples: one per distinct reason, with its code, shown on the operations
// that can answer it (buf.gen.yaml scopes). The hostile side: an example whose placeholder the page cannot fill yet
// is refused with a 4xx and a reason, never a 500.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { EXPLORER_FLOW_JS } from "../../src/web/explorer-page";
import { engines } from "../support/db";
import { startTestApp, type TestApp } from "../support/app";
import { DocumentValidator, loadDocument, operations, resolve, type Json, type Schema } from "./support";

interface Flow {
  state: { email: string; accounts: { id: string; number: string }[] };
  fill(body: string): string;
  remember(url: string, status: number, body: unknown): string | undefined;
}
const createFlow = new Function(`${EXPLORER_FLOW_JS}; return createBankdFlow;`)() as (uuid: () => string) => Flow;

const doc = loadDocument();
const validator = new DocumentValidator(doc);
type Body = { content: { "application/json": { schema: Schema; example?: Json } } };
const exampleOf = (path: string): Json => (doc.paths[path]!.post!.requestBody as Body).content["application/json"].example!;

const FLOW = ["/bank.v1.AuthService/Register", "/bank.v1.AuthService/Login", "/bank.v1.AccountService/CreateAccount", "/bank.v1.AccountService/CreateAccount", "/bank.v1.TransactionService/Deposit", "/bank.v1.TransactionService/Transfer", "/bank.v1.TransactionService/ListTransactions"];

test("the document opens with the whole flow, in order, each method linked to its operation", () => {
  const description = (doc.info as { description: string }).description;
  expect(description.startsWith("## Run the whole flow\n")).toBe(true);
  const steps = [...description.matchAll(/^\d+\. (?:\[([\w.]+)\]\(#\/([\w.]+)\/([\w.]+)\)|\*\*(\w+)\*\*)/gm)].map((m) => m[1] ?? m[4]);
  expect(steps).toEqual(["AuthService.Register", "AuthService.Login", "Authorize", "AccountService.CreateAccount", "TransactionService.Deposit", "TransactionService.Transfer"]);
  for (const m of description.matchAll(/\]\(#\/([\w.]+)\/([\w.]+)\)/g)) {
    const op = operations(doc).find((o) => o.op.operationId === m[2]);
    expect([m[2], op?.op.tags]).toEqual([m[2], [m[1]]]);
  }
});

test("every POST operation has an example with no 'string' placeholder and no UNSPECIFIED enum, valid against its schema once the page fills it", () => {
  const flow = createFlow(randomUUID);
  flow.state.email = "ada@example.com";
  flow.state.accounts.push({ id: randomUUID(), number: "40215583190726" }, { id: randomUUID(), number: "40215583190727" });
  const posts = operations(doc).filter((o) => o.verb === "post");
  expect(posts.length).toBeGreaterThan(30);
  const problems: string[] = [];
  for (const { path, op } of posts) {
    const body = op.requestBody as Body;
    const example = body.content["application/json"].example;
    if (example === undefined) {
      problems.push(`${path}: no example`);
      continue;
    }
    const text = JSON.stringify(example);
    if (/"string"|_UNSPECIFIED"/.test(text)) problems.push(`${path}: ${text}`);
    const filled = JSON.parse(flow.fill(text)) as Json;
    for (const e of validator.errors(body.content["application/json"].schema, filled)) problems.push(`${path}: ${e}`);
  }
  expect(problems).toEqual([]);
  // The reads that page start at the first page.
  expect(exampleOf("/bank.v1.TransactionService/ListTransactions")).toMatchObject({ pageToken: "", pageSize: 10 });
  expect(exampleOf("/bank.v1.AccountService/CreateAccount")).toMatchObject({ requestId: "{{fresh UUID}}", currency: "USD", type: "ACCOUNT_TYPE_CHECKING" });
});

test("the page's filler: a fresh UUID at each fill, the email it made, placeholders it cannot fill left as they are", () => {
  const flow = createFlow(randomUUID);
  const a = flow.fill('{"requestId": "{{fresh UUID}}"}');
  const b = flow.fill('{"requestId": "{{fresh UUID}}"}');
  expect(a).not.toBe(b);
  expect(flow.fill('"{{registered email}}" "{{first account id}}" "{{nonsense}}"')).toBe('"{{registered email}}" "{{first account id}}" "{{nonsense}}"');
  const email = JSON.parse(flow.fill('"{{new email}}"')) as string;
  expect(flow.state.email).toBe("");
  flow.remember("http://x/bank.v1.AuthService/Register", 409, { code: "already_exists" });
  expect(flow.state.email).toBe("");
  flow.remember("http://x/bank.v1.AuthService/Register", 200, { user: {} });
  expect(flow.state.email).toBe(email);
});

describe.each(engines())("the flow of /docs, sent as the page sends it, on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
  });
  afterAll(async () => t.stop());

  async function execute(flow: Flow, path: string, token: string | undefined): Promise<{ status: number; body: Record<string, Json> }> {
    const res = await fetch(t.baseUrl + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: flow.fill(JSON.stringify(exampleOf(path), null, 2)),
    });
    const body = (await res.json()) as Record<string, Json>;
    return { status: res.status, body };
  }

  test("Register -> Login -> Authorize -> CreateAccount x2 -> Deposit -> Transfer -> ListTransactions: 200 at every step, for two readers", async () => {
    for (let reader = 0; reader < 2; reader++) {
      const flow = createFlow(randomUUID);
      let token: string | undefined;
      for (const path of FLOW) {
        const { status, body } = await execute(flow, path, token);
        expect([reader, path, status, status === 200 ? "" : body]).toEqual([reader, path, 200, ""]);
        token = flow.remember(t.baseUrl + path, status, body) ?? token;
      }
      const statement = (await execute(flow, "/bank.v1.TransactionService/ListTransactions", token)).body as { entries: { amount: { minorUnits: string } }[] };
      expect(statement.entries.map((e) => e.amount.minorUnits)).toEqual(["-10000", "10000"]);
    }
  });

  test("an example the page cannot fill yet (no account opened) is refused with a 4xx and a reason, not a 500", async () => {
    const flow = createFlow(randomUUID);
    let token: string | undefined;
    for (const path of FLOW.slice(0, 2)) token = flow.remember(t.baseUrl + path, 200, (await execute(flow, path, token)).body) ?? token;
    const { status, body } = await execute(flow, "/bank.v1.TransactionService/Deposit", token);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect((body.details as { debug: { reason: string } }[])[0]!.debug.reason).toMatch(/^[A-Z_]+$/);
  });
});

type ErrorExampleValue = { summary: string; value: { code: string; details: { value: string; debug: { reason: string } }[] } };
type ErrorMedia = { schema: Schema; examples?: Record<string, ErrorExampleValue & { $ref?: string }> };

/** Per operation and status: the reasons of its error examples, each resolved and checked valid
 * against that response's schema. */
function errorExamplesByOperation(): Map<string, Map<string, ErrorExampleValue[]>> {
  const out = new Map<string, Map<string, ErrorExampleValue[]>>();
  for (const { path: p, verb, op } of operations(doc)) {
    const byStatus = new Map<string, ErrorExampleValue[]>();
    for (const [status, ref] of Object.entries(op.responses)) {
      if (status === "200") continue;
      const media = resolve(doc, ref as { content: Record<string, ErrorMedia> }).content["application/json"]!;
      const examples = Object.entries(media.examples ?? {}).map(([reason, e]) => {
        const example = resolve(doc, e);
        expect([p, reason, validator.errors(media.schema, example.value)]).toEqual([p, reason, []]);
        expect(example.value.details[0]!.debug.reason).toBe(reason);
        return example;
      });
      byStatus.set(status, examples);
    }
    out.set(`${verb} ${p}`, byStatus);
  }
  return out;
}

test("error examples: one per distinct reason, under the status of its code, valid against that response's schema, each a reason the server really raises with that code", () => {
  const codeFunctions: Record<string, string> = { invalid_argument: "invalidArgument|InvalidArgument", failed_precondition: "failedPrecondition|FailedPrecondition", unauthenticated: "unauthenticated|Unauthenticated", permission_denied: "permissionDenied|PermissionDenied", not_found: "notFound|NotFound", already_exists: "alreadyExists|AlreadyExists", aborted: "aborted|Aborted", resource_exhausted: "resourceExhausted|ResourceExhausted", internal: "Internal", unimplemented: "Unimplemented", unavailable: "unavailable|Unavailable", deadline_exceeded: "DeadlineExceeded" };
  const source = listSources("src").map((f) => fs.readFileSync(f, "utf8")).join("\n");
  const components = doc.components.examples as unknown as Record<string, ErrorExampleValue>;
  const reasons = Object.keys(components);
  for (const [reason, { value }] of Object.entries(components)) {
    expect(value.details[0]!.debug.reason).toBe(reason);
    expect(fromBinary(ErrorInfoSchema, Buffer.from(value.details[0]!.value, "base64")).reason).toBe(reason);
    // Raised in src/ with this code: invalidArgument("REASON", or connectError(Code.InvalidArgument, "REASON", ...
    const raised = new RegExp(`(?:${codeFunctions[value.code]})\\(?,?\\s*"${reason}"|(?:${codeFunctions[value.code]}), (?:[^"\\n]*\\? )?"${reason}"`);
    expect([reason, value.code, raised.test(source)]).toEqual([reason, value.code, true]);
  }
  expect(reasons.length).toBeGreaterThanOrEqual(20);
  // Every example is shown by some operation, under the status of its code.
  const shown = new Set<string>();
  for (const byStatus of errorExamplesByOperation().values()) {
    for (const [status, examples] of byStatus) {
      for (const e of examples) {
        shown.add(e.value.details[0]!.debug.reason);
        expect([e.summary, status]).toEqual([e.summary, STATUS_OF_CODE[e.value.code]]);
      }
    }
  }
  expect([...shown].sort()).toEqual([...reasons].sort());
});

const STATUS_OF_CODE: Record<string, string> = { invalid_argument: "400", failed_precondition: "400", unauthenticated: "401", permission_denied: "403", not_found: "404", already_exists: "409", aborted: "409", resource_exhausted: "429", internal: "500", unimplemented: "501", unavailable: "503", deadline_exceeded: "504" };

test("error examples are per operation: each shows the reasons it can answer, not every reason of its status", () => {
  const byOperation = errorExamplesByOperation();
  const reasonsOf = (op: string): string[] => [...byOperation.get(`post /${op}`)!.values()].flat().map((e) => e.value.details[0]!.debug.reason);
  const register = reasonsOf("bank.v1.AuthService/Register");
  expect(register).toEqual(expect.arrayContaining(["EMAIL_TAKEN", "PASSWORD_TOO_WEAK", "REGISTER_THROTTLED", "MALFORMED_REQUEST"]));
  // Public: no token is asked for, so none is missing; no money moves.
  for (const absent of ["TOKEN_MISSING", "ROLE_REQUIRED", "INSUFFICIENT_FUNDS", "ACCOUNT_NOT_FOUND", "BATCH_ABORTED"]) expect([absent, register.includes(absent)]).toEqual([absent, false]);
  const transfer = reasonsOf("bank.v1.TransactionService/Transfer");
  expect(transfer).toEqual(expect.arrayContaining(["INSUFFICIENT_FUNDS", "REQUEST_ID_REUSED", "ACCOUNT_FROZEN", "DAILY_LIMIT_EXCEEDED", "TOKEN_MISSING", "ROLE_REQUIRED", "ACCOUNT_NOT_FOUND", "POSTING_RATE_EXCEEDED"]));
  for (const absent of ["EMAIL_TAKEN", "BATCH_ABORTED", "INVALID_CREDENTIALS", "HOLD_NOT_FOUND"]) expect([absent, transfer.includes(absent)]).toEqual([absent, false]);
  // A field nested in a list (BatchTransfer's transfers[].amount) counts as the request's.
  expect(reasonsOf("bank.v1.TransactionService/BatchTransfer")).toEqual(expect.arrayContaining(["BATCH_ABORTED", "AMOUNT_NOT_POSITIVE"]));
  const getAccount = reasonsOf("bank.v1.AccountService/GetAccount");
  for (const absent of ["INSUFFICIENT_FUNDS", "REQUEST_ID_REUSED", "EMAIL_TAKEN"]) expect([absent, getAccount.includes(absent)]).toEqual([absent, false]);
  // The GET form of a side-effect-free method shows the same examples as its POST.
  const get = byOperation.get("get /bank.v1.AccountService/GetAccount")!;
  expect([...get.values()].flat().map((e) => e.summary)).toEqual([...byOperation.get("post /bank.v1.AccountService/GetAccount")!.values()].flat().map((e) => e.summary));
});

function listSources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listSources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}
