// Goal: registration and password sign-in follow the contract. Register normalizes and checks
// the email and the password policy (11/12/128/129 characters, long Unicode, common passwords,
// ones built from the user's own email or name); passwords are stored as argon2id with the
// configured costs and rehashed at sign-in when the costs change; an unknown email and a wrong
// password get the same answer, and so does a disabled user with the right password; failures
// are throttled per account and address (exponential back-off with retry_after_ms), per account
// from all addresses (slower, at most 30 s, and only for addresses that failed), and per client
// address, so that an attacker cannot lock the owner out from elsewhere; attempts are reserved
// before argon2, so parallel guesses get no more checks than allowed; sign-ins, registrations
// and throttled attempts (aggregated) are audited.
import { randomBytes } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { Role } from "../../gen/bank/v1/access_pb";
import { limits } from "../../src/limits";
import { cancelReservation, reserveAttempt, throttleKeys } from "../../src/auth/throttle";
import { engines } from "../support/db";
import { client } from "../support/app";
import { createTestUser, strongPassword, uniqueEmail } from "../support/users";
import { LEAKY, auditRows, authApi, expectError, metadataOf, reasonOf, startAuthApp, startSecondApp, type AuthTestApp } from "./support";

async function storedHash(t: AuthTestApp, email: string): Promise<string> {
  const row = await t.app.db.read((tx) => tx.one<{ password_hash: string }>(`SELECT password_hash FROM users WHERE email = ?`, [email]));
  return row!.password_hash;
}

/** A random password of exactly `chars` characters that zxcvbn rates strong. */
function strongOfLength(chars: number): string {
  return (strongPassword() + randomBytes(96).toString("base64url")).slice(0, chars);
}

