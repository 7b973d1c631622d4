// Goal: the small parts of auth hold their invariants on their own: role columns round-trip,
// the back-off doubles and never becomes a permanent lock, the argon2 work queue bounds
// concurrency and refuses excess work with RESOURCE_EXHAUSTED, the verified-token cache is
// bounded and expires entries, and the key ring signs with the newest key while every key
// verifies (rotation), refusing malformed key files.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { decodeProtectedHeader } from "jose";
import { Role } from "../../gen/bank/v1/access_pb";
import { DomainError, resourceExhausted } from "../../src/errors";
import { limits } from "../../src/limits";
import { roleFromName, rolesFromColumn, rolesToColumn } from "../../src/auth/roles";
import { accountBlockedUntil, pairBlockedUntil } from "../../src/auth/throttle";
import { WorkQueue } from "../../src/util/work-queue";
import { KeyedTurns } from "../../src/auth/turns";
import { ExpiringLru } from "../../src/util/expiring-lru";
import { KeyRing } from "../../src/auth/keys";
import { AccessTokens } from "../../src/auth/tokens";
import { normalizeEmail, validEmail } from "../../src/auth/policy";
import { Role as DomainRole } from "../../src/roles";

describe("roles column", () => {
  test("round-trips, sorted, without duplicates or prefix", () => {
    expect(rolesToColumn([Role.ADMIN, Role.CUSTOMER, Role.ADMIN])).toBe("CUSTOMER,ADMIN");
    expect(rolesFromColumn("CUSTOMER,ADMIN")).toEqual([Role.CUSTOMER, Role.ADMIN]);
    expect(rolesFromColumn("")).toEqual([]);
    expect(rolesToColumn([])).toBe("");
  });

  test("refuses what cannot be granted or read", () => {
    // A value outside the domain's roles (as ROLE_UNSPECIFIED would be) is never written.
    expect(() => rolesToColumn([0 as never])).toThrow();
    expect(() => rolesToColumn([DomainRole.PAYMENT_SERVICE])).toThrow();
    expect(() => rolesFromColumn("CUSTOMER,ROOT")).toThrow();
    expect(roleFromName("teller")).toBe(Role.TELLER);
    expect(roleFromName("ROLE_AUDITOR")).toBe(Role.AUDITOR);
    expect(roleFromName("UNSPECIFIED")).toBeUndefined();
    expect(roleFromName("boss")).toBeUndefined();
  });
});

describe("email normalization", () => {
  test("trims and lower-cases", () => {
    expect(normalizeEmail("  Ada@Example.COM ")).toBe("ada@example.com");
    expect(validEmail("Ada.Lovelace+bank@Example.co.uk")).toBe("ada.lovelace+bank@example.co.uk");
  });
});

describe("sign-in back-off", () => {
  const now = 1_000_000;
  test("per account and address: free failures, then base, doubling, capped: never a permanent lock (even past 100 failures)", () => {
    for (let f = 0; f < limits.loginFailuresFree; f++) expect(pairBlockedUntil(f, now)).toBe(0);
    expect(pairBlockedUntil(limits.loginFailuresFree, now) - now).toBe(limits.loginBackoffMsBase);
    expect(pairBlockedUntil(limits.loginFailuresFree + 1, now) - now).toBe(2 * limits.loginBackoffMsBase);
    expect(pairBlockedUntil(limits.loginFailuresFree + 3, now) - now).toBe(8 * limits.loginBackoffMsBase);
    for (const f of [50, 99, 100, 1000, 1e9]) {
      expect(pairBlockedUntil(f, now) - now).toBe(limits.loginBackoffMsMax);
    }
  });

  test("account-wide (all addresses): more free failures, the same doubling, never more than 30 s", () => {
    expect(limits.loginAccountFailuresFree).toBeGreaterThan(limits.loginFailuresFree);
    expect(limits.loginAccountBackoffMsMax).toBeLessThanOrEqual(30_000);
    for (let f = 0; f < limits.loginAccountFailuresFree; f++) expect(accountBlockedUntil(f, now)).toBe(0);
    expect(accountBlockedUntil(limits.loginAccountFailuresFree, now) - now).toBe(limits.loginBackoffMsBase);
    expect(accountBlockedUntil(limits.loginAccountFailuresFree + 1, now) - now).toBe(2 * limits.loginBackoffMsBase);
    for (const f of [limits.loginAccountFailuresFree + 5, 100, 1000, 1e9]) {
      expect(accountBlockedUntil(f, now) - now).toBe(limits.loginAccountBackoffMsMax);
    }
  });
});

describe("KeyedTurns", () => {
  const busy = () => resourceExhausted("BUSY", "busy");

  test("jobs of one key run one at a time in arrival order; other keys run alongside; finished keys are forgotten", async () => {
    const turns = new KeyedTurns(10, busy);
    const log: string[] = [];
    const job = (name: string, gate: Promise<void>) => async () => {
      log.push(`start ${name}`);
      await gate;
      log.push(`end ${name}`);
      return name;
    };
    let openA1!: () => void;
    const a1 = turns.run("a", job("a1", new Promise<void>((r) => (openA1 = r))));
    const a2 = turns.run("a", job("a2", Promise.resolve()));
    const b1 = turns.run("b", job("b1", Promise.resolve()));
    expect(await b1).toBe("b1");
    expect(log).toEqual(["start a1", "start b1", "end b1"]);
    openA1();
    expect(await Promise.all([a1, a2])).toEqual(["a1", "a2"]);
    expect(log).toEqual(["start a1", "start b1", "end b1", "end a1", "start a2", "end a2"]);
    expect(turns.size).toBe(0);
  });

  test("a failing job passes the turn on; a key's queue past its bound is refused at once", async () => {
    const turns = new KeyedTurns(2, busy);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const first = turns.run("k", async () => {
      await gate;
      throw new Error("boom");
    });
    const second = turns.run("k", async () => "second");
    await expect(turns.run("k", async () => "third")).rejects.toMatchObject({ reason: "BUSY" });
    open();
    await expect(first).rejects.toThrow("boom");
    expect(await second).toBe("second");
    expect(turns.size).toBe(0);
  });
});

