// Goal: the pieces of the staff second factor on their own (src/auth/second-factor.ts):
// - TOTP matches RFC 6238's own test vectors (appendix B, SHA-1, truncated to 6 digits), with one
//   step of tolerance each way and no more;
// - the secret box: the key file is made once with owner-only permissions (and read back by the
//   next process), a sealed secret opens only for the same user under the same key, and any
//   change to the ciphertext is refused (AES-256-GCM);
// - recovery codes: ten distinct 80-bit codes, compared without spaces, hyphens or case.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { hashRecoveryCode, matchingStep, newRecoveryCodes, newTotpSecret, otpauthUri, TotpSecretBox } from "../../src/auth/second-factor";

// RFC 6238 appendix B: the SHA-1 seed is the ASCII of "12345678901234567890".
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

describe("TOTP (RFC 6238)", () => {
  test("the RFC's test vectors, 6 digits", () => {
    // T = 59 s -> 94287082; T = 1111111109 s -> 07081804; T = 2000000000 s -> 69279037.
    expect(matchingStep(RFC_SECRET, "287082", 59_000, 0)).toBe(1);
    expect(matchingStep(RFC_SECRET, "081804", 1_111_111_109_000, 0)).toBe(Math.floor(1_111_111_109 / 30));
    expect(matchingStep(RFC_SECRET, "279037", 2_000_000_000_000, 0)).toBe(Math.floor(2_000_000_000 / 30));
  });

  test("one step of tolerance each way, not two; malformed codes match nothing", () => {
    expect(matchingStep(RFC_SECRET, "287082", 59_000 + 30_000)).toBe(1);
    expect(matchingStep(RFC_SECRET, "287082", 59_000 - 30_000)).toBe(1);
    expect(matchingStep(RFC_SECRET, "287082", 59_000 + 60_000)).toBeUndefined();
    for (const bad of ["28708", "2870822", "28708a", " 287082", ""]) expect(matchingStep(RFC_SECRET, bad, 59_000)).toBeUndefined();
  });

  test("the otpauth URI names the parameters authenticator apps need", () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri(secret, "bankd", "ada@example.test"));
    expect([uri.protocol, uri.host, uri.searchParams.get("secret"), uri.searchParams.get("issuer")]).toEqual(["otpauth:", "totp", secret, "bankd"]);
  });
});

describe("the TOTP secret box", () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-totp-"))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("the key file is made once, 0600, and the next process reads the same key", () => {
    const file = path.join(dir, "sub", "totp-key");
    const first = TotpSecretBox.open(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(file).size).toBe(32);
    const sealed = first.seal("JBSWY3DPEHPK3PXP", "user-1");
    expect(TotpSecretBox.open(file).open(sealed, "user-1")).toBe("JBSWY3DPEHPK3PXP");
    // A base64 key (as a secret store hands it out) is read too.
    const b64 = path.join(dir, "b64-key");
    fs.writeFileSync(b64, `${randomBytes(32).toString("base64")}\n`);
    expect(() => TotpSecretBox.open(b64)).not.toThrow();
    fs.writeFileSync(path.join(dir, "short-key"), randomBytes(16));
    expect(() => TotpSecretBox.open(path.join(dir, "short-key"))).toThrow(/32 bytes/);
  });

  test("a sealed secret opens only for its user, under its key, unchanged", () => {
    const box = TotpSecretBox.ofKey(randomBytes(32));
    const sealed = box.seal("JBSWY3DPEHPK3PXP", "user-1");
    expect(sealed).not.toContain("JBSWY3DPEHPK3PXP");
    expect(box.seal("JBSWY3DPEHPK3PXP", "user-1")).not.toBe(sealed);
    expect(() => box.open(sealed, "user-2")).toThrow();
    expect(() => TotpSecretBox.ofKey(randomBytes(32)).open(sealed, "user-1")).toThrow();
    const raw = Buffer.from(sealed.slice(3), "base64url");
    raw[15] = raw[15]! ^ 1;
    expect(() => box.open(`v1:${raw.toString("base64url")}`, "user-1")).toThrow();
  });
});

describe("recovery codes", () => {
  test("ten distinct codes of 80 bits; compared without spaces, hyphens or case", () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    expect(hashRecoveryCode(codes[0]!)).toBe(hashRecoveryCode(` ${codes[0]!.toUpperCase().replace(/-/g, " ")} `));
    expect(hashRecoveryCode(codes[0]!)).not.toBe(hashRecoveryCode(codes[1]!));
  });
});
