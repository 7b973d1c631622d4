// Goal: the living documentation of who may do what. The table below lists EVERY method of every
// bank.v1 service with its access rule from the contract (docs/api.md); the test calls each method
// over a real server as anonymous, a customer, another customer, a teller, an auditor and an
// admin, and checks each answer: UNAUTHENTICATED for anonymous on non-public methods,
// PERMISSION_DENIED for roles the rule does not list, NOT_FOUND for another customer's object,
// and anything but UNAUTHENTICATED / PERMISSION_DENIED for everyone allowed. It also checks that
// the table agrees with the `bank.v1.access` option of each method in the proto, and that
// docs/permissions.md is this table rendered (BANK_WRITE_DOCS=1 rewrites it).
import * as fs from "node:fs";
import * as path from "node:path";
import { generateKeyPairSync } from "node:crypto";
import type { JWK } from "jose";
import { signAssertion } from "../../examples/service-key";
import { getOption, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role, access } from "../../gen/bank/v1/access_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { bankServices } from "../../src/app";
import { uuidv7 } from "../../src/util/ids";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { secondFactorOf, signIn as signInUser, type TestUser } from "../support/users";
import { createUsers } from "../audit/support";
import { usd } from "../support/money";

const CALLERS = ["anonymous", "customer", "other customer", "teller", "auditor", "admin", "payment service"] as const;
type Caller = (typeof CALLERS)[number];
type Outcome = "allowed" | "NOT_FOUND" | "PERMISSION_DENIED" | "UNAUTHENTICATED";

/** What the requests refer to: the customer's objects, which the other customer may not see. */
type Person = Exclude<Caller, "anonymous" | "payment service">;

interface Fixtures {
  users: Record<Person, TestUser>;
  /** A service account's token (ROLE_PAYMENT_SERVICE, allowed to act on the customer's accounts). */
  serviceToken: string;
  /** A fresh assertion of that service account (each is good once). */
  serviceAssertion(): Promise<string>;
  /** The customer's account, with money on it. */
  account: string;
  /** Another account of the customer's, for freezing. */
  freezable: string;
  /** The other customer's account. */
  otherAccount: string;
  /** The number of `account`, as shown to people. */
  accountNumber: string;
  /** A deposit to `account`. */
  deposit: string;
  /** A fresh sign-in of the caller (the customer's for anonymous), for methods that end it. */
  signIn(caller: Caller): Promise<{ accessToken: string; refreshToken: string }>;
}

interface Rule {
  /** The access column of docs/api.md. */
  contract: string;
  /** "public", "signed-in" (every role) or the roles listed. */
  roles: "public" | Role[];
  /** A customer sees only their own objects: the other customer gets NOT_FOUND. */
  ownObject?: boolean;
  /** Calls with a fresh session of the caller (the call ends or rotates it). */
  freshSession?: boolean;
  /** A server-streaming method: the first answer of the stream (or its end) is the outcome. */
  stream?: boolean;
  request(f: Fixtures, caller: Caller): Promise<object> | object;
}

const ALL = [Role.CUSTOMER, Role.TELLER, Role.AUDITOR, Role.ADMIN];
const STAFF_AND_OWNER = ALL;
const STAFF_OWNER_AND_SERVICE = [...ALL, Role.PAYMENT_SERVICE];
const STAFF = [Role.TELLER, Role.AUDITOR, Role.ADMIN];
const rid = () => `perm-${uuidv7()}`;
const isStaff = (c: Caller) => c === "teller" || c === "auditor" || c === "admin";

