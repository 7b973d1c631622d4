// Signing in with a password, and refreshing tokens. Both end in the same SignedIn result:
// a fresh access token, the session's new refresh token and the user.
import { stopIfEnded, type CallInfo } from "../context";
import type { Tx } from "../db/database";
import { User } from "../db/entities";
import { auditBase, recordAudit } from "../audit/recorder";
import { invalidArgument, unauthenticated } from "../errors";
import { limits } from "../limits";
import type { AuthDeps } from "./deps";
import { isValidEmail, normalizeEmail, normalizePassword } from "./policy";
import { rolesFromColumn } from "./roles";
import { createSession, endSessions, findRefreshToken, isLive, markRefreshTokenUsed, rotateRefreshToken, type NewRefreshToken } from "./sessions";
import { afterSuccessfulCheck, checkAttempt, inTurn } from "./attempts";
import { recordFailure, releaseAttempt, throttleKeys, type ThrottleKeys } from "./throttle";
import { findUserByEmail, findUserById, isDisabled, type UserEntity } from "./users";

export interface SignedIn {
  accessToken: string;
  accessExpireMs: number;
  refresh: NewRefreshToken;
  user: UserEntity;
}

/** Longest raw password input looked at; beyond it nothing can match (the policy allows 128
 * characters after NFKC, which a raw input 4 times as long cannot need). */
const RAW_PASSWORD_CHARS_MAX = limits.passwordCharsMax * 4;

export async function login(deps: AuthDeps, info: CallInfo, input: { email: string; password: string }): Promise<SignedIn> {
  if (input.password.length > RAW_PASSWORD_CHARS_MAX) throw invalidArgument("PASSWORD_TOO_LONG", `The password must have at most ${limits.passwordCharsMax} characters.`);
  const email = normalizeEmail(input.email);
  const password = normalizePassword(input.password);
  const keys = throttleKeys(email, info.clientAddress);
  // Looked up first, so that a throttled attempt is audited against the user it was aimed at.
  const user = isValidEmail(email) ? await deps.db.read((tx) => findUserByEmail(tx, email)) : undefined;
  const attempt = { keys, action: "auth.login", userId: user?.id };
  return inTurn(deps, attempt, async () => {
    // No argon2 work (and no throttle reservation) for a caller whose deadline has passed.
    stopIfEnded(info);
    // An unknown email costs one verification too, so that timing does not reveal which exist.
    const check = await checkAttempt(deps, info, attempt, () =>
      user ? deps.hasher.verify(user.passwordHash, password) : deps.hasher.verifyDummy(password).then((ok) => ({ ok, rehashed: undefined })),
    );
    // A disabled user with the right password gets the answer of wrong credentials (issue 15,
    // W11: no oracle of the password), counted by the throttle like any failure; the audit
    // records the truth.
    const failure = !user ? "unknown_email" : !check.ok ? "wrong_password" : isDisabled(user) ? "user_disabled" : undefined;
    if (!user || failure) {
      await loginFailed(deps, info, keys, user, failure ?? "unknown_email");
      throw invalidCredentials();
    }
    return startSession(deps, info, user, keys, check.rehashed);
  });
}

async function loginFailed(deps: AuthDeps, info: CallInfo, keys: ThrottleKeys, user: UserEntity | undefined, reason: string): Promise<void> {
  const nowMs = Date.now();
  await deps.db.transaction(async (tx) => {
    await recordFailure(tx, keys, nowMs);
    await recordAudit(tx, { ...auditBase(info), actorId: user?.id ?? "anonymous", action: "auth.login", targetId: user?.id ?? "", outcome: "FAILED", details: { reason } }, nowMs);
  });
}

