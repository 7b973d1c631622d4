// Service accounts (issue 27): machine identities that get access tokens by signing an
// assertion with their own Ed25519 key, RFC 7523's JWT bearer shape. The private key never
// leaves the service; bankd stores only public keys, identified by their RFC 7638 thumbprint.
//
// IssueServiceToken checks an assertion in this order, each failure UNAUTHENTICATED with its
// own reason and an aggregated audit event: its shape (a compact JWS, alg EdDSA, a kid, iss = sub
// = a service account id) -> the key (known, of that account, not revoked) -> the signature and
// claims (aud = our issuer, exp in the future, at most limits.serviceAssertionLifetimeSecondsMax
// ahead, a jti) -> the account (enabled) -> the jti (never seen: recorded until exp, unique
// across processes by the table's primary key). Then a session bound to the key is created and
// the access token issued; revoking the key or disabling the account ends it at the next session
// check, as for users.
import { createHash } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type JWK } from "jose";
import { auditBase, recordAudit } from "../audit/recorder";
import type { CallInfo } from "../call-info";
import { classifyDbError } from "../db/errors";
import { ServiceAccount, ServiceAccountKey, ServiceAssertion, ServiceSession, type ServiceAccountKeyEntity } from "../db/entities";
import { DomainError, unauthenticated } from "../errors";
import { isUuid, uuidv7 } from "../util/ids";
import { limits } from "../limits";
import type { AuthDeps } from "./deps";
import { isActiveKey, serviceRolesOf } from "./service-keys";

export interface IssuedServiceToken {
  accessToken: string;
  expireMs: number;
  serviceAccountId: string;
}

/** Why an assertion was refused: the ErrorInfo reason, and the audit's. */
type AssertionFault =
  | "ASSERTION_MALFORMED"
  | "ASSERTION_KEY_UNKNOWN"
  | "ASSERTION_KEY_REVOKED"
  | "ASSERTION_SIGNATURE_INVALID"
  | "ASSERTION_EXPIRED"
  | "ASSERTION_AUDIENCE_INVALID"
  | "ASSERTION_CLAIMS_INVALID"
  | "ASSERTION_LIFETIME_TOO_LONG"
  | "ASSERTION_REPLAYED"
  | "SERVICE_ACCOUNT_DISABLED";

const FAULT_MESSAGES: Record<AssertionFault, string> = {
  ASSERTION_MALFORMED: "The assertion must be a compact JWS signed EdDSA, with a kid header and iss = sub = the service account's ID.",
  ASSERTION_KEY_UNKNOWN: "No active key with this kid belongs to this service account.",
  ASSERTION_KEY_REVOKED: "The key that signed the assertion has been revoked.",
  ASSERTION_SIGNATURE_INVALID: "The assertion's signature does not verify with the key its kid names.",
  ASSERTION_EXPIRED: "The assertion has expired (exp is in the past); sign a new one.",
  ASSERTION_AUDIENCE_INVALID: "The assertion's aud must be bankd's issuer (GetJwks' tokens carry it as iss).",
  ASSERTION_CLAIMS_INVALID: "The assertion needs iss, sub, aud, exp and jti, with iss = sub, and no iat or nbf in the future.",
  ASSERTION_LIFETIME_TOO_LONG: `The assertion's exp must be at most ${limits.serviceAssertionLifetimeSecondsMax} seconds ahead.`,
  ASSERTION_REPLAYED: "This assertion (its jti) has been used already; sign a new one with a fresh jti.",
  SERVICE_ACCOUNT_DISABLED: "The service account is disabled.",
};

class AssertionRefused extends Error {
  constructor(
    readonly fault: AssertionFault,
    readonly serviceAccountId: string,
  ) {
    super(fault);
  }
}

/** AuthService.IssueServiceToken. */
export async function issueServiceToken(deps: AuthDeps, info: CallInfo, assertion: string): Promise<IssuedServiceToken> {
  try {
    return await checkAndIssue(deps, info, assertion);
  } catch (err) {
    if (!(err instanceof AssertionRefused)) throw err;
    // One event per fault, account and address and window: a service retrying a stale
    // assertion, or someone forging them, costs one row, not one per call.
    deps.refusals.note(`auth.service_token:${err.fault}:${err.serviceAccountId}:${info.clientAddress}`, {
      ...auditBase(info),
      actorId: err.serviceAccountId || "anonymous",
      action: "auth.service_token",
      targetId: err.serviceAccountId,
      outcome: "DENIED",
      details: { reason: err.fault },
    });
    throw unauthenticated(err.fault, FAULT_MESSAGES[err.fault]);
  }
}