// Requests are valid where that matters and harmless otherwise: a refused or not-found request is
// still past the access check, which is what "allowed" asserts.
const TABLE: Record<string, Record<string, Rule>> = {
  "bank.v1.AuthService": {
    Register: { contract: "public", roles: "public", request: () => ({ email: "not-an-email", password: "x", fullName: "x" }) },
    Login: { contract: "public", roles: "public", request: async (f, c) => ({ email: userOf(f, c).email, password: userOf(f, c).password, ...(await secondFactorOf(userOf(f, c))) }) },
    RefreshToken: { contract: "public", roles: "public", request: async (f, c) => ({ refreshToken: (await f.signIn(c)).refreshToken }) },
    Logout: { contract: "any signed-in", roles: ALL, freshSession: true, request: () => ({}) },
    GetCurrentUser: { contract: "any signed-in", roles: ALL, request: () => ({}) },
    ChangePassword: { contract: "any signed-in", roles: ALL, request: (f, c) => ({ currentPassword: userOf(f, c).password, newPassword: "short" }) },
    ListSessions: { contract: "any signed-in", roles: ALL, request: () => ({}) },
    RevokeSession: { contract: "any signed-in (own sessions)", roles: ALL, request: () => ({ sessionId: uuidv7() }) },
    IntrospectToken: { contract: "public", roles: "public", request: () => ({ token: "not-a-token" }) },
    GetJwks: { contract: "public", roles: "public", request: () => ({}) },
    IssueServiceToken: { contract: "public (the assertion is the credential)", roles: "public", request: async (f) => ({ assertion: await f.serviceAssertion() }) },
    EnrollTotp: { contract: "staff (also enrolment-only)", roles: [Role.TELLER, Role.AUDITOR, Role.ADMIN], request: () => ({}) },
    ConfirmTotp: { contract: "staff (also enrolment-only)", roles: [Role.TELLER, Role.AUDITOR, Role.ADMIN], request: () => ({ enrolmentId: uuidv7(), code: "123456" }) },
  },
  "bank.v1.AccountService": {
    CreateAccount: {
      contract: "customer (self), teller, admin",
      roles: [Role.CUSTOMER, Role.TELLER, Role.ADMIN],
      request: (f, c) => ({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "perm", ownerId: isStaff(c) ? f.users.customer.id : "" }),
    },
    GetAccount: { contract: "owner, staff, payment service", roles: STAFF_OWNER_AND_SERVICE, ownObject: true, request: (f) => ({ accountId: f.account }) },
    ListAccounts: { contract: "owner (own), staff (all)", roles: STAFF_AND_OWNER, request: () => ({}) },
    UpdateAccount: {
      contract: "owner, admin",
      roles: [Role.CUSTOMER, Role.ADMIN],
      ownObject: true,
      request: (f) => ({ accountId: f.account, displayName: "renamed", updateMask: { paths: ["display_name"] } }),
    },
    GetBalance: { contract: "owner, staff, payment service", roles: STAFF_OWNER_AND_SERVICE, ownObject: true, request: (f) => ({ accountId: f.account }) },
    FreezeAccount: { contract: "teller, admin", roles: [Role.TELLER, Role.ADMIN], request: (f) => ({ accountId: f.freezable, reason: "permission table" }) },
    UnfreezeAccount: { contract: "teller, admin", roles: [Role.TELLER, Role.ADMIN], request: (f) => ({ accountId: f.freezable, reason: "permission table" }) },
    CloseAccount: { contract: "owner, admin", roles: [Role.CUSTOMER, Role.ADMIN], ownObject: true, request: (f) => ({ accountId: f.account }) },
    SetAccountLimits: { contract: "admin", roles: [Role.ADMIN], request: (f) => ({ accountId: f.freezable, reason: "permission table", updateMask: { paths: ["deposit"] } }) },
    LookupAccount: { contract: "teller, admin, auditor", roles: [Role.TELLER, Role.AUDITOR, Role.ADMIN], request: (f) => ({ number: f.accountNumber }) },
    WatchAccount: { contract: "owner, staff", roles: STAFF_AND_OWNER, ownObject: true, stream: true, request: (f) => ({ accountId: f.account }) },
  },
  "bank.v1.TransactionService": {
    Deposit: { contract: "owner, teller, admin", roles: [Role.CUSTOMER, Role.TELLER, Role.ADMIN], ownObject: true, request: (f) => ({ requestId: rid(), accountId: f.account, amount: usd(100), description: "perm" }) },
    Withdraw: { contract: "owner, teller, admin", roles: [Role.CUSTOMER, Role.TELLER, Role.ADMIN], ownObject: true, request: (f) => ({ requestId: rid(), accountId: f.account, amount: usd(1), description: "perm" }) },
    BatchTransfer: {
      contract: "owner of every source, teller, admin, payment service",
      roles: [Role.CUSTOMER, Role.TELLER, Role.ADMIN, Role.PAYMENT_SERVICE],
      request: (f) => ({ requestId: rid(), transfers: [{ requestId: rid(), fromAccountId: f.account, target: { case: "toAccountId", value: f.otherAccount }, amount: usd(1), description: "perm" }] }),
    },
    Transfer: {
      contract: "owner of source, teller, admin, payment service",
      roles: [Role.CUSTOMER, Role.TELLER, Role.ADMIN, Role.PAYMENT_SERVICE],
      ownObject: true,
      request: (f) => ({ requestId: rid(), fromAccountId: f.account, target: { case: "toAccountId", value: f.otherAccount }, amount: usd(1), description: "perm" }),
    },
    GetTransaction: { contract: "a party's owner, staff, payment service", roles: STAFF_OWNER_AND_SERVICE, ownObject: true, request: (f) => ({ transactionId: f.deposit }) },
    ListTransactions: { contract: "owner, staff, payment service", roles: STAFF_OWNER_AND_SERVICE, ownObject: true, request: (f) => ({ accountId: f.account }) },
    CreateHold: { contract: "teller, admin", roles: [Role.TELLER, Role.ADMIN], request: (f) => ({ requestId: rid(), accountId: f.account, amount: usd(1), description: "perm" }) },
    CaptureHold: { contract: "teller, admin", roles: [Role.TELLER, Role.ADMIN], request: () => ({ requestId: rid(), holdId: uuidv7() }) },
    ReleaseHold: { contract: "teller, admin", roles: [Role.TELLER, Role.ADMIN], request: () => ({ requestId: rid(), holdId: uuidv7() }) },
    ReverseTransaction: { contract: "admin", roles: [Role.ADMIN], request: () => ({ requestId: rid(), transactionId: uuidv7(), reason: "perm" }) },
  },
  "bank.v1.AdminService": {
    ListUsers: { contract: "admin, auditor, teller (read-only)", roles: [Role.TELLER, Role.AUDITOR, Role.ADMIN], request: () => ({}) },
    SetUserRoles: { contract: "admin", roles: [Role.ADMIN], request: () => ({ userId: uuidv7(), roles: [Role.CUSTOMER] }) },
    DisableUser: { contract: "admin", roles: [Role.ADMIN], request: () => ({ userId: uuidv7() }) },
    EnableUser: { contract: "admin", roles: [Role.ADMIN], request: () => ({ userId: uuidv7() }) },
    ResetSecondFactor: { contract: "admin (not on oneself)", roles: [Role.ADMIN], request: () => ({ userId: uuidv7(), reason: "permission table" }) },
    CreateServiceAccount: { contract: "admin", roles: [Role.ADMIN], request: () => ({ name: "perm", roles: [Role.PAYMENT_SERVICE], publicKey: "" }) },
    ListServiceAccounts: { contract: "admin, auditor", roles: [Role.AUDITOR, Role.ADMIN], request: () => ({}) },
    DisableServiceAccount: { contract: "admin", roles: [Role.ADMIN], request: () => ({ serviceAccountId: uuidv7(), reason: "permission table" }) },
    AddServiceAccountKey: { contract: "admin", roles: [Role.ADMIN], request: () => ({ serviceAccountId: uuidv7(), publicKey: "" }) },
    RevokeServiceAccountKey: { contract: "admin", roles: [Role.ADMIN], request: () => ({ serviceAccountId: uuidv7(), keyId: "perm" }) },
  },
  "bank.v1.AuditService": {
    ListAuditEvents: { contract: "auditor, admin", roles: [Role.AUDITOR, Role.ADMIN], request: () => ({}) },
    VerifyAuditLog: { contract: "auditor, admin", roles: [Role.AUDITOR, Role.ADMIN], request: () => ({}) },
  },
};

