// Signing in with a password, and refreshing tokens. Both end in the same SignedIn result:
// a fresh access token, the session's new refresh token and the user.
import { stopIfEnded, type CallInfo } from "../call-info";
import type { Tx } from "../db/database";
import { User } from "../db/entities";
import { auditBase, recordAudit } from "../audit/recorder";
import { invalidArgument, unauthenticated } from "../errors";
import { limits } from "../limits";
import type { AuthDeps } from "./deps";
import { isValidEmail, normalizeEmail, normalizePassword } from "./policy";
import { rolesFromColumn } from "./roles";
import { createSession, endSessions, findRefreshToken, markRefreshTokenUsed, refreshRefusal, rotateRefreshToken, type NewRefreshToken, type SessionKind } from "./sessions";
import { claimStep, hasSecondFactor, isStaff, matchingStep, refusedCodeReason, unusedRecoveryCodes, useRecoveryCode } from "./second-factor";
import { afterSuccessfulCheck, checkAttempt, inTurn } from "./attempts";
import { recordFailure, releaseAttempt, throttleKeys, type ThrottleKeys } from "./throttle";
import { findUserByEmail, findUserById, isDisabled, type UserEntity } from "./users";

export interface SignedIn {
  accessToken: string;
  accessExpireMs: number;
  refresh: NewRefreshToken;
  user: UserEntity;
  /** The session is enrolment-only: staff without a second factor (issue 27). */
  enrolmentOnly: boolean;
}

export interface LoginInput {
  email: string;
  password: string;
  /** The authenticator's current code, for a user with a second factor. */
  totpCode?: string;
  /** One of the user's recovery codes, instead of totpCode. */
  recoveryCode?: string;
}

/** Longest second-factor input looked at: a recovery code with generous spacing. */
const SECOND_FACTOR_CHARS_MAX = 64;

/** Longest raw password input looked at; beyond it nothing can match (the policy allows 128
 * characters after NFKC, which a raw input 4 times as long cannot need). */
const RAW_PASSWORD_CHARS_MAX = limits.passwordCharsMax * 4;

export async function login(deps: AuthDeps, info: CallInfo, input: LoginInput): Promise<SignedIn> {
  if (input.password.length > RAW_PASSWORD_CHARS_MAX) throw invalidArgument("PASSWORD_TOO_LONG", `The password must have at most ${limits.passwordCharsMax} characters.`);
  const totpCode = (input.totpCode ?? "").trim();
  const recoveryCode = (input.recoveryCode ?? "").trim();
  // The shape of the input only: says nothing about the account.
  if (totpCode !== "" && recoveryCode !== "") throw invalidArgument("SECOND_FACTOR_AMBIGUOUS", "Give either totp_code or recovery_code, not both.");
  if (totpCode.length > SECOND_FACTOR_CHARS_MAX || recoveryCode.length > SECOND_FACTOR_CHARS_MAX) throw invalidArgument("SECOND_FACTOR_TOO_LONG", "The code is too long.");
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
    // The password checked out. (The user as read before argon2: a second factor confirmed or
    // reset meanwhile only makes this sign-in enrolment-only, or ask for a code that a reset
    // also makes useless; either is safe.)
    if (hasSecondFactor(user)) {
      const used = await secondFactor(deps, info, keys, user, { totpCode, recoveryCode });
      return startSession(deps, info, user, keys, check.rehashed, "staff", used);
    }
    // Staff without a second factor may only enrol (the console takes them there).
    return startSession(deps, info, user, keys, check.rehashed, isStaff(user.roles) ? "enrolment" : "customer");
  });
}

/**
 * The second factor of a user who has one, after the right password. No code at all:
 * SECOND_FACTOR_REQUIRED, and the attempt's reservation stands (so that asking without a code
 * between guesses of codes resets nothing), but the account-wide count is not raised (the
 * console asks in two steps). A wrong, stale or replayed code, or an unknown or used recovery
 * code: a failure like a wrong password (pair, address and account counts), audited.
 */