describe("WorkQueue", () => {
  const busy = () => resourceExhausted("BUSY", "busy");

  function gate() {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { open, opened };
  }

  test("runs at most concurrencyMax jobs; the queue hands slots over in order", async () => {
    const q = new WorkQueue({ concurrencyMax: 2, queueMax: 10, waitMsMax: 60_000, busy });
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const job = (i: number) => async () => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
      return i;
    };
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => q.run(job(i))));
    expect(results).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    // Waiters start in the order they queued (a LIFO hand-over would start 5 before 2).
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test("a full queue refuses at once with RESOURCE_EXHAUSTED; a long wait is refused too", async () => {
    const q = new WorkQueue({ concurrencyMax: 1, queueMax: 1, waitMsMax: 50, busy });
    const g = gate();
    const holding = q.run(() => g.opened);
    const waiting = q.run(async () => "second");
    const refused = await q.run(async () => "third").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).kind).toBe("resource_exhausted");
    // The waiter gives up after waitMsMax while the first job still holds the slot.
    await expect(waiting).rejects.toMatchObject({ reason: "BUSY" });
    g.open();
    await holding;
    expect(await q.run(async () => "after")).toBe("after");
  });

  test("a failing job frees its slot", async () => {
    const q = new WorkQueue({ concurrencyMax: 1, queueMax: 0, waitMsMax: 10, busy });
    await expect(q.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await q.run(async () => 1)).toBe(1);
  });
});

describe("ExpiringLru", () => {
  test("evicts the least recently used beyond its bound, and entries die at expiry", () => {
    const lru = new ExpiringLru<string, number>(2);
    lru.set("a", 1, 1000);
    lru.set("b", 2, 1000);
    expect(lru.get("a", 0)).toBe(1); // a is now the most recent
    lru.set("c", 3, 1000);
    expect(lru.get("b", 0)).toBeUndefined();
    expect(lru.get("a", 0)).toBe(1);
    expect(lru.size).toBe(2);
    expect(lru.get("c", 1000)).toBeUndefined();
  });
});

describe("KeyRing", () => {
  const jwt = { issuer: "bankd", audience: "bankd", accessTokenTtlSeconds: 60, keysDir: "" };
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-keys-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function writeKey(name: string, kid: string, created?: string): void {
    const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
    fs.writeFileSync(path.join(dir, name), JSON.stringify({ ...jwk, kid, ...(created ? { created } : {}) }), { mode: 0o600 });
  }

  test("creates one key in an empty directory, then reuses it", async () => {
    const keysDir = path.join(dir, "new");
    const ring = await KeyRing.open(keysDir);
    expect(fs.readdirSync(keysDir).filter((f) => f.endsWith(".jwk"))).toHaveLength(1);
    const again = await KeyRing.open(keysDir);
    expect(again.signer.kid).toBe(ring.signer.kid);
  });

  test("the newest key (by created) signs; tokens of the older key still verify", async () => {
    writeKey("b-old.jwk", "old", "2024-01-01T00:00:00Z");
    const oldRing = await KeyRing.open(dir);
    const oldToken = (await new AccessTokens(oldRing, jwt).issue({ userId: "u", sessionId: "s", roles: [Role.CUSTOMER] })).token;
    writeKey("a-new.jwk", "new", "2025-01-01T00:00:00Z");
    const ring = await KeyRing.open(dir);
    expect(ring.signer.kid).toBe("new");
    const tokens = new AccessTokens(ring, jwt);
    expect(decodeProtectedHeader((await tokens.issue({ userId: "u", sessionId: "s", roles: [] })).token).kid).toBe("new");
    expect((await tokens.verify(oldToken)).userId).toBe("u");
    expect(JSON.parse(ring.jwksJson()).keys.map((k: { kid: string }) => k.kid)).toEqual(["old", "new"]);
  });

  test("a key added after start (by another process) is learned when a token names it", async () => {
    writeKey("a.jwk", "a", "2024-01-01T00:00:00Z");
    const ring = await KeyRing.open(dir);
    writeKey("b.jwk", "b", "2025-01-01T00:00:00Z");
    const other = await KeyRing.open(dir);
    const token = (await new AccessTokens(other, jwt).issue({ userId: "u2", sessionId: "s", roles: [] })).token;
    expect((await new AccessTokens(ring, jwt).verify(token)).userId).toBe("u2");
    // The signer does not change under a running process.
    expect(ring.signer.kid).toBe("a");
  });

  test("without created fields, file name order decides", async () => {
    writeKey("2024-key.jwk", "first");
    writeKey("2025-key.jwk", "second");
    expect((await KeyRing.open(dir)).signer.kid).toBe("second");
  });

  test("a malformed key file stops the start with a clear error", async () => {
    fs.writeFileSync(path.join(dir, "bad.jwk"), JSON.stringify({ kty: "RSA", n: "x", e: "AQAB" }));
    await expect(KeyRing.open(dir)).rejects.toThrow(/not a private Ed25519 JWK/);
    fs.writeFileSync(path.join(dir, "bad.jwk"), "{not json");
    await expect(KeyRing.open(dir)).rejects.toThrow(/not valid JSON/);
  });
});