const CALLER_ROLE: Record<Exclude<Caller, "anonymous">, Role> = {
  customer: Role.CUSTOMER,
  "other customer": Role.CUSTOMER,
  teller: Role.TELLER,
  auditor: Role.AUDITOR,
  admin: Role.ADMIN,
  "payment service": Role.PAYMENT_SERVICE,
};

function expected(rule: Rule, caller: Caller): Outcome {
  if (rule.roles === "public") return "allowed";
  if (caller === "anonymous") return "UNAUTHENTICATED";
  if (!rule.roles.includes(CALLER_ROLE[caller])) return "PERMISSION_DENIED";
  return rule.ownObject && caller === "other customer" ? "NOT_FOUND" : "allowed";
}

/** The person a request names: the customer's for anonymous and the service (no person). */
function userOf(f: Fixtures, caller: Caller): TestUser {
  return caller === "anonymous" || caller === "payment service" ? f.users.customer : f.users[caller];
}

const services: Record<string, DescService> = Object.fromEntries(
  [AuthService, AccountService, TransactionService, AdminService, AuditService].map((s) => [s.typeName, s]),
);

const rows = Object.entries(TABLE).flatMap(([service, methods]) => Object.entries(methods).map(([method, rule]) => ({ service, method, rule })));

test("the table lists every method of every bank.v1 service, with the roles its proto option declares", () => {
  const declared = bankServices.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`)).sort();
  expect(rows.map((r) => `${r.service}/${r.method}`).sort()).toEqual(declared);
  for (const { service, method, rule } of rows) {
    const option = getOption(services[service]!.methods.find((m) => m.name === method)!, access);
    const declaredRoles = option.public ? "public" : [...option.roles].sort();
    expect({ method, roles: declaredRoles }).toEqual({ method, roles: rule.roles === "public" ? "public" : [...rule.roles].sort() });
  }
});

test("README's copy of the table, between its permission-table markers, is the rendered table", () => {
  const file = path.resolve(__dirname, "../../README.md");
  const readme = fs.readFileSync(file, "utf8");
  const start = "<!-- permission-table:start: rendered by test/authz/permission-table.test.ts -->\n";
  const end = "<!-- permission-table:end -->";
  const [from, to] = [readme.indexOf(start), readme.indexOf(end)];
  expect(from).toBeGreaterThanOrEqual(0);
  expect(to).toBeGreaterThan(from);
  const rendered = `${renderTable().join("\n")}\n`;
  if (process.env.BANK_WRITE_DOCS === "1") fs.writeFileSync(file, readme.slice(0, from + start.length) + rendered + readme.slice(to));
  const now = fs.readFileSync(file, "utf8");
  expect(now.slice(now.indexOf(start) + start.length, now.indexOf(end))).toBe(rendered);
});

test("docs/permissions.md is the rendered table", () => {
  const file = path.resolve(__dirname, "../../docs/permissions.md");
  const rendered = renderMarkdown();
  if (process.env.BANK_WRITE_DOCS === "1") fs.writeFileSync(file, rendered);
  expect(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "(missing)").toBe(rendered);
});

describe.each(engines())("every method as every caller on %s", (engine) => {
  let t: TestApp;
  let f: Fixtures;

  beforeAll(async () => {
    t = await startTestApp(engine);
    const [customer, other, teller, auditor, admin] = (await createUsers(t, [Role.CUSTOMER], [Role.CUSTOMER], [Role.TELLER], [Role.AUDITOR], [Role.ADMIN])) as [TestUser, TestUser, TestUser, TestUser, TestUser];
    const users = { customer, "other customer": other, teller, auditor, admin };
    const accounts = client(t.baseUrl, AccountService, { token: customer.token });
    const open = async (token: string) =>
      (await client(t.baseUrl, AccountService, { token }).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "perm" })).account!.id;
    const opened = await client(t.baseUrl, AccountService, { token: customer.token }).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "perm" });
    const account = opened.account!.id;
    const freezable = await open(customer.token);
    const otherAccount = await open(other.token);
    const deposited = await client(t.baseUrl, TransactionService, { token: teller.token }).deposit({ requestId: rid(), accountId: account, amount: usd(1_000_000), description: "perm" });
    expect((await accounts.getAccount({ accountId: account })).account!.id).toBe(account);
    const signIn = (caller: Caller) => signInUser(t.baseUrl, userOf({ users } as Fixtures, caller));
    const service = await serviceAccount(t, users.admin.token, customer.id);
    f = { users, serviceToken: service.token, serviceAssertion: service.assertion, account, accountNumber: opened.account!.number, freezable, otherAccount, deposit: deposited.transaction!.id, signIn };
  });
  afterAll(() => t.stop());

  test.each(rows.map((r) => [`${r.service.replace("bank.v1.", "")}.${r.method}`, r] as const))("%s", async (_name, { service, method, rule }) => {
    const desc = services[service]!;
    const localName = desc.methods.find((m) => m.name === method)!.localName;
    const answers: Record<string, string> = {};
    const wanted: Record<string, string> = {};
    for (const caller of CALLERS) {
      let token: string | undefined;
      if (caller === "payment service") token = f.serviceToken;
      else if (caller !== "anonymous") token = rule.freshSession ? (await f.signIn(caller)).accessToken : f.users[caller].token;
      const api = client(t.baseUrl, desc, { token }) as unknown as Record<string, (req: object, opts?: object) => Promise<unknown> | AsyncIterable<unknown>>;
      const request = await rule.request(f, caller);
      const call = rule.stream ? firstOfStream(api[localName]!(request, { timeoutMs: 1_000 }) as AsyncIterable<unknown>) : (api[localName]!(request) as Promise<unknown>);
      const code = await call.then(
        () => "OK",
        (e: unknown) => Code[ConnectError.from(e).code],
      );
      const want = expected(rule, caller);
      wanted[caller] = want;
      answers[caller] = classify(code, want, rule.ownObject === true);
    }
    // One assertion per method shows the whole row when something is off.
    expect(answers).toEqual(wanted);
  });
});

/** A service account with ROLE_PAYMENT_SERVICE allowed to act on `ownerId`'s accounts, and a
 * token from its key (IssueServiceToken with an RFC 7523 assertion). */
async function serviceAccount(t: TestApp, adminToken: string, ownerId: string): Promise<{ token: string; assertion(): Promise<string> }> {
  const pair = generateKeyPairSync("ed25519");
  const publicJwk = pair.publicKey.export({ format: "jwk" });
  const created = await client(t.baseUrl, AdminService, { token: adminToken }).createServiceAccount({
    name: "permission table",
    roles: [Role.PAYMENT_SERVICE],
    allowedOwnerIds: [ownerId],
    publicKey: JSON.stringify(publicJwk),
  });
  const sa = created.serviceAccount!;
  // Signed as the example service signs them (examples/service-key.ts).
  const key = { privateJwk: pair.privateKey.export({ format: "jwk" }) as JWK, kid: sa.keys[0]!.keyId };
  const assertion = () => signAssertion(key, sa.id, t.config.jwt.issuer);
  return { token: (await client(t.baseUrl, AuthService).issueServiceToken({ assertion: await assertion() })).accessToken, assertion };
}

/** Reads the first message of a stream (or its end) and cancels the rest; a stream still open
 * at its deadline has passed the access checks. */
async function firstOfStream(stream: AsyncIterable<unknown>): Promise<unknown> {
  try {
    for await (const message of stream) return message;
  } catch (err) {
    if (ConnectError.from(err).code === Code.DeadlineExceeded) return undefined;
    throw err;
  }
  return undefined;
}

/** The answer's class, in the terms of the table: allowed = past the access checks. On the
 * customer's own object, allowed callers must also see it (not NOT_FOUND). */
function classify(code: string, want: Outcome, ownObject: boolean): string {
  const asTable: Record<string, Outcome> = { Unauthenticated: "UNAUTHENTICATED", PermissionDenied: "PERMISSION_DENIED", NotFound: "NOT_FOUND" };
  if (code === "Unauthenticated" || code === "PermissionDenied") return asTable[code]!;
  if (want === "NOT_FOUND") return code === "NotFound" ? "NOT_FOUND" : `${code} (expected NOT_FOUND)`;
  if (ownObject && code === "NotFound") return "NOT_FOUND (the object exists and is visible to this caller)";
  return "allowed";
}

/** The table's lines: a header, then a row per method. */
function renderTable(): string[] {
  const cell: Record<Outcome, string> = { allowed: "✅", NOT_FOUND: "NOT_FOUND", PERMISSION_DENIED: "PERMISSION_DENIED", UNAUTHENTICATED: "UNAUTHENTICATED" };
  return [
    `| method | contract | ${CALLERS.join(" | ")} |`,
    `|---|---|${CALLERS.map(() => "---").join("|")}|`,
    ...rows.map(({ service, method, rule }) => `| ${service.replace("bank.v1.", "")}.${method} | ${rule.contract} | ${CALLERS.map((c) => cell[expected(rule, c)]).join(" | ")} |`),
  ];
}

function renderMarkdown(): string {
  const lines = [
    "# Who may call what",
    "",
    "Generated from the table in test/authz/permission-table.test.ts, which calls every method as",
    "each kind of caller against a real server and checks these answers (regenerate with",
    "`BANK_WRITE_DOCS=1 npm test -- test/authz/permission-table.test.ts`). Roles come from each",
    "method's `bank.v1.access` option in proto/; the test fails if the two disagree.",
    "",
    "- ✅ allowed: the call passes the access checks (it may still fail on its input or state).",
    "- UNAUTHENTICATED: no token (or an invalid, expired or revoked one).",
    "- PERMISSION_DENIED: the caller's roles are not among the method's roles (audited).",
    "- NOT_FOUND: the customer may call the method, but not on another customer's account or",
    "  transaction; the answer does not reveal that it exists.",
    "",
    "\"customer\" calls on their own account; \"other customer\" calls on that same account;",
    "\"payment service\" is a service account's token (ROLE_PAYMENT_SERVICE) whose allow-list holds the",
    "customer: it acts on the customer's accounts, never as a person (docs/clients.md).",
    "AUDITOR is read-only everywhere. A user may hold several roles: any one listed suffices.",
    "",
    ...renderTable(),
    "",
  ];
  return lines.join("\n");
}