async function secondFactor(deps: AuthDeps, info: CallInfo, keys: ThrottleKeys, user: UserEntity, input: { totpCode: string; recoveryCode: string }): Promise<Record<string, unknown>> {
  const nowMs = deps.clock.now();
  if (input.totpCode === "" && input.recoveryCode === "") {
    await deps.db.transaction((tx) =>
      recordAudit(tx, { ...auditBase(info), actorId: user.id, action: "auth.login", targetId: user.id, outcome: "DENIED", details: { reason: "second_factor_required" } }, nowMs),
    );
    throw unauthenticated("SECOND_FACTOR_REQUIRED", "Enter the code from your authenticator app (or a recovery code).");
  }
  if (input.recoveryCode !== "") {
    const left = await deps.db.transaction(async (tx) => ((await useRecoveryCode(tx, user.id, input.recoveryCode, nowMs)) ? unusedRecoveryCodes(tx, user.id) : undefined));
    if (left === undefined) {
      await loginFailed(deps, info, keys, user, "recovery_code_invalid");
      throw secondFactorInvalid();
    }
    return { second_factor: "recovery_code", recovery_codes_left: left };
  }
  const secret = deps.totp.box.open(user.totpSecret!, user.id);
  const step = matchingStep(secret, input.totpCode, nowMs);
  if (step === undefined) {
    await loginFailed(deps, info, keys, user, refusedCodeReason(secret, input.totpCode, nowMs));
    throw secondFactorInvalid();
  }
  if (!(await deps.db.transaction((tx) => claimStep(tx, user.id, step)))) {
    await loginFailed(deps, info, keys, user, "totp_replayed");
    throw secondFactorInvalid();
  }
  return { second_factor: "totp" };
}

async function loginFailed(deps: AuthDeps, info: CallInfo, keys: ThrottleKeys, user: UserEntity | undefined, reason: string): Promise<void> {
  const nowMs = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await recordFailure(tx, keys, nowMs);
    await recordAudit(tx, { ...auditBase(info), actorId: user?.id ?? "anonymous", action: "auth.login", targetId: user?.id ?? "", outcome: "FAILED", details: { reason } }, nowMs);
  });
}

async function startSession(
  deps: AuthDeps,
  info: CallInfo,
  user: UserEntity,
  keys: ThrottleKeys,
  rehashed: string | undefined,
  kind: SessionKind,
  secondFactorDetails: Record<string, unknown> = {},
): Promise<SignedIn> {
  const nowMs = deps.clock.now();
  const { sessionId, refresh } = await afterSuccessfulCheck(deps, keys, () => deps.db.transaction(async (tx) => {
    // Only replace the hash that was verified: a concurrent password change wins.
    if (rehashed) await tx.em.nativeUpdate(User, { id: user.id, passwordHash: user.passwordHash }, { passwordHash: rehashed, updateTime: nowMs });
    await releaseAttempt(tx, keys);
    const session = createSession(tx, { userId: user.id, userAgent: info.userAgent, clientAddress: info.clientAddress, kind }, nowMs);
    await recordAudit(tx, {
      ...auditBase(info),
      actorId: user.id,
      action: "auth.login",
      targetId: user.id,
      outcome: "SUCCESS",
      details: { session_id: session.sessionId, argon2_costs_upgraded: rehashed !== undefined, ...(kind === "enrolment" ? { enrolment_only: true } : {}), ...secondFactorDetails },
    }, nowMs);
    return session;
    // A caller whose deadline passed, or who went away, gets no session: it could never learn
    // its tokens (rolled back unless COMMIT was already sent); the attempt is released all the
    // same (afterSuccessfulCheck).
  }, { signal: info.signal }));
  const enrolmentOnly = kind === "enrolment";
  const access = await deps.tokens.issue({ userId: user.id, sessionId, roles: rolesFromColumn(user.roles), enrolmentOnly }, nowMs);
  return { accessToken: access.token, accessExpireMs: access.claims.expireMs, refresh, user, enrolmentOnly };
}

type RefreshOutcome =
  | { kind: "ok"; user: UserEntity; sessionId: string; refresh: NewRefreshToken; enrolmentOnly: boolean }
  | { kind: "invalid" }
  | { kind: "reused" }
  | { kind: "idle" }
  | { kind: "expired" };