describe.each(engines())("registration and sign-in on %s", (engine) => {
  let t: AuthTestApp;
  beforeAll(async () => {
    t = await startAuthApp(engine);
  });
  afterAll(async () => t.stop());

  test("Register makes a CUSTOMER with a normalized email, audited; the user can sign in", async () => {
    const local = `Mixed.Case-${randomBytes(4).toString("hex")}`;
    const password = strongPassword();
    const res = await authApi(t).register({ email: `  ${local}@Example.TEST `, password, fullName: "  Grace Hopper " });
    expect(res.user).toMatchObject({ email: `${local.toLowerCase()}@example.test`, fullName: "Grace Hopper", roles: [Role.CUSTOMER], disabled: false });
    expect(res.user?.createTime).toBeDefined();
    const login = await authApi(t).login({ email: `${local.toUpperCase()}@EXAMPLE.test`, password });
    expect(login.user?.id).toBe(res.user?.id);
    expect(login.accessToken).not.toBe("");
    expect(login.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const registered = (await auditRows(t, "auth.register")).find((r) => r.target_id === res.user?.id);
    expect(registered).toMatchObject({ actor_id: res.user?.id, outcome: "SUCCESS" });
    expect(registered!.details).not.toContain(password);
    const signedIn = (await auditRows(t, "auth.login")).filter((r) => r.target_id === res.user?.id);
    expect(signedIn).toEqual([expect.objectContaining({ actor_id: res.user?.id, outcome: "SUCCESS" })]);
  });

  test("a registered email is ALREADY_EXISTS, whatever its case", async () => {
    const email = uniqueEmail();
    await authApi(t).register({ email, password: strongPassword(), fullName: "First" });
    await expectError(authApi(t).register({ email: email.toUpperCase(), password: strongPassword(), fullName: "Second" }), Code.AlreadyExists, "EMAIL_TAKEN");
  });

  test.each([["", "empty"], ["no-at-sign", "no @"], ["a@b", "no dot"], ["a b@example.test", "space"], ["a@exa_mple.test", "underscore in domain"], [`${"a".repeat(250)}@example.test`, "too long"]])(
    "email %j (%s) is INVALID_ARGUMENT INVALID_EMAIL",
    async (email) => {
      await expectError(authApi(t).register({ email, password: strongPassword(), fullName: "X Y" }), Code.InvalidArgument, "INVALID_EMAIL");
    },
  );

  test("an empty or control-character name is INVALID_ARGUMENT", async () => {
    await expectError(authApi(t).register({ email: uniqueEmail(), password: strongPassword(), fullName: "  " }), Code.InvalidArgument, "INVALID_FULL_NAME");
    // A control character is refused for every request string, before the handler (issue 26).
    await expectError(authApi(t).register({ email: uniqueEmail(), password: strongPassword(), fullName: "a\u0000b" }), Code.InvalidArgument, "FIELD_INVALID");
  });

  test("password length: 11 refused, 12 and 128 accepted, 129 refused (never truncated)", async () => {
    await expectError(authApi(t).register({ email: uniqueEmail(), password: strongOfLength(11), fullName: "Len Test" }), Code.InvalidArgument, "PASSWORD_TOO_SHORT");
    await expectError(authApi(t).register({ email: uniqueEmail(), password: strongOfLength(129), fullName: "Len Test" }), Code.InvalidArgument, "PASSWORD_TOO_LONG");
    for (const chars of [12, 128]) {
      const email = uniqueEmail();
      const password = strongOfLength(chars);
      await authApi(t).register({ email, password, fullName: "Len Test" });
      await authApi(t).login({ email, password });
      // Not truncated: the password minus its last character is wrong.
      await expectError(authApi(t).login({ email, password: password.slice(0, -1) }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    }
  });

  test("a long Unicode password works, in either normalization form (NFKC)", async () => {
    const email = uniqueEmail();
    const password = "Ωμέγα-δέλτα-中文字符-🎉🦄-Äpfel-ñandú-Łódź-".repeat(2) + randomBytes(3).toString("hex");
    expect([...password].length).toBeLessThanOrEqual(128);
    await authApi(t).register({ email, password, fullName: "Unicode User" });
    await authApi(t).login({ email, password: password.normalize("NFD") });
    await authApi(t).login({ email, password: password.normalize("NFC") });
  });

  test.each(["password1234", "Password123!", "qwertyuiop123", "aaaaaaaaaaaaaaaa", "iloveyou2024!"])("a common password %j is PASSWORD_TOO_WEAK", async (password) => {
    const err = await expectError(authApi(t).register({ email: uniqueEmail(), password, fullName: "Weak Test" }), Code.InvalidArgument, "PASSWORD_TOO_WEAK");
    expect(err.rawMessage).not.toContain(password);
  });

  test("passwords built from the user's own email or name are refused", async () => {
    const email = `marguerite.vandersloot.${randomBytes(2).toString("hex")}@example.test`;
    for (const password of ["MargueriteVandersloot", "vandersloot.marguerite", "Vandersloot2024!", email]) {
      await expectError(authApi(t).register({ email, password, fullName: "Marguerite Vandersloot" }), Code.InvalidArgument, "PASSWORD_TOO_WEAK");
    }
  });

  test("unknown email and wrong password: same code, reason and message; both audited as FAILED", async () => {
    const user = await createTestUser(t);
    const unknown = await expectError(authApi(t).login({ email: uniqueEmail("nobody"), password: user.password }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    const wrong = await expectError(authApi(t).login({ email: user.email, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    expect(wrong.rawMessage).toBe(unknown.rawMessage);
    expect(wrong.rawMessage).not.toMatch(LEAKY);
    const failed = (await auditRows(t, "auth.login")).filter((r) => r.outcome === "FAILED");
    expect(failed).toEqual(expect.arrayContaining([
      expect.objectContaining({ actor_id: "anonymous", target_id: "" }),
      expect.objectContaining({ actor_id: user.id, target_id: user.id }),
    ]));
    for (const row of failed) expect(row.details).not.toContain(user.password);
  });

  test("an email that can never have been registered is INVALID_CREDENTIALS like any unknown one; one with a control character is malformed, whoever it names", async () => {
    const user = await createTestUser(t);
    await expectError(authApi(t).login({ email: "no-at-sign", password: user.password }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    // Refused by its spelling alone (every request string, issue 26): it tells nothing about users.
    for (const email of ["a\u0000b@example.com", "\u0000", `${user.email}\u0007`]) {
      await expectError(authApi(t).login({ email, password: user.password }), Code.InvalidArgument, "FIELD_INVALID");
    }
  });

  test("a disabled user with the right password gets exactly the answer of wrong credentials (no oracle); the audit tells the truth", async () => {
    const user = await createTestUser(t);
    await t.app.db.transaction((tx) => tx.run(`UPDATE users SET disabled = 1 WHERE id = ?`, [user.id]));
    const right = await expectError(authApi(t).login({ email: user.email, password: user.password }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    const wrong = await expectError(authApi(t).login({ email: user.email, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    expect(right.rawMessage).toBe(wrong.rawMessage);
    expect(metadataOf(right)).toEqual(metadataOf(wrong));
    const failed = (await auditRows(t, "auth.login")).filter((r) => r.target_id === user.id && r.outcome === "FAILED");
    expect(failed.map((r) => JSON.parse(r.details).reason)).toEqual(["user_disabled", "wrong_password"]);
  });

  test("the stored hash is argon2id with the configured costs (here the fast test costs)", async () => {
    const user = await createTestUser(t);
    expect(await storedHash(t, user.email)).toMatch(new RegExp(`^\\$argon2id\\$v=19\\$m=${t.config.argon2.memoryCostKib},t=${t.config.argon2.timeCost},p=${t.config.argon2.parallelism}\\$`));
  });

  test("a sign-in with changed costs rehashes the stored password; both old and new processes still verify it", async () => {
    const user = await createTestUser(t);
    const second = await startSecondApp(t, { BANK_ARGON2_MEMORY_KIB: "8192", BANK_ARGON2_TIME_COST: "2" });
    try {
      await client(second.baseUrl, AuthService).login({ email: user.email, password: user.password });
      expect(await storedHash(t, user.email)).toMatch(/^\$argon2id\$v=19\$m=8192,t=2,p=1\$/);
      await authApi(t).login({ email: user.email, password: user.password });
    } finally {
      await second.app.shutdown();
    }
  });
});

describe.each(engines())("default argon2 costs on %s", (engine) => {
  let t: AuthTestApp;
  beforeAll(async () => {
    // The production defaults, set explicitly (the test app otherwise uses cheaper costs).
    t = await startAuthApp(engine, { BANK_ARGON2_MEMORY_KIB: "19456", BANK_ARGON2_TIME_COST: "2", BANK_ARGON2_PARALLELISM: "1" });
  });
  afterAll(async () => t.stop());

  test("the stored hash starts with $argon2id$v=19$m=19456,t=2,p=1", async () => {
    const email = uniqueEmail();
    await authApi(t).register({ email, password: strongPassword(), fullName: "Default Costs" });
    expect(await storedHash(t, email)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  });
});

describe.each(engines())("throttling on %s", (engine) => {
  let t: AuthTestApp;
  beforeAll(async () => {
    // Trusting X-Forwarded-For lets each test sign in from its own client address.
    t = await startAuthApp(engine, { BANK_TRUST_PROXY: "true" });
  });
  afterAll(async () => t.stop());

  function from(address: string) {
    const forwarded: Interceptor = (next) => async (req) => {
      req.header.set("x-forwarded-for", address);
      return next(req);
    };
    return client(t.baseUrl, AuthService, { interceptors: [forwarded] });
  }

  /** Lets the back-off of every account and address pair pass, as if the clock had moved on. */
  const timePasses = () => t.app.db.transaction((tx) => tx.run(`UPDATE login_throttle SET blocked_until = 0 WHERE throttle_key LIKE 'pair:%'`));

  test("per account: free failures, then RESOURCE_EXHAUSTED with a doubling retry_after_ms; a success resets", async () => {
    const user = await createTestUser(t);
    const api = from("198.51.100.1");
    for (let i = 0; i < limits.loginFailuresFree; i++) {
      await expectError(api.login({ email: user.email, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    }
    // Blocked now, even with the right password.
    const first = await expectError(api.login({ email: user.email, password: user.password }), Code.ResourceExhausted, "LOGIN_THROTTLED");
    const firstDelay = Number(metadataOf(first).retry_after_ms);
    expect(firstDelay).toBeGreaterThan(0);
    expect(firstDelay).toBeLessThanOrEqual(limits.loginBackoffMsBase);
    await timePasses();
    await expectError(api.login({ email: user.email, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    const second = await expectError(api.login({ email: user.email, password: user.password }), Code.ResourceExhausted, "LOGIN_THROTTLED");
    expect(Number(metadataOf(second).retry_after_ms)).toBeGreaterThan(limits.loginBackoffMsBase);
    expect(Number(metadataOf(second).retry_after_ms)).toBeLessThanOrEqual(2 * limits.loginBackoffMsBase);
    await timePasses();
    await api.login({ email: user.email, password: user.password });
    // The count restarted: the next failure is a free one again.
    await expectError(api.login({ email: user.email, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    await api.login({ email: user.email, password: user.password });
  });

  test("an unknown email is throttled exactly like a known one (no enumeration through throttling)", async () => {
    const api = from("198.51.100.2");
    const email = uniqueEmail("ghost");
    for (let i = 0; i < limits.loginFailuresFree; i++) {
      await expectError(api.login({ email, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    }
    await expectError(api.login({ email, password: strongPassword() }), Code.ResourceExhausted, "LOGIN_THROTTLED");
  });

  test("per client address: after the limit of failures, that address is refused; others are not", async () => {
    const api = from("203.0.113.9");
    const user = await createTestUser(t);
    // Different emails, so that no account back-off is involved; a few at a time.
    for (let i = 0; i < limits.loginFailuresPerAddressMax; i += 4) {
      await Promise.all([0, 1, 2, 3].map(() => expectError(api.login({ email: uniqueEmail("spray"), password: "wrong-password-xyz" }), Code.Unauthenticated)));
    }
    const blocked = await expectError(api.login({ email: user.email, password: user.password }), Code.ResourceExhausted, "LOGIN_THROTTLED");
    expect(Number(metadataOf(blocked).retry_after_ms)).toBeGreaterThan(0);
    expect(Number(metadataOf(blocked).retry_after_ms)).toBeLessThanOrEqual(limits.loginAddressWindowMs);
    await from("203.0.113.10").login({ email: user.email, password: user.password });
  });

  test("an attacker's failures from one address do not lock the owner out from another (W6)", async () => {
    const user = await createTestUser(t);
    const attacker = from("198.51.100.66");
    for (let i = 0; i < limits.loginFailuresFree; i++) {
      await expectError(attacker.login({ email: user.email, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    }
    await expectError(attacker.login({ email: user.email, password: user.password }), Code.ResourceExhausted, "LOGIN_THROTTLED");
    // The owner, from an address with no failures: straight in, no wait at all.
    expect((await from("192.0.2.10").login({ email: user.email, password: user.password })).user?.id).toBe(user.id);
  });

  test("failures spread over many addresses slow the account for addresses that failed, never more than 30 s; the owner from a clean address gets in at once (W6)", async () => {
    const user = await createTestUser(t);
    // One guess from each of many fresh addresses: past the account-wide free failures.
    const guesses = limits.loginAccountFailuresFree + 5;
    for (let i = 0; i < guesses; i++) {
      await expectError(from(`198.18.${i}.1`).login({ email: user.email, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    }
    // An address that failed for this account waits, but never locked out: at most 30 s.
    const slowed = await expectError(from("198.18.0.1").login({ email: user.email, password: user.password }), Code.ResourceExhausted, "LOGIN_THROTTLED");
    const waitMs = Number(metadataOf(slowed).retry_after_ms);
    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(30_000);
    // The owner from an address with no recent failures is not made to wait.
    expect((await from("192.0.2.11").login({ email: user.email, password: user.password })).user?.id).toBe(user.id);
  });

  test("20 parallel wrong passwords from one address get exactly the free failures' argon2 checks; the rest are refused unchecked (W7)", async () => {
    const user = await createTestUser(t);
    const hash = await storedHash(t, user.email);
    const verify = jest.spyOn(t.auth.hasher, "verify");
    try {
      const api = from("198.51.100.77");
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => api.login({ email: user.email, password: strongPassword() })));
      const reasons = results.map((r) => (r.status === "rejected" ? reasonOf(ConnectError.from(r.reason)) : "SIGNED_IN"));
      expect(verify.mock.calls.filter(([stored]) => stored === hash)).toHaveLength(limits.loginFailuresFree);
      expect(reasons.filter((r) => r === "INVALID_CREDENTIALS")).toHaveLength(limits.loginFailuresFree);
      // The rest are refused unchecked: throttled, or past the queue of attempts waiting their turn.
      expect(reasons.filter((r) => r === "LOGIN_THROTTLED" || r === "AUTH_BUSY")).toHaveLength(20 - limits.loginFailuresFree);
      expect(reasons.filter((r) => r === "AUTH_BUSY").length).toBeLessThanOrEqual(20 - limits.loginAttemptsQueuedPerPairMax);
      const failed = (await auditRows(t, "auth.login")).filter((r) => r.target_id === user.id && r.outcome === "FAILED");
      expect(failed).toHaveLength(limits.loginFailuresFree);
    } finally {
      verify.mockRestore();
    }
  });

  test("parallel wrong passwords split between two processes on one database still get only the free failures' argon2 checks (W7)", async () => {
    const user = await createTestUser(t);
    const hash = await storedHash(t, user.email);
    const second = await startSecondApp(t, { BANK_TRUST_PROXY: "true" });
    const here = jest.spyOn(t.auth.hasher, "verify");
    const there = jest.spyOn(second.auth.hasher, "verify");
    try {
      const forwarded: Interceptor = (next) => async (req) => {
        req.header.set("x-forwarded-for", "198.51.100.78");
        return next(req);
      };
      const apis = [from("198.51.100.78"), client(second.baseUrl, AuthService, { interceptors: [forwarded] })];
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => apis[i % 2]!.login({ email: user.email, password: strongPassword() })));
      const checks = [...here.mock.calls, ...there.mock.calls].filter(([stored]) => stored === hash);
      expect(checks).toHaveLength(limits.loginFailuresFree);
      const reasons = results.map((r) => (r.status === "rejected" ? reasonOf(ConnectError.from(r.reason)) : "SIGNED_IN"));
      expect(reasons.filter((r) => r === "INVALID_CREDENTIALS")).toHaveLength(limits.loginFailuresFree);
      expect(reasons.filter((r) => !["INVALID_CREDENTIALS", "LOGIN_THROTTLED", "AUTH_BUSY"].includes(r ?? ""))).toEqual([]);
    } finally {
      here.mockRestore();
      there.mockRestore();
      await second.app.shutdown();
    }
  });

  test("a reservation whose password was never checked (argon2 too busy) is given back: count, back-off and row", async () => {
    const keys = throttleKeys(uniqueEmail("busy"), "198.51.100.80");
    const pairRow = () => t.app.db.read((tx) => tx.one<{ failures: number | string; blocked_until: number | string }>(`SELECT failures, blocked_until FROM login_throttle WHERE throttle_key = ?`, [keys.pair]));
    for (let i = 0; i < limits.loginFailuresFree; i++) expect(await reserveAttempt(t.app.db, keys, Date.now())).toBeUndefined();
    expect(Number((await pairRow())!.blocked_until)).toBeGreaterThan(Date.now());
    expect(await reserveAttempt(t.app.db, keys, Date.now())).toMatchObject({ scope: "pair" });
    await cancelReservation(t.app.db, keys);
    expect(await pairRow()).toMatchObject({ blocked_until: expect.anything() });
    expect(Number((await pairRow())!.failures)).toBe(limits.loginFailuresFree - 1);
    expect(Number((await pairRow())!.blocked_until)).toBe(0);
    for (let i = 1; i < limits.loginFailuresFree; i++) await cancelReservation(t.app.db, keys);
    expect(await pairRow()).toBeUndefined();
  });

  test("one user signing in many times at once from one address, with the right password, is served, not throttled", async () => {
    const user = await createTestUser(t);
    const api = from("198.51.100.79");
    const results = await Promise.all(Array.from({ length: 12 }, () => api.login({ email: user.email, password: user.password })));
    expect(results.map((r) => r.user?.id)).toEqual(Array.from({ length: 12 }, () => user.id));
  });

  test("sign-ins refused by throttling are audited, aggregated: one DENIED event per window with its count; a later window is a new event (W8)", async () => {
    const user = await createTestUser(t);
    const api = from("198.51.100.88");
    for (let i = 0; i < limits.loginFailuresFree; i++) {
      await expectError(api.login({ email: user.email, password: strongPassword() }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    }
    for (let i = 0; i < 7; i++) await expectError(api.login({ email: user.email, password: user.password }), Code.ResourceExhausted, "LOGIN_THROTTLED");
    await t.auth.refusals.flush();
    const denied = async () => (await auditRows(t, "auth.login")).filter((r) => r.target_id === user.id && r.outcome === "DENIED");
    const [first] = await denied();
    expect(await denied()).toHaveLength(1);
    expect(first).toMatchObject({ actor_id: user.id });
    expect(JSON.parse(first!.details)).toMatchObject({ reason: "throttled", scope: "pair", count: 7 });
    for (let i = 0; i < 3; i++) await expectError(api.login({ email: user.email, password: user.password }), Code.ResourceExhausted, "LOGIN_THROTTLED");
    await t.auth.refusals.flush();
    const both = await denied();
    expect(both).toHaveLength(2);
    expect(both[0]).toEqual(first);
    expect(JSON.parse(both[1]!.details)).toMatchObject({ count: 3 });
  });
});
