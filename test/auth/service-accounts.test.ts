// Goal (issue 27): an internal service calls bankd as a service account, not as a person. An
// admin registers its Ed25519 public key; the service signs an RFC 7523 assertion with its
// private key and exchanges it for a short-lived access token (IssueServiceToken), then makes
// transfers over the gRPC port within its allow-list. Every faulty assertion is refused
// UNAUTHENTICATED with its own reason and audited; keys rotate (two active at once); revoking a
// key or disabling the account ends its tokens, in another process within the session recheck
// interval; a service token cannot act as a person. Bad admin input writes nothing.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { calculateJwkThumbprint, exportJWK, importJWK, SignJWT, type JWK } from "jose";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { limits } from "../../src/limits";
import { createAdminModule, createAuthModule, createLedgerModule, type AuthModule } from "../../src/modules";
import { client, startTestApp, type TestApp } from "../support/app";
import { engines } from "../support/db";
import { createTestUser, type TestUser } from "../support/users";
import { auditRows, expectError, startSecondApp } from "./support";
import { testClock } from "../support/clock";

interface ServiceKey {
  privateJwk: JWK;
  publicJwk: JWK;
  publicPem: string;
  kid: string;
}

async function newKey(): Promise<ServiceKey> {
  const pair = generateKeyPairSync("ed25519");
  const publicJwk = pair.publicKey.export({ format: "jwk" }) as JWK;
  return {
    privateJwk: pair.privateKey.export({ format: "jwk" }) as JWK,
    publicJwk,
    publicPem: pair.publicKey.export({ format: "pem", type: "spki" }).toString(),
    kid: await calculateJwkThumbprint({ kty: "OKP", crv: "Ed25519", x: publicJwk.x! }, "sha256"),
  };
}

/** An assertion as RFC 7523 shapes it; `over` changes one thing to make a faulty one. */
async function assertion(
  key: ServiceKey,
  id: string,
  audience: string,
  over: { expSeconds?: number; aud?: string; kid?: string; jti?: string; sub?: string; signWith?: ServiceKey; alg?: string } = {},
): Promise<string> {
  // The service's clock: the host's, as the in-process apps read it.
  const now = Math.floor(testClock.now() / 1000);
  const signer = await importJWK((over.signWith ?? key).privateJwk, "EdDSA");
  return new SignJWT({})
    .setProtectedHeader({ alg: over.alg ?? "EdDSA", kid: over.kid ?? key.kid })
    .setIssuer(id)
    .setSubject(over.sub ?? id)
    .setAudience(over.aud ?? audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (over.expSeconds ?? 60))
    .setJti(over.jti ?? randomUUID())
    .sign(signer);
}