/** Rotates the refresh token. A token presented a second time (a replay, or the loser of two
 * concurrent refreshes) is treated as stolen: the whole session ends, and that is audited. A
 * staff session idle past limits.staffSessionIdleMs, or past its absolute lifetime, is ended
 * and refused with the reason (SESSION_IDLE, SESSION_EXPIRED). */
export async function refreshTokens(deps: AuthDeps, info: CallInfo, token: string): Promise<SignedIn> {
  if (token.length === 0 || token.length > limits.tokenCharsMax) throw invalidRefreshToken();
  const nowMs = deps.clock.now();
  // With the call's signal: a refresh whose caller is gone is rolled back whole, so its refresh
  // token stays usable (rotating it for nobody would end the session at the next refresh).
  const outcome = await deps.db.transaction((tx) => rotate(deps, info, tx, token, nowMs), { signal: info.signal });
  if (outcome.kind === "idle") throw unauthenticated("SESSION_IDLE", `The session was idle for more than ${limits.staffSessionIdleMs / 60_000} minutes and has ended; sign in again.`);
  if (outcome.kind === "expired") throw unauthenticated("SESSION_EXPIRED", "The session has reached its longest lifetime and has ended; sign in again.");
  if (outcome.kind !== "ok") throw invalidRefreshToken();
  const access = await deps.tokens.issue({ userId: outcome.user.id, sessionId: outcome.sessionId, roles: rolesFromColumn(outcome.user.roles), enrolmentOnly: outcome.enrolmentOnly }, nowMs);
  return { accessToken: access.token, accessExpireMs: access.claims.expireMs, refresh: outcome.refresh, user: outcome.user, enrolmentOnly: outcome.enrolmentOnly };
}

async function rotate(deps: AuthDeps, info: CallInfo, tx: Tx, token: string, nowMs: number): Promise<RefreshOutcome> {
  const found = await findRefreshToken(tx, token);
  if (!found) return { kind: "invalid" };
  const { session } = found;
  const { id: sessionId, userId } = session;
  const refusal = refreshRefusal(session, nowMs);
  if (refusal === "idle" || (refusal === "expired" && session.idleTimeoutMs !== null)) {
    // A staff session past its limits: ended now (it was dead already; this records why).
    await endSessions(deps, tx, { userId, sessionId }, refusal === "idle" ? "idle" : "lifetime reached", nowMs);
    await recordAudit(tx, { ...auditBase(info), actorId: userId, action: "auth.refresh", targetId: sessionId, outcome: "DENIED", details: { session_id: sessionId, reason: refusal === "idle" ? "session_idle" : "session_expired" } }, nowMs);
    return { kind: refusal };
  }
  if (refusal !== undefined || found.token.expireTime <= nowMs) return { kind: "invalid" };
  if (found.token.usedTime !== null || !(await markRefreshTokenUsed(tx, token, nowMs))) {
    await endSessions(deps, tx, { userId, sessionId }, "refresh token reused", nowMs);
    await recordAudit(tx, { ...auditBase(info), actorId: userId, action: "auth.refresh_reuse", targetId: sessionId, outcome: "DENIED", details: { session_id: sessionId } }, nowMs);
    return { kind: "reused" };
  }
  const user = await findUserById(tx, userId);
  if (!user || isDisabled(user)) return { kind: "invalid" };
  const refresh = await rotateRefreshToken(tx, session, nowMs);
  await recordAudit(tx, { ...auditBase(info), actorId: user.id, action: "auth.refresh", targetId: sessionId, outcome: "SUCCESS", details: { session_id: sessionId } }, nowMs);
  return { kind: "ok", user, sessionId, refresh, enrolmentOnly: Number(session.enrolmentOnly) === 1 };
}

function invalidCredentials() {
  return unauthenticated("INVALID_CREDENTIALS", "The email or password is incorrect.");
}

function secondFactorInvalid() {
  return unauthenticated("SECOND_FACTOR_INVALID", "The code is not valid (wrong, already used, or too old); enter the current code.");
}

function invalidRefreshToken() {
  return unauthenticated("REFRESH_TOKEN_INVALID", "The refresh token is not valid; sign in again.");
}
