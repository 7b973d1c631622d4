// Goal: only genuine access tokens get in. Every hostile token (missing, malformed, expired,
// issued in the future, living longer than we issue them, signed by another key, alg "none",
// HS256 keyed with our public key, wrong iss/aud/typ, tampered, a refresh token) is refused with
// UNAUTHENTICATED and a message that leaks nothing, IntrospectToken reports each one inactive,
// and refusals are audited (aggregated); the JWKS publishes the verifying keys.
import * as fs from "node:fs";
import * as path from "node:path";
import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { Code, type Interceptor } from "@connectrpc/connect";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { client } from "../support/app";
import { SignJWT, decodeProtectedHeader, decodeJwt, importJWK, jwtVerify, createLocalJWKSet, type JWK } from "jose";
import { Role } from "../../gen/bank/v1/access_pb";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { createTestUser, type TestUser } from "../support/users";
import { LEAKY, auditRows, authApi, expectError, startAuthApp, type AuthTestApp } from "./support";
import { httpGet as get } from "../support/http";

function b64(json: object): string {
  return Buffer.from(JSON.stringify(json)).toString("base64url");
}

describe.each(engines())("access tokens on %s", (engine) => {
  let t: AuthTestApp;
  let user: TestUser;
  let ringJwk: JWK & { kid?: string };
  let ringKey: CryptoKey;
  let kid: string;

  beforeAll(async () => {
    t = await startAuthApp(engine);
    user = await createTestUser(t, [Role.CUSTOMER]);
    const files = fs.readdirSync(t.config.jwt.keysDir).filter((f) => f.endsWith(".jwk"));
    ringJwk = JSON.parse(fs.readFileSync(path.join(t.config.jwt.keysDir, files[0]!), "utf8")) as JWK;
    ringKey = (await importJWK({ kty: "OKP", crv: "Ed25519", x: ringJwk.x, d: ringJwk.d }, "EdDSA")) as CryptoKey;
    kid = decodeProtectedHeader(user.token).kid!;
  });
  afterAll(async () => t.stop());

  /** A token like the user's, signed with our key unless told otherwise, with the given
   * header fields and claims changed. */
  async function forge(opts: { key?: CryptoKey | KeyObject; header?: Record<string, unknown>; claims?: Record<string, unknown>; expSeconds?: number; iatSeconds?: number } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sid: decodeJwt(user.token).sid, roles: ["CUSTOMER"], ...opts.claims })
      .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt", ...opts.header })
      .setIssuer(t.config.jwt.issuer)
      .setAudience(t.config.jwt.audience)
      .setSubject(user.id)
      .setIssuedAt(opts.iatSeconds ?? now)
      .setJti("forged")
      .setExpirationTime(opts.expSeconds ?? now + 300)
      .sign(opts.key ?? ringKey);
  }

  async function expectRefused(token: string, reason = "TOKEN_INVALID"): Promise<void> {
    const err = await expectError(authApi(t, token).getCurrentUser({}), Code.Unauthenticated, reason);
    expect(err.rawMessage).not.toMatch(LEAKY);
    const seen = await authApi(t).introspectToken({ token });
    expect(seen).toMatchObject({ active: false, userId: "", sessionId: "", roles: [] });
  }

  test("a genuine token: EdDSA, kid, typ at+jwt, the claims, and it works over all protocols", async () => {
    const header = decodeProtectedHeader(user.token);
    expect(header).toMatchObject({ alg: "EdDSA", typ: "at+jwt" });
    expect(typeof header.kid).toBe("string");
    const claims = decodeJwt(user.token);
    expect(claims).toMatchObject({ iss: t.config.jwt.issuer, aud: t.config.jwt.audience, sub: user.id, roles: ["CUSTOMER"] });
    for (const name of ["sid", "jti", "iat", "exp"]) expect(claims[name]).toBeDefined();
    expect(claims.exp! - claims.iat!).toBe(t.config.jwt.accessTokenTtlSeconds);
    for (const protocol of ["connect", "grpc", "grpcweb"] as const) {
      expect((await authApi(t, user.token, protocol).getCurrentUser({})).user?.id).toBe(user.id);
    }
    const seen = await authApi(t).introspectToken({ token: user.token });
    expect(seen).toMatchObject({ active: true, userId: user.id, sessionId: claims.sid, roles: [Role.CUSTOMER] });
    expect(Number(seen.expireTime?.seconds)).toBe(claims.exp);
  });

  test("our own forge helper makes tokens the server accepts (so the hostile cases below test one change each)", async () => {
    expect((await authApi(t, await forge()).getCurrentUser({})).user?.id).toBe(user.id);
  });

  test("no token: UNAUTHENTICATED TOKEN_MISSING", async () => {
    await expectError(authApi(t).getCurrentUser({}), Code.Unauthenticated, "TOKEN_MISSING");
  });

  test("malformed tokens and headers are refused", async () => {
    await expectRefused("not-a-jwt");
    await expectRefused("a.b.c");
    await expectRefused("x".repeat(5000));
    const basic = client401(t, "Basic dXNlcjpwYXNz");
    await expectError(basic, Code.Unauthenticated, "TOKEN_INVALID");
  });

  test("an expired token: TOKEN_EXPIRED", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await forge({ expSeconds: now - 120 }), "TOKEN_EXPIRED");
  });

  test("a token issued in the future, beyond the clock tolerance, is refused; within it, accepted", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await forge({ iatSeconds: now + limits.jwtClockToleranceSeconds + 60, expSeconds: now + 300 }));
    expect((await authApi(t, await forge({ iatSeconds: now + 1, expSeconds: now + 300 })).getCurrentUser({})).user?.id).toBe(user.id);
  });

  test("a token living longer than the configured access-token lifetime is refused; exactly that long, accepted", async () => {
    const now = Math.floor(Date.now() / 1000);
    const ttl = t.config.jwt.accessTokenTtlSeconds;
    await expectRefused(await forge({ iatSeconds: now - 10, expSeconds: now - 10 + ttl + 1 }));
    await expectRefused(await forge({ iatSeconds: now, expSeconds: now + 365 * 24 * 3600 }));
    expect((await authApi(t, await forge({ iatSeconds: now, expSeconds: now + ttl })).getCurrentUser({})).user?.id).toBe(user.id);
  });

  test("refused tokens are audited, aggregated per reason, address and method: one event per window with the count (W8)", async () => {
    await t.auth.refusals.flush();
    const { privateKey } = generateKeyPairSync("ed25519");
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 4; i++) await expectError(authApi(t, await forge({ key: privateKey })).listSessions({}), Code.Unauthenticated, "TOKEN_INVALID");
    for (let i = 0; i < 2; i++) await expectError(authApi(t, await forge({ expSeconds: now - 120 })).listSessions({}), Code.Unauthenticated, "TOKEN_EXPIRED");
    await t.auth.refusals.flush();
    const events = (await auditRows(t, "auth.token_refused")).filter((r) => r.target_id.endsWith("/ListSessions"));
    expect(events.map((r) => [r.actor_id, r.outcome, JSON.parse(r.details).reason, JSON.parse(r.details).count])).toEqual([
      ["anonymous", "DENIED", "TOKEN_INVALID", 4],
      ["anonymous", "DENIED", "TOKEN_EXPIRED", 2],
    ]);
    // A token on a public method is ignored, not refused: nothing to audit.
    await authApi(t, await forge({ key: privateKey })).getJwks({});
    await t.auth.refusals.flush();
    expect((await auditRows(t, "auth.token_refused")).filter((r) => r.target_id.endsWith("/GetJwks"))).toEqual([]);
  });

  test("a token signed by another Ed25519 key with our kid is refused", async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    await expectRefused(await forge({ key: privateKey }));
  });

  test("an unknown kid, or none, is refused", async () => {
    await expectRefused(await forge({ header: { kid: "someone-elses-key" } }));
    const now = Math.floor(Date.now() / 1000);
    const noKid = await new SignJWT({ sid: "s", roles: ["CUSTOMER"] }).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt" }).setIssuer(t.config.jwt.issuer).setAudience(t.config.jwt.audience).setSubject(user.id).setIssuedAt(now).setJti("j").setExpirationTime(now + 60).sign(ringKey);
    await expectRefused(noKid);
  });

  test('alg "none" is refused', async () => {
    const claims = decodeJwt(user.token);
    await expectRefused(`${b64({ alg: "none", typ: "at+jwt", kid })}.${b64({ ...claims, roles: ["ADMIN"] })}.`);
    await expectRefused(`${b64({ alg: "none", typ: "at+jwt", kid })}.${b64(claims)}.${user.token.split(".")[2]}`);
  });

  test("HS256 signed with our public key (the algorithm confusion attack) is refused", async () => {
    const claims = decodeJwt(user.token);
    const publicPem = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: ringJwk.x! }, format: "jwk" }).export({ format: "pem", type: "spki" }).toString();
    for (const secret of [publicPem, Buffer.from(ringJwk.x!, "base64url"), JSON.stringify({ kty: "OKP", crv: "Ed25519", x: ringJwk.x })]) {
      const signingInput = `${b64({ alg: "HS256", typ: "at+jwt", kid })}.${b64({ ...claims, roles: ["ADMIN"] })}`;
      const mac = createHmac("sha256", secret).update(signingInput).digest("base64url");
      await expectRefused(`${signingInput}.${mac}`);
    }
  });

  test("wrong issuer, audience or typ is refused, as are missing sid/jti claims", async () => {
    await expectRefused(await reissue({ iss: "evil" }));
    await expectRefused(await reissue({ aud: "another-service" }));
    await expectRefused(await forge({ header: { typ: "JWT" } }));
    await expectRefused(await forge({ header: { typ: undefined } }));
    await expectRefused(await forge({ claims: { sid: undefined } }));
    await expectRefused(await forge({ claims: { roles: ["SUPERUSER"] } }));
  });

  async function reissue(override: { iss?: string; aud?: string }): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sid: decodeJwt(user.token).sid, roles: ["CUSTOMER"] })
      .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
      .setIssuer(override.iss ?? t.config.jwt.issuer)
      .setAudience(override.aud ?? t.config.jwt.audience)
      .setSubject(user.id)
      .setIssuedAt(now)
      .setJti("j")
      .setExpirationTime(now + 60)
      .sign(ringKey);
  }

  test("a tampered token (roles raised to ADMIN, signature kept) is refused", async () => {
    const [header, payload, signature] = user.token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
    await expectRefused(`${header}.${b64({ ...claims, roles: ["ADMIN"] })}.${signature}`);
    // One flipped character of the signature.
    const flipped = signature!.slice(0, 10) + (signature![10] === "A" ? "B" : "A") + signature!.slice(11);
    await expectRefused(`${header}.${payload}.${flipped}`);
  });

  test("a refresh token used as an access token is refused", async () => {
    await expectRefused(user.refreshToken);
  });

  test("a token of a real session but forged for another user is refused (the session check)", async () => {
    const other = await createTestUser(t);
    // Signed with our key (as if the key leaked) but naming a session of another user.
    await expectRefused(await forge({ claims: { sid: decodeJwt(other.token).sid } }), "SESSION_ENDED");
  });

  test("GET /.well-known/jwks.json and GetJwks publish the public key that verifies our tokens", async () => {
    const res = await get(`${t.baseUrl}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/jwk-set+json");
    expect(res.headers["cache-control"]).toMatch(/max-age=300/);
    const jwks = JSON.parse(res.body) as { keys: JWK[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", kid, alg: "EdDSA", use: "sig" });
    expect(jwks.keys[0]).not.toHaveProperty("d");
    const rpc = await authApi(t).getJwks({});
    expect(JSON.parse(rpc.keysJson)).toEqual(jwks);
    // An internal service verifies a token with the published set alone.
    const verified = await jwtVerify(user.token, createLocalJWKSet(jwks), { algorithms: ["EdDSA"], issuer: t.config.jwt.issuer, audience: t.config.jwt.audience, typ: "at+jwt" });
    expect(verified.payload.sub).toBe(user.id);
  });

  test("the generated key file is private: directory 0700, file 0600", () => {
    expect(fs.statSync(t.config.jwt.keysDir).mode & 0o777).toBe(0o700);
    for (const f of fs.readdirSync(t.config.jwt.keysDir)) {
      expect(fs.statSync(path.join(t.config.jwt.keysDir, f)).mode & 0o777).toBe(0o600);
    }
  });

  /** GetCurrentUser with a raw authorization header. */
  function client401(app: AuthTestApp, authorization: string) {
    const setHeader: Interceptor = (next) => async (req) => {
      req.header.set("authorization", authorization);
      return next(req);
    };
    return client(app.baseUrl, AuthService, { interceptors: [setHeader] }).getCurrentUser({});
  }
});