async function checkAndIssue(deps: AuthDeps, info: CallInfo, assertion: string): Promise<IssuedServiceToken> {
  const claimed = claimedIdentity(assertion);
  const refuse = (fault: AssertionFault): never => {
    throw new AssertionRefused(fault, claimed.serviceAccountId);
  };
  const { account, key } = await deps.db.read(async (tx) => ({
    account: await tx.em.findOne(ServiceAccount, { id: claimed.serviceAccountId }, { disableIdentityMap: true }),
    key: await tx.em.findOne(ServiceAccountKey, { keyId: claimed.keyId, serviceAccountId: claimed.serviceAccountId }, { disableIdentityMap: true }),
  }));
  if (!account || !key) return refuse("ASSERTION_KEY_UNKNOWN");
  if (!isActiveKey(key)) return refuse("ASSERTION_KEY_REVOKED");
  const nowMs = deps.clock.now();
  const claims = await verifyAssertion(assertion, key, { serviceAccountId: claimed.serviceAccountId, audience: deps.tokens.issuer, nowMs }, refuse);
  if (claims.expMs - nowMs > (limits.serviceAssertionLifetimeSecondsMax + limits.jwtClockToleranceSeconds) * 1000) refuse("ASSERTION_LIFETIME_TOO_LONG");
  if (account.disabled !== 0) refuse("SERVICE_ACCOUNT_DISABLED");
  const roles = serviceRolesOf(account);
  const sessionId = uuidv7(nowMs);
  const ttlSeconds = Math.min(limits.serviceTokenTtlSeconds, deps.tokens.ttlSeconds);
  const expireMs = (Math.floor(nowMs / 1000) + ttlSeconds) * 1000;
  try {
    await deps.db.transaction(async (tx) => {
      // Seen assertions are kept until their exp (and the clock tolerance) has passed: after
      // that the assertion is refused as expired anyway.
      await tx.em.nativeDelete(ServiceAssertion, { expireTime: { $lt: nowMs - limits.jwtClockToleranceSeconds * 1000 } });
      // Inserted at once (not at the flush): a jti seen before, here or in another process
      // at the same moment, fails on the primary key.
      await tx.em.insert(ServiceAssertion, { assertionHash: assertionHash(claimed.serviceAccountId, claims.jti), serviceAccountId: account.id, expireTime: claims.expMs });
      tx.em.create(ServiceSession, { id: sessionId, serviceAccountId: account.id, keyId: key.keyId, createTime: nowMs, expireTime: expireMs });
      await recordAudit(tx, {
        ...auditBase(info),
        actorId: account.id,
        action: "auth.service_token",
        targetId: account.id,
        outcome: "SUCCESS",
        details: { session_id: sessionId, key_id: key.keyId },
      }, nowMs);
    }, { signal: info.signal });
  } catch (err) {
    if (classifyDbError(err) === "unique") refuse("ASSERTION_REPLAYED");
    throw err;
  }
  const access = await deps.tokens.issue({ userId: account.id, sessionId, roles, subjectType: "service", ttlSeconds }, nowMs);
  return { accessToken: access.token, expireMs: access.claims.expireMs, serviceAccountId: account.id };
}

/** The account and key an assertion names, read without trusting it (to find the key that
 * must verify it). */
function claimedIdentity(assertion: string): { serviceAccountId: string; keyId: string } {
  const malformed = (id = "") => new AssertionRefused("ASSERTION_MALFORMED", id);
  if (assertion.length === 0 || assertion.length > limits.serviceAssertionCharsMax) throw malformed();
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(assertion);
    payload = decodeJwt(assertion);
  } catch {
    throw malformed();
  }
  const iss = typeof payload.iss === "string" && isUuid(payload.iss) ? payload.iss : "";
  if (header.alg !== "EdDSA" || typeof header.kid !== "string" || header.kid === "" || header.kid.length > 128 || iss === "") throw malformed();
  if (payload.sub !== iss) throw new AssertionRefused("ASSERTION_CLAIMS_INVALID", iss);
  return { serviceAccountId: iss, keyId: header.kid };
}

async function verifyAssertion(
  assertion: string,
  key: ServiceAccountKeyEntity,
  { serviceAccountId, audience, nowMs }: { serviceAccountId: string; audience: string; nowMs: number },
  refuse: (fault: AssertionFault) => never,
): Promise<{ jti: string; expMs: number }> {
  const publicKey = await importJWK(JSON.parse(key.publicJwk) as JWK, "EdDSA");
  try {
    const { payload } = await jwtVerify(assertion, publicKey, {
      algorithms: ["EdDSA"],
      issuer: serviceAccountId,
      subject: serviceAccountId,
      audience,
      requiredClaims: ["iss", "sub", "aud", "exp", "jti"],
      clockTolerance: limits.jwtClockToleranceSeconds,
      currentDate: new Date(nowMs),
    });
    const { jti, exp } = payload;
    if (typeof jti !== "string" || jti === "" || jti.length > limits.serviceAssertionJtiCharsMax || typeof exp !== "number") return refuse("ASSERTION_CLAIMS_INVALID");
    return { jti, expMs: exp * 1000 };
  } catch (err) {
    if (err instanceof AssertionRefused) throw err;
    if (err instanceof joseErrors.JWTExpired) return refuse("ASSERTION_EXPIRED");
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) return refuse("ASSERTION_SIGNATURE_INVALID");
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "aud") return refuse("ASSERTION_AUDIENCE_INVALID");
    if (err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTInvalid) return refuse("ASSERTION_CLAIMS_INVALID");
    if (err instanceof DomainError) throw err;
    return refuse("ASSERTION_MALFORMED");
  }
}

/** A seen assertion's key: the account and its jti, hashed to a fixed size. */
function assertionHash(serviceAccountId: string, jti: string): string {
  return createHash("sha256").update(`${serviceAccountId}\0${jti}`, "utf8").digest("hex");
}
