// Goal (issue 25): the per-address sign-in cap (limits.loginFailuresPerAddressMax per
// limits.loginAddressWindowMs) counts each attempt BEFORE its password is checked, so that
// parallel attempts cannot overshoot it. The hostile side: waves of 300 parallel sign-ins for
// unknown emails (each its own account key, so no per-account back-off helps) from one address
// got 158 password checks against the cap of 100 before. Now the checks (audited auth.login
// FAILED unknown_email, one per check) are exactly the cap, every other attempt is refused
// LOGIN_THROTTLED (or AUTH_BUSY when argon2's queue is full, which checks nothing and gives its
// place back), and another address is served.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { client } from "../support/app";
import { createTestUser, strongPassword, uniqueEmail } from "../support/users";
import { expectError, metadataOf, reasonOf, startAuthApp, type AuthTestApp } from "./support";

const WAVE = 300;
const FLOOD_ADDRESS = "198.51.100.250";

describe.each(engines())("sign-in flood from one address on %s", (engine) => {
  let t: AuthTestApp;
  beforeAll(async () => {
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

  /** Password checks made for the flood address: one audited failure each. */
  async function checksFromFlood(): Promise<number> {
    const rows = await t.app.db.read((tx) => tx.all<{ n: number | string }>(`SELECT COUNT(*) AS n FROM audit_events WHERE action = 'auth.login' AND outcome = 'FAILED' AND client_address = ?`, [FLOOD_ADDRESS]));
    return Number(rows[0]!.n);
  }

  test(`waves of ${WAVE} parallel sign-ins for unknown emails get exactly the per-address cap of checks`, async () => {
    const api = from(FLOOD_ADDRESS);
    const answers = new Map<string, number>();
    let waves = 0;
    // Waves until one is refused whole: the address's checks are used up.
    for (;;) {
      waves++;
      const wave = await Promise.allSettled(Array.from({ length: WAVE }, () => api.login({ email: uniqueEmail("flood"), password: strongPassword() })));
      const reasons = wave.map((r) => (r.status === "rejected" ? (reasonOf(ConnectError.from(r.reason)) ?? "NONE") : "SIGNED_IN"));
      for (const reason of reasons) answers.set(reason, (answers.get(reason) ?? 0) + 1);
      if (reasons.every((r) => r === "LOGIN_THROTTLED") || waves === 8) break;
    }
    const checks = await checksFromFlood();
    console.log(`sign-in flood (${engine}): ${waves} waves of ${WAVE}; ${checks} password checks (cap ${limits.loginFailuresPerAddressMax}); answers ${JSON.stringify(Object.fromEntries(answers))}`);
    expect(checks).toBe(limits.loginFailuresPerAddressMax);
    expect(answers.get("INVALID_CREDENTIALS")).toBe(limits.loginFailuresPerAddressMax);
    expect([...answers.keys()].filter((r) => !["INVALID_CREDENTIALS", "LOGIN_THROTTLED", "AUTH_BUSY"].includes(r))).toEqual([]);
    // The last wave was refused whole, with a retry delay within the window.
    const refused = await expectError(api.login({ email: uniqueEmail("flood"), password: strongPassword() }), Code.ResourceExhausted, "LOGIN_THROTTLED");
    expect(Number(metadataOf(refused).retry_after_ms)).toBeGreaterThan(0);
    expect(Number(metadataOf(refused).retry_after_ms)).toBeLessThanOrEqual(limits.loginAddressWindowMs);
    expect(await checksFromFlood()).toBe(limits.loginFailuresPerAddressMax);

    // Another address is not affected; the flood address's block is its own.
    const user = await createTestUser(t);
    expect((await from("198.51.100.251").login({ email: user.email, password: user.password })).user?.id).toBe(user.id);
  });

  test("right passwords do not use up the address's cap: their reservations are given back", async () => {
    const address = "198.51.100.252";
    const user = await createTestUser(t);
    const api = from(address);
    for (let i = 0; i < 3; i++) {
      const signedIn = await Promise.all(Array.from({ length: 10 }, () => api.login({ email: user.email, password: user.password })));
      expect(signedIn.map((s) => s.user?.id)).toEqual(Array.from({ length: 10 }, () => user.id));
    }
    const row = await t.app.db.read((tx) => tx.one<{ failures: number | string }>(`SELECT failures FROM login_throttle WHERE throttle_key = ?`, [`addr:${address}`]));
    expect(Number(row?.failures ?? 0)).toBe(0);
  });
});
