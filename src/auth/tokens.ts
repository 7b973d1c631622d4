// Access tokens: JWTs signed EdDSA (Ed25519) with kid and typ "at+jwt" (RFC 9068). Every
// verification option is explicit: the algorithm, issuer, audience, typ and the required
// claims are pinned, so tokens signed with "none", an HMAC over the public key, another
// issuer's key, or for another audience are all refused.
import { randomUUID } from "node:crypto";
import { SignJWT, errors as joseErrors, jwtVerify, type JWTHeaderParameters, type FlattenedJWSInput } from "jose";
import type { Config } from "../config";
import { limits } from "../limits";
import { systemClock, type Clock } from "../util/clock";
import { roleName, type Role } from "../roles";
import type { KeyRing } from "./keys";
import { tokenRoleFromName } from "./roles";

export const ACCESS_TOKEN_TYP = "at+jwt";
const ALGORITHMS = ["EdDSA"];

/** Whose token: a user's (a person) or a service account's (issue 27). In the JWT, a service's
 * token carries the claim `typ: "service"` (RFC 9068's header typ stays "at+jwt" for both, so
 * verifiers written for user tokens accept it); a user's carries none. */
export type SubjectType = "user" | "service";
export const SERVICE_TOKEN_CLAIM_TYP = "service";

export interface AccessClaims {
  /** The user's id, or the service account's. */
  userId: string;
  sessionId: string;
  roles: Role[];
  tokenId: string;
  issuedAtMs: number;
  expireMs: number;
  subjectType: SubjectType;
  /** A staff user's token before a second factor is enrolled (claim `enrolment_only: true`):
   * the interceptor lets it call only the methods marked second_factor_enrolment. */
  enrolmentOnly: boolean;
}

export interface TokenSubject {
  userId: string;
  sessionId: string;
  roles: readonly Role[];
  subjectType?: SubjectType;
  enrolmentOnly?: boolean;
  /** Shorter than the configured lifetime (a service token never outlives its assertion's
   * allowance); never longer. */
  ttlSeconds?: number;
}

export interface IssuedToken {
  token: string;
  claims: AccessClaims;
}

export type VerifyFailure = "expired" | "invalid";

export class TokenVerificationError extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(`access token ${failure}`);
    this.name = "TokenVerificationError";
  }
}

export class AccessTokens {
  constructor(
    private readonly ring: KeyRing,
    private readonly jwt: Config["jwt"],
    private readonly clock: Clock = systemClock,
  ) {}

  /** Our issuer: the `iss` of our tokens, and the `aud` service assertions must name. */
  get issuer(): string {
    return this.jwt.issuer;
  }

  /** The configured access token lifetime. */
  get ttlSeconds(): number {
    return this.jwt.accessTokenTtlSeconds;
  }

  async issue(subject: TokenSubject, nowMs: number = this.clock.now()): Promise<IssuedToken> {
    const key = this.ring.signer;
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + Math.min(subject.ttlSeconds ?? this.jwt.accessTokenTtlSeconds, this.jwt.accessTokenTtlSeconds);
    const tokenId = randomUUID();
    const subjectType = subject.subjectType ?? "user";
    const enrolmentOnly = subject.enrolmentOnly === true;
    const payload: Record<string, unknown> = { sid: subject.sessionId, roles: subject.roles.map(roleName) };
    if (subjectType === "service") payload.typ = SERVICE_TOKEN_CLAIM_TYP;
    if (enrolmentOnly) payload.enrolment_only = true;
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: ACCESS_TOKEN_TYP })
      .setIssuer(this.jwt.issuer)
      .setAudience(this.jwt.audience)
      .setSubject(subject.userId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(tokenId)
      .sign(key.privateKey);
    const claims: AccessClaims = { userId: subject.userId, sessionId: subject.sessionId, roles: [...subject.roles], tokenId, issuedAtMs: iat * 1000, expireMs: exp * 1000, subjectType, enrolmentOnly };
    return { token, claims };
  }

  /** The token's claims, or TokenVerificationError. Says nothing about the session. */
  async verify(token: string): Promise<AccessClaims> {
    const nowMs = this.clock.now();
    try {
      const { payload } = await jwtVerify(token, (header: JWTHeaderParameters, _token: FlattenedJWSInput) => this.keyFor(header), {
        algorithms: ALGORITHMS,
        issuer: this.jwt.issuer,
        audience: this.jwt.audience,
        typ: ACCESS_TOKEN_TYP,
        requiredClaims: ["iss", "aud", "sub", "sid", "roles", "iat", "exp", "jti"],
        clockTolerance: limits.jwtClockToleranceSeconds,
        currentDate: new Date(nowMs),
      });
      return withSaneTimes(claimsOf(payload), this.jwt.accessTokenTtlSeconds, nowMs);
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenVerificationError("expired");
      throw new TokenVerificationError("invalid");
    }
  }

  private async keyFor(header: JWTHeaderParameters): Promise<CryptoKey> {
    const key = typeof header.kid === "string" ? await this.ring.find(header.kid) : undefined;
    if (!key) throw new TokenVerificationError("invalid");
    return key.publicKey;
  }
}

/** jose checks exp (and nbf), not iat: a token issued in the future (beyond the clock
 * tolerance) or living longer than we issue them was not made by this configuration, whoever
 * signed it (a leaked key, a misconfigured signer), and is refused (issue 15). */
function withSaneTimes(claims: AccessClaims, lifetimeSecondsMax: number, nowMs: number): AccessClaims {
  if (claims.issuedAtMs > nowMs + limits.jwtClockToleranceSeconds * 1000) throw new TokenVerificationError("invalid");
  if (claims.expireMs - claims.issuedAtMs > lifetimeSecondsMax * 1000) throw new TokenVerificationError("invalid");
  return claims;
}

function claimsOf(payload: Record<string, unknown>): AccessClaims {
  const { sub, sid, jti, iat, exp, roles, typ, enrolment_only: enrolmentOnly } = payload;
  if (typeof sub !== "string" || typeof sid !== "string" || typeof jti !== "string") throw new TokenVerificationError("invalid");
  if (typeof iat !== "number" || typeof exp !== "number" || !Array.isArray(roles)) throw new TokenVerificationError("invalid");
  const parsed = roles.map((name) => (typeof name === "string" ? tokenRoleFromName(name) : undefined));
  if (parsed.some((r) => r === undefined)) throw new TokenVerificationError("invalid");
  if (typ !== undefined && typ !== SERVICE_TOKEN_CLAIM_TYP) throw new TokenVerificationError("invalid");
  if (enrolmentOnly !== undefined && enrolmentOnly !== true) throw new TokenVerificationError("invalid");
  const subjectType: SubjectType = typ === SERVICE_TOKEN_CLAIM_TYP ? "service" : "user";
  // A service never enrols a second factor: a token claiming both was not made by us.
  if (subjectType === "service" && enrolmentOnly === true) throw new TokenVerificationError("invalid");
  return { userId: sub, sessionId: sid, roles: parsed as Role[], tokenId: jti, issuedAtMs: iat * 1000, expireMs: exp * 1000, subjectType, enrolmentOnly: enrolmentOnly === true };
}