describe.each(engines())("service accounts (%s)", (engine) => {
  let t: TestApp;
  let auth: AuthModule;
  let admin: TestUser;
  let auditor: TestUser;
  let teller: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let aliceAccount: string;
  let bobAccount: { id: string; number: string };
  let issuer: string;
  let grpcBase: string;

  beforeAll(async () => {
    t = await startTestApp(engine, {}, {
      modules: async (ctx) => {
        auth = await createAuthModule(ctx);
        return [auth, createAdminModule(ctx, { sessions: auth.sessions }), await createLedgerModule(ctx)];
      },
    });
    issuer = t.config.jwt.issuer;
    grpcBase = `http://${t.app.grpcPort!.target}`;
    admin = await createTestUser(t, [Role.ADMIN]);
    auditor = await createTestUser(t, [Role.AUDITOR]);
    teller = await createTestUser(t, [Role.TELLER]);
    alice = await createTestUser(t, [Role.CUSTOMER]);
    bob = await createTestUser(t, [Role.CUSTOMER]);
    const open = async (u: TestUser) => (await client(t.baseUrl, AccountService, { token: u.token }).createAccount({ requestId: randomUUID(), currency: "USD", type: AccountType.CHECKING })).account!;
    aliceAccount = (await open(alice)).id;
    const b = await open(bob);
    bobAccount = { id: b.id, number: b.number };
    await client(t.baseUrl, TransactionService, { token: teller.token }).deposit({ requestId: randomUUID(), accountId: aliceAccount, amount: { currency: "USD", minorUnits: 100_000n }, description: "funding" });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const adminApi = () => client(t.baseUrl, AdminService, { token: admin.token });
  const authApi = (token?: string) => client(t.baseUrl, AuthService, { token });
  const serviceCount = async () => (await adminApi().listServiceAccounts({ pageSize: 500 })).serviceAccounts.length;

  async function createService(key: ServiceKey, over: { roles?: Role[]; allowedOwnerIds?: string[]; name?: string } = {}) {
    const res = await adminApi().createServiceAccount({
      name: over.name ?? "payments",
      roles: over.roles ?? [Role.PAYMENT_SERVICE],
      allowedOwnerIds: over.allowedOwnerIds ?? [alice.id],
      publicKey: JSON.stringify(key.publicJwk),
    });
    return res.serviceAccount!;
  }

  async function tokenFor(key: ServiceKey, id: string): Promise<string> {
    return (await authApi().issueServiceToken({ assertion: await assertion(key, id, issuer) })).accessToken;
  }

  test("a service account makes a transfer over the gRPC port with a token from its own key, audited under its own id", async () => {
    const key = await newKey();
    const sa = await createService(key);
    expect(sa.keys.map((k) => k.keyId)).toEqual([key.kid]);
    expect(sa.roles).toEqual([Role.PAYMENT_SERVICE]);
    const issued = await authApi().issueServiceToken({ assertion: await assertion(key, sa.id, issuer) });
    expect(issued.serviceAccountId).toBe(sa.id);
    const lifetimeMs = Number(issued.expireTime!.seconds) * 1000 - t.clock.now();
    expect(lifetimeMs).toBeLessThanOrEqual(limits.serviceTokenTtlSeconds * 1000);
    const introspected = await authApi().introspectToken({ token: issued.accessToken });
    expect(introspected).toMatchObject({ active: true, userId: sa.id, serviceAccount: true, roles: [Role.PAYMENT_SERVICE] });

    const overGrpc = client(grpcBase, TransactionService, { protocol: "grpc", token: issued.accessToken });
    const requestId = randomUUID();
    const res = await overGrpc.transfer({ requestId, fromAccountId: aliceAccount, target: { case: "toAccountNumber", value: bobAccount.number }, amount: { currency: "USD", minorUnits: 1_250n }, description: "invoice 7" });
    expect(res.transaction?.initiatedBy).toBe(sa.id);
    const balance = await client(grpcBase, AccountService, { protocol: "grpc", token: issued.accessToken }).getBalance({ accountId: aliceAccount });
    expect(balance.ledgerBalance?.minorUnits).toBeLessThan(100_000n);
    // The transaction as the service sees it: its own side only, like the account's owner.
    const seen = (await overGrpc.getTransaction({ transactionId: res.transaction!.id })).transaction!;
    expect(seen.fromAccountId).toBe(aliceAccount);
    expect(seen.toAccountId).toBe("");
    const events = await t.app.db.read((tx) => tx.all<{ actor_id: string }>(`SELECT actor_id FROM audit_events WHERE target_id = ? OR details LIKE ?`, [res.transaction!.id, `%${res.transaction!.id}%`]));
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.actor_id))).toEqual(new Set([sa.id]));
  });

  test("the allow-list bounds it: another owner's account is NOT_FOUND; methods outside its role are PERMISSION_DENIED; it is not a person", async () => {
    const key = await newKey();
    const sa = await createService(key);
    const token = await tokenFor(key, sa.id);
    const money = client(grpcBase, TransactionService, { protocol: "grpc", token });
    await expectError(
      money.transfer({ requestId: randomUUID(), fromAccountId: bobAccount.id, target: { case: "toAccountId", value: aliceAccount }, amount: { currency: "USD", minorUnits: 1n }, description: "" }),
      Code.NotFound,
      "ACCOUNT_NOT_FOUND",
    );
    await expectError(client(t.baseUrl, AccountService, { token }).getBalance({ accountId: bobAccount.id }), Code.NotFound, "ACCOUNT_NOT_FOUND");
    await expectError(money.deposit({ requestId: randomUUID(), accountId: aliceAccount, amount: { currency: "USD", minorUnits: 1n }, description: "" }), Code.PermissionDenied, "ROLE_NOT_ALLOWED");
    await expectError(adminApi().listUsers({}).then(() => client(t.baseUrl, AdminService, { token }).listUsers({})), Code.PermissionDenied, "ROLE_NOT_ALLOWED");
    await expectError(authApi(token).getCurrentUser({}), Code.PermissionDenied, "NOT_A_USER");
    // A teller-role service is still no person: the sessions and password methods refuse it.
    const tellerKey = await newKey();
    const tellerService = await createService(tellerKey, { roles: [Role.TELLER], allowedOwnerIds: [] });
    const tellerToken = await tokenFor(tellerKey, tellerService.id);
    await expectError(authApi(tellerToken).changePassword({ currentPassword: "x".repeat(12), newPassword: "y".repeat(16) }), Code.PermissionDenied, "NOT_A_USER");
    await expectError(authApi(tellerToken).listSessions({}), Code.PermissionDenied, "NOT_A_USER");
  });

  test("every faulty assertion is UNAUTHENTICATED with its reason, audited, and issues nothing", async () => {
    const key = await newKey();
    const other = await newKey();
    const sa = await createService(key);
    const sessionsBefore = await t.app.db.read((tx) => tx.all(`SELECT id FROM service_sessions WHERE service_account_id = ?`, [sa.id]));
    const cases: [string, Promise<string>][] = [
      ["ASSERTION_EXPIRED", assertion(key, sa.id, issuer, { expSeconds: -(limits.jwtClockToleranceSeconds + 60) })],
      ["ASSERTION_AUDIENCE_INVALID", assertion(key, sa.id, issuer, { aud: "https://elsewhere.example" })],
      ["ASSERTION_KEY_UNKNOWN", assertion(other, sa.id, issuer)],
      ["ASSERTION_SIGNATURE_INVALID", assertion(key, sa.id, issuer, { signWith: other })],
      ["ASSERTION_LIFETIME_TOO_LONG", assertion(key, sa.id, issuer, { expSeconds: limits.serviceAssertionLifetimeSecondsMax + limits.jwtClockToleranceSeconds + 60 })],
      ["ASSERTION_CLAIMS_INVALID", assertion(key, sa.id, issuer, { sub: randomUUID() })],
      ["ASSERTION_MALFORMED", Promise.resolve("not.a.jwt")],
      ["ASSERTION_MALFORMED", Promise.resolve("x".repeat(limits.serviceAssertionCharsMax + 1))],
    ];
    for (const [reason, made] of cases) {
      const err = await expectError(authApi().issueServiceToken({ assertion: await made }), Code.Unauthenticated, reason);
      expect(err.rawMessage).not.toMatch(/jose|stack|\.ts:|JWSSignature|JWTClaim/i);
    }
    // Replay: the same assertion twice; the second is refused, whichever process it reaches.
    const once = await assertion(key, sa.id, issuer);
    await authApi().issueServiceToken({ assertion: once });
    await expectError(authApi().issueServiceToken({ assertion: once }), Code.Unauthenticated, "ASSERTION_REPLAYED");
    const second = await startSecondApp(t);
    try {
      await expectError(client(second.baseUrl, AuthService).issueServiceToken({ assertion: once }), Code.Unauthenticated, "ASSERTION_REPLAYED");
    } finally {
      await second.app.shutdown();
    }
    const sessionsAfter = await t.app.db.read((tx) => tx.all(`SELECT id FROM service_sessions WHERE service_account_id = ?`, [sa.id]));
    expect(sessionsAfter.length).toBe(sessionsBefore.length + 1);
    await auth.refusals.flush();
    const denied = (await auditRows(t, "auth.service_token")).filter((r) => r.outcome === "DENIED" && r.target_id === sa.id);
    const reasons = new Set(denied.map((r) => (JSON.parse(r.details) as { reason: string }).reason));
    for (const r of ["ASSERTION_EXPIRED", "ASSERTION_AUDIENCE_INVALID", "ASSERTION_KEY_UNKNOWN", "ASSERTION_SIGNATURE_INVALID", "ASSERTION_LIFETIME_TOO_LONG", "ASSERTION_REPLAYED"]) {
      expect([r, reasons.has(r)]).toEqual([r, true]);
    }
  });

  test("key rotation: two keys at once, a third refused; a revoked key's tokens stop and its assertions are refused", async () => {
    const first = await newKey();
    const second = await newKey();
    const sa = await createService(first);
    const oldToken = await tokenFor(first, sa.id);
    const withTwo = (await adminApi().addServiceAccountKey({ serviceAccountId: sa.id, publicKey: second.publicPem })).serviceAccount!;
    expect(withTwo.keys.map((k) => k.keyId)).toEqual([first.kid, second.kid]);
    await expectError(adminApi().addServiceAccountKey({ serviceAccountId: sa.id, publicKey: JSON.stringify((await newKey()).publicJwk) }), Code.FailedPrecondition, "ACTIVE_KEYS_MAX");
    const newToken = await tokenFor(second, sa.id);
    const revoked = (await adminApi().revokeServiceAccountKey({ serviceAccountId: sa.id, keyId: first.kid })).serviceAccount!;
    expect(revoked.keys.find((k) => k.keyId === first.kid)?.revokeTime).toBeDefined();
    await expectError(client(t.baseUrl, AccountService, { token: oldToken }).getBalance({ accountId: aliceAccount }), Code.Unauthenticated, "SESSION_ENDED");
    expect((await client(t.baseUrl, AccountService, { token: newToken }).getBalance({ accountId: aliceAccount })).ledgerBalance?.currency).toBe("USD");
    await expectError(authApi().issueServiceToken({ assertion: await assertion(first, sa.id, issuer) }), Code.Unauthenticated, "ASSERTION_KEY_REVOKED");
    // A revoked key is not re-added, and keys are not shared between accounts.
    await expectError(adminApi().addServiceAccountKey({ serviceAccountId: sa.id, publicKey: JSON.stringify(first.publicJwk) }), Code.AlreadyExists, "KEY_IN_USE");
  });

  test("disabling the account ends its tokens in another process within the session recheck interval, and it gets no new ones", async () => {
    const key = await newKey();
    const sa = await createService(key);
    const token = await tokenFor(key, sa.id);
    const other = await startSecondApp(t);
    try {
      // The other process (auth alone) checks the token as any method would: IntrospectToken
      // authenticates it, with its cached session re-checked every limits.sessionRecheckMs.
      const elsewhere = client(other.baseUrl, AuthService);
      expect((await elsewhere.introspectToken({ token })).active).toBe(true);
      const disabled = (await adminApi().disableServiceAccount({ serviceAccountId: sa.id, reason: "decommissioned" })).serviceAccount!;
      expect(disabled).toMatchObject({ disabled: true, disableReason: "decommissioned" });
      await expectError(client(t.baseUrl, AccountService, { token }).getBalance({ accountId: aliceAccount }), Code.Unauthenticated, "SESSION_ENDED");
      // sessionRecheckMs on (the clock both processes read, moved on instead of waited for),
      // the other process has checked the session again and refuses the token.
      t.clock.advance(limits.sessionRecheckMs);
      expect((await elsewhere.introspectToken({ token })).active).toBe(false);
    } finally {
      await other.app.shutdown();
    }
    await expectError(authApi().issueServiceToken({ assertion: await assertion(key, sa.id, issuer) }), Code.Unauthenticated, "SERVICE_ACCOUNT_DISABLED");
    const events = await auditRows(t, "admin.service_account_disable");
    expect(events.some((e) => e.target_id === sa.id && e.actor_id === admin.id && e.outcome === "SUCCESS")).toBe(true);
  });

  test("bad admin input is INVALID_ARGUMENT with its reason, and writes nothing", async () => {
    const key = await newKey();
    const before = await serviceCount();
    const pair = generateKeyPairSync("ed25519");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const bad: [Parameters<ReturnType<typeof adminApi>["createServiceAccount"]>[0], string][] = [
      [{ name: "x", roles: [Role.ADMIN], publicKey: JSON.stringify(key.publicJwk) }, "SERVICE_ACCOUNT_ROLE_NOT_ALLOWED"],
      [{ name: "x", roles: [Role.CUSTOMER], publicKey: JSON.stringify(key.publicJwk) }, "SERVICE_ACCOUNT_ROLE_NOT_ALLOWED"],
      [{ name: "x", roles: [], publicKey: JSON.stringify(key.publicJwk) }, "ROLES_REQUIRED"],
      [{ name: "", roles: [Role.PAYMENT_SERVICE], publicKey: JSON.stringify(key.publicJwk) }, "INVALID_NAME"],
      [{ name: "x", roles: [Role.PAYMENT_SERVICE], publicKey: pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString() }, "PRIVATE_KEY_SENT"],
      [{ name: "x", roles: [Role.PAYMENT_SERVICE], publicKey: JSON.stringify(key.privateJwk) }, "PRIVATE_KEY_SENT"],
      [{ name: "x", roles: [Role.PAYMENT_SERVICE], publicKey: rsa.publicKey.export({ format: "pem", type: "spki" }).toString() }, "PUBLIC_KEY_NOT_ED25519"],
      [{ name: "x", roles: [Role.PAYMENT_SERVICE], publicKey: "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----" }, "PUBLIC_KEY_INVALID"],
      [{ name: "x", roles: [Role.PAYMENT_SERVICE], publicKey: "" }, "PUBLIC_KEY_REQUIRED"],
      [{ name: "x", roles: [Role.PAYMENT_SERVICE], allowedOwnerIds: [randomUUID()], publicKey: JSON.stringify(key.publicJwk) }, "UNKNOWN_OWNER_ID"],
      [{ name: "x", roles: [Role.PAYMENT_SERVICE], allowedAccountIds: ["not-a-uuid"], publicKey: JSON.stringify(key.publicJwk) }, "INVALID_ID"],
      [{ name: "x", roles: [Role.TELLER], allowedOwnerIds: [alice.id], publicKey: JSON.stringify(key.publicJwk) }, "ALLOW_LIST_NEEDS_PAYMENT_SERVICE"],
      [{ name: "x", roles: [Role.PAYMENT_SERVICE], allowedOwnerIds: Array.from({ length: limits.serviceAccountAllowListMax + 1 }, () => randomUUID()), publicKey: JSON.stringify(key.publicJwk) }, "ALLOW_LIST_TOO_LONG"],
    ];
    for (const [req, reason] of bad) await expectError(adminApi().createServiceAccount(req), Code.InvalidArgument, reason);
    expect(await serviceCount()).toBe(before);
    await createService(key);
    await expectError(createService(key, { name: "again" }), Code.AlreadyExists, "KEY_IN_USE");
    expect(await serviceCount()).toBe(before + 1);
    await expectError(adminApi().disableServiceAccount({ serviceAccountId: randomUUID(), reason: "x" }), Code.NotFound, "SERVICE_ACCOUNT_NOT_FOUND");
    await expectError(adminApi().disableServiceAccount({ serviceAccountId: randomUUID(), reason: " " }), Code.InvalidArgument, "REASON_REQUIRED");
  });

  test("admins manage service accounts; auditors list them; tellers and customers cannot", async () => {
    const listed = await client(t.baseUrl, AdminService, { token: auditor.token }).listServiceAccounts({ pageSize: 2 });
    expect(listed.serviceAccounts.length).toBe(2);
    expect(listed.nextPageToken).not.toBe("");
    const next = await client(t.baseUrl, AdminService, { token: auditor.token }).listServiceAccounts({ pageSize: 2, pageToken: listed.nextPageToken });
    expect(next.serviceAccounts.map((s) => s.id)).not.toContain(listed.serviceAccounts[0]!.id);
    const key = await newKey();
    for (const who of [teller, alice, auditor]) {
      await expectError(client(t.baseUrl, AdminService, { token: who.token }).createServiceAccount({ name: "x", roles: [Role.PAYMENT_SERVICE], publicKey: JSON.stringify(key.publicJwk) }), Code.PermissionDenied, "ROLE_NOT_ALLOWED");
    }
    await expectError(client(t.baseUrl, AdminService, { token: teller.token }).listServiceAccounts({}), Code.PermissionDenied, "ROLE_NOT_ALLOWED");
  });
});
