// Goal (issue 28): the explorer's request examples run as they are. Before, every field was
// "string" and every enum UNSPECIFIED, so Execute failed, and ListTransactions' default failed
// INVALID_PAGE_TOKEN. Now each operation's example (generated from buf.gen.yaml's `example=`
// options) holds real enum values, a currency, an empty page token and {{placeholders}} that the
// page fills at each Execute (src/web/explorer-page.ts EXPLORER_FLOW_JS, evaluated here as the
// page runs it): a fresh UUID, a new email, the registered email, the accounts opened. The flow at
// the top of the document (Register -> Login -> Authorize -> CreateAccount -> Deposit -> Transfer),
// sent exactly as the page sends it, is answered 200 at every step, twice in a row (a second
// reader, a new email). Error examples: one per distinct reason, with its code. The hostile side: an example whose placeholder the page cannot fill yet
// is refused with a 4xx and a reason, never a 500.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { EXPLORER_FLOW_JS } from "../../src/web/explorer-page";
import { engines } from "../support/db";
import { startTestApp, type TestApp } from "../support/app";
import { DocumentValidator, loadDocument, operations, type Json, type Schema } from "./support";

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

test("error examples: one per distinct reason, under the status of its code, valid against that response's schema, each a reason the server really raises with that code", () => {
  const codeFunctions: Record<string, string> = { invalid_argument: "invalidArgument|InvalidArgument", failed_precondition: "failedPrecondition|FailedPrecondition", unauthenticated: "unauthenticated|Unauthenticated", permission_denied: "permissionDenied|PermissionDenied", not_found: "notFound|NotFound", already_exists: "alreadyExists|AlreadyExists", aborted: "aborted|Aborted", resource_exhausted: "resourceExhausted|ResourceExhausted", internal: "Internal", unimplemented: "Unimplemented", unavailable: "unavailable|Unavailable", deadline_exceeded: "DeadlineExceeded" };
  const source = listSources("src").map((f) => fs.readFileSync(f, "utf8")).join("\n");
  const reasons: string[] = [];
  for (const [name, response] of Object.entries(doc.components.responses)) {
    const media = response.content["application/json"] as { schema: Schema; examples?: Record<string, { value: { code: string; details: { value: string; debug: { reason: string } }[] } }> };
    const examples = Object.entries(media.examples ?? {});
    expect([name, examples.length > 0]).toEqual([name, true]);
    for (const [reason, { value }] of examples) {
      reasons.push(reason);
      expect([reason, validator.errors(media.schema, value)]).toEqual([reason, []]);
      expect(value.details[0]!.debug.reason).toBe(reason);
      expect(fromBinary(ErrorInfoSchema, Buffer.from(value.details[0]!.value, "base64")).reason).toBe(reason);
      // Raised in src/ with this code: invalidArgument("REASON", or connectError(Code.InvalidArgument, "REASON", ...
      const raised = new RegExp(`(?:${codeFunctions[value.code]})\\(?,?\\s*"${reason}"|(?:${codeFunctions[value.code]}), (?:[^"\\n]*\\? )?"${reason}"`);
      expect([reason, value.code, raised.test(source)]).toEqual([reason, value.code, true]);
    }
  }
  expect(new Set(reasons).size).toBe(reasons.length);
  expect(reasons.length).toBeGreaterThanOrEqual(10);
});

function listSources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listSources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}
