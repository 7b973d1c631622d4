// Goal: Register is rate-limited per client address and from all addresses together, cheaply and
// before any argon2 or password-strength work (issue 15, W5: 60 users from one address in 26 s,
// and a registration flood that delayed sign-ins). A refused registration is RESOURCE_EXHAUSTED
// REGISTER_THROTTLED with retry_after_ms, writes nothing and hashes nothing; other addresses are
// not affected by one address's limit; sign-ins are not limited by it at all.
import { Code, type Interceptor } from "@connectrpc/connect";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { client } from "../support/app";
import { engines } from "../support/db";
import { strongPassword, uniqueEmail } from "../support/users";
import { expectError, metadataOf, startAuthApp, type AuthTestApp } from "./support";

function from(t: AuthTestApp, address: string) {
  const forwarded: Interceptor = (next) => async (req) => {
    req.header.set("x-forwarded-for", address);
    return next(req);
  };
  return client(t.baseUrl, AuthService, { interceptors: [forwarded] });
}

const userCount = async (t: AuthTestApp) => Number((await t.app.db.read((tx) => tx.one<{ n: number | string }>(`SELECT COUNT(*) AS n FROM users`)))?.n);

describe.each(engines())("Register's limit per client address on %s", (engine) => {
  const perHour = 3;
  let t: AuthTestApp;
  beforeAll(async () => {
    t = await startAuthApp(engine, { BANK_TRUST_PROXY: "true", BANK_REGISTER_PER_ADDRESS_PER_HOUR: String(perHour), BANK_REGISTER_PER_MINUTE: "1000000" });
  });
  afterAll(async () => t.stop());

  test("an address gets its hour's registrations, then REGISTER_THROTTLED without any hashing or writing; another address is unaffected", async () => {
    const flood = from(t, "198.51.100.5");
    for (let i = 0; i < perHour; i++) await flood.register({ email: uniqueEmail("flood"), password: strongPassword(), fullName: "Flood User" });
    const users = await userCount(t);
    const hash = jest.spyOn(t.auth.hasher, "hash");
    try {
      for (let i = 0; i < 10; i++) {
        const err = await expectError(flood.register({ email: uniqueEmail("flood"), password: strongPassword(), fullName: "Flood User" }), Code.ResourceExhausted, "REGISTER_THROTTLED");
        const waitMs = Number(metadataOf(err).retry_after_ms);
        expect(waitMs).toBeGreaterThan(0);
        expect(waitMs).toBeLessThanOrEqual(3_600_000 / perHour);
        expect(metadataOf(err).scope).toBe("address");
      }
      expect(hash).not.toHaveBeenCalled();
    } finally {
      hash.mockRestore();
    }
    expect(await userCount(t)).toBe(users);
    // Another address, and sign-ins from the flooding one, are not limited by it.
    const email = uniqueEmail("other");
    const password = strongPassword();
    await from(t, "198.51.100.6").register({ email, password, fullName: "Other User" });
    await flood.login({ email, password });
  });

  test("malformed registrations are refused before the limit and take nothing from it", async () => {
    const api = from(t, "198.51.100.7");
    for (let i = 0; i < 2 * perHour; i++) {
      await expectError(api.register({ email: "not-an-email", password: strongPassword(), fullName: "X Y" }), Code.InvalidArgument, "INVALID_EMAIL");
    }
    await api.register({ email: uniqueEmail("typo"), password: strongPassword(), fullName: "After Typos" });
  });
});

describe.each(engines())("Register's limit from all addresses on %s", (engine) => {
  let t: AuthTestApp;
  beforeAll(async () => {
    // 1 a minute: a burst of 1, then one a minute (slow enough that no token comes back while
    // this test runs on a busy machine).
    t = await startAuthApp(engine, { BANK_TRUST_PROXY: "true", BANK_REGISTER_PER_ADDRESS_PER_HOUR: "1000", BANK_REGISTER_PER_MINUTE: "1" });
  });
  afterAll(async () => t.stop());

  test("past the global burst, registrations from fresh addresses are REGISTER_THROTTLED too", async () => {
    await from(t, "203.0.113.20").register({ email: uniqueEmail("first"), password: strongPassword(), fullName: "First User" });
    for (let i = 21; i < 26; i++) {
      const err = await expectError(from(t, `203.0.113.${i}`).register({ email: uniqueEmail("spread"), password: strongPassword(), fullName: "Spread User" }), Code.ResourceExhausted, "REGISTER_THROTTLED");
      expect(metadataOf(err).scope).toBe("global");
      expect(Number(metadataOf(err).retry_after_ms)).toBeLessThanOrEqual(60_000);
    }
  });
});

// Issue 28: BANK_ENV=development lifts Register's limits for loopback clients only (a developer's
// recipes, /docs and console all come from 127.0.0.1); every other address is limited as ever, and
// without BANK_ENV (production, the default) loopback is limited like any address.
describe.each(engines())("BANK_ENV=development and loopback clients on %s", (engine) => {
  let dev: AuthTestApp;
  let prod: AuthTestApp;
  beforeAll(async () => {
    // One an hour per address and a global burst of one: the tightest limits there are.
    const tight = { BANK_TRUST_PROXY: "true", BANK_REGISTER_PER_ADDRESS_PER_HOUR: "1", BANK_REGISTER_PER_MINUTE: "1" };
    dev = await startAuthApp(engine, { ...tight, BANK_ENV: "development" });
    prod = await startAuthApp(engine, tight);
  });
  afterAll(async () => Promise.all([dev?.stop(), prod?.stop()]));

  const register = (api: ReturnType<typeof from>, who: string) => api.register({ email: uniqueEmail(who), password: strongPassword(), fullName: "Dev User" });

  test("development: loopback is not limited and takes nothing from the global limit; a non-loopback address still is limited", async () => {
    expect(dev.config.registration.loopbackUnlimited).toBe(true);
    // The socket's own address (no X-Forwarded-For): 127.0.0.1, past both limits.
    const loopback = client(dev.baseUrl, AuthService);
    for (let i = 0; i < 4; i++) await register(loopback, "loopback");
    // ::1 named by the trusted proxy is loopback as well.
    for (let i = 0; i < 2; i++) await register(from(dev, "::1"), "loopback6");
    // The global burst is still whole: loopback took nothing from it.
    const remote = from(dev, "198.51.100.40");
    await register(remote, "remote");
    const again = await expectError(register(remote, "remote"), Code.ResourceExhausted, "REGISTER_THROTTLED");
    expect(metadataOf(again).scope).toBe("address");
    const other = await expectError(register(from(dev, "198.51.100.41"), "other"), Code.ResourceExhausted, "REGISTER_THROTTLED");
    expect(metadataOf(other).scope).toBe("global");
    // An address that only looks like loopback is not.
    await expectError(register(from(dev, "127.0.0.1.example.com"), "spoof"), Code.ResourceExhausted, "REGISTER_THROTTLED");
    // And loopback still registers after all that.
    await register(loopback, "loopback");
  });

  test("production (BANK_ENV unset): loopback is limited like any address", async () => {
    expect(prod.config.environment).toBe("production");
    expect(prod.config.registration.loopbackUnlimited).toBe(false);
    const loopback = client(prod.baseUrl, AuthService);
    await register(loopback, "prod-loopback");
    const err = await expectError(register(loopback, "prod-loopback"), Code.ResourceExhausted, "REGISTER_THROTTLED");
    expect(metadataOf(err).scope).toBe("address");
    await expectError(register(from(prod, "::1"), "prod-loopback6"), Code.ResourceExhausted, "REGISTER_THROTTLED");
  });
});