async function startSession(deps: AuthDeps, info: CallInfo, user: UserEntity, keys: ThrottleKeys, rehashed: string | undefined): Promise<SignedIn> {
  const nowMs = Date.now();
  const { sessionId, refresh } = await afterSuccessfulCheck(deps, keys, () => deps.db.transaction(async (tx) => {
    // Only replace the hash that was verified: a concurrent password change wins.
    if (rehashed) await tx.em.nativeUpdate(User, { id: user.id, passwordHash: user.passwordHash }, { passwordHash: rehashed, updateTime: nowMs });
    await releaseAttempt(tx, keys);
    const session = createSession(tx, { userId: user.id, userAgent: info.userAgent, clientAddress: info.clientAddress }, nowMs);
    await recordAudit(tx, { ...auditBase(info), actorId: user.id, action: "auth.login", targetId: user.id, outcome: "SUCCESS", details: { session_id: session.sessionId, argon2_costs_upgraded: rehashed !== undefined } }, nowMs);
    return session;
    // A caller whose deadline passed, or who went away, gets no session: it could never learn
    // its tokens (rolled back unless COMMIT was already sent); the attempt is released all the
    // same (afterSuccessfulCheck).
  }, { signal: info.signal }));
  const access = await deps.tokens.issue({ userId: user.id, sessionId, roles: rolesFromColumn(user.roles) }, nowMs);
  return { accessToken: access.token, accessExpireMs: access.claims.expireMs, refresh, user };
}

type RefreshOutcome = { kind: "ok"; user: UserEntity; sessionId: string; refresh: NewRefreshToken } | { kind: "invalid" } | { kind: "reused" };

/** Rotates the refresh token. A token presented a second time (a replay, or the loser of two
 * concurrent refreshes) is treated as stolen: the whole session ends, and that is audited. */
export async function refreshTokens(deps: AuthDeps, info: CallInfo, token: string): Promise<SignedIn> {
  if (token.length === 0 || token.length > limits.tokenCharsMax) throw invalidRefreshToken();
  const nowMs = Date.now();
  // With the call's signal: a refresh whose caller is gone is rolled back whole, so its refresh
  // token stays usable (rotating it for nobody would end the session at the next refresh).
  const outcome = await deps.db.transaction((tx) => rotate(deps, info, tx, token, nowMs), { signal: info.signal });
  if (outcome.kind !== "ok") throw invalidRefreshToken();
  const access = await deps.tokens.issue({ userId: outcome.user.id, sessionId: outcome.sessionId, roles: rolesFromColumn(outcome.user.roles) }, nowMs);
  return { accessToken: access.token, accessExpireMs: access.claims.expireMs, refresh: outcome.refresh, user: outcome.user };
}

async function rotate(deps: AuthDeps, info: CallInfo, tx: Tx, token: string, nowMs: number): Promise<RefreshOutcome> {
  const found = await findRefreshToken(tx, token);
  if (!found || !isLive(found.session, nowMs) || found.token.expireTime <= nowMs) return { kind: "invalid" };
  const { id: sessionId, userId } = found.session;
  if (found.token.usedTime !== null || !(await markRefreshTokenUsed(tx, token, nowMs))) {
    await endSessions(deps, tx, { userId, sessionId }, "refresh token reused", nowMs);
    await recordAudit(tx, { ...auditBase(info), actorId: userId, action: "auth.refresh_reuse", targetId: sessionId, outcome: "DENIED", details: { session_id: sessionId } }, nowMs);
    return { kind: "reused" };
  }
  const user = await findUserById(tx, userId);
  if (!user || isDisabled(user)) return { kind: "invalid" };
  const refresh = await rotateRefreshToken(tx, sessionId, nowMs);
  await recordAudit(tx, { ...auditBase(info), actorId: user.id, action: "auth.refresh", targetId: sessionId, outcome: "SUCCESS", details: { session_id: sessionId } }, nowMs);
  return { kind: "ok", user, sessionId, refresh };
}

function invalidCredentials() {
  return unauthenticated("INVALID_CREDENTIALS", "The email or password is incorrect.");
}

function invalidRefreshToken() {
  return unauthenticated("REFRESH_TOKEN_INVALID", "The refresh token is not valid; sign in again.");
}
