// Enrolling a staff member's TOTP second factor (issue 27): EnrollTotp makes a secret and keeps
// it (encrypted) in a pending enrolment; ConfirmTotp checks a first code against it, makes it the
// user's, hands out ten recovery codes once, and, when called from an enrolment-only session,
// ends that session and starts a full one (the password was checked at its sign-in, the second
// factor now).
import { auditBase, recordAudit } from "../audit/recorder";
import type { CallInfo, Principal } from "../call-info";
import { TotpEnrolment, User } from "../db/entities";
import { alreadyExists, invalidArgument, notFound, unauthenticated } from "../errors";
import { uuidv7, isUuid } from "../util/ids";
import { limits } from "../limits";
import type { AuthDeps } from "./deps";
import { rolesFromColumn } from "./roles";
import { hasSecondFactor, isCodeShaped, matchingStep, newRecoveryCodes, newTotpSecret, otpauthUri, storeRecoveryCodes } from "./second-factor";
import { createSession, endSessions, type NewRefreshToken } from "./sessions";
import { findUserById, type UserEntity } from "./users";

export interface Enrolment {
  enrolmentId: string;
  secret: string;
  otpauthUri: string;
  expireMs: number;
}

export interface Confirmed {
  recoveryCodes: string[];
  user: UserEntity;
  /** The full session that replaced an enrolment-only one. */
  signedIn?: { accessToken: string; accessExpireMs: number; refresh: NewRefreshToken };
}

export async function enrollTotp(deps: AuthDeps, info: CallInfo, principal: Principal): Promise<Enrolment> {
  const nowMs = deps.clock.now();
  const secret = newTotpSecret();
  return deps.db.transaction(async (tx) => {
    const user = await findUserById(tx, principal.userId);
    if (!user) throw unauthenticated("SESSION_ENDED", "The user of this access token no longer exists.");
    if (hasSecondFactor(user)) throw alreadyExists("SECOND_FACTOR_ENROLLED", "You already have a second factor; an administrator can reset it.");
    // One pending enrolment per user: a new one replaces any earlier.
    await tx.em.nativeDelete(TotpEnrolment, { userId: user.id });
    const enrolmentId = uuidv7(nowMs);
    const expireMs = nowMs + limits.totpEnrolmentTtlMs;
    tx.em.create(TotpEnrolment, { id: enrolmentId, userId: user.id, secret: deps.totp.box.seal(secret, user.id), createTime: nowMs, expireTime: expireMs });
    await recordAudit(tx, { ...auditBase(info), action: "auth.totp_enroll", targetId: user.id, outcome: "SUCCESS", details: { enrolment_id: enrolmentId } }, nowMs);
    return { enrolmentId, secret, otpauthUri: otpauthUri(secret, deps.totp.issuer, user.email), expireMs };
  }, { signal: info.signal });
}

export async function confirmTotp(deps: AuthDeps, info: CallInfo, principal: Principal, input: { enrolmentId: string; code: string }): Promise<Confirmed> {
  if (!isUuid(input.enrolmentId)) throw invalidArgument("INVALID_ENROLMENT_ID", "enrolment_id must be the enrolment_id of EnrollTotp.", { field: "enrolment_id" });
  const code = input.code.trim();
  if (!isCodeShaped(code)) throw invalidArgument("TOTP_CODE_INVALID", `The code has ${limits.totpDigits} digits.`, { field: "code" });
  const nowMs = deps.clock.now();
  const enrolment = await deps.db.read((tx) => tx.em.findOne(TotpEnrolment, { id: input.enrolmentId, userId: principal.userId }, { disableIdentityMap: true }));
  if (!enrolment || enrolment.expireTime <= nowMs) throw notFound("ENROLMENT_NOT_FOUND", "No such enrolment, or it has lapsed; start again.");
  const secret = deps.totp.box.open(enrolment.secret, principal.userId);
  const step = matchingStep(secret, code, nowMs);
  if (step === undefined) {
    // The caller holds the secret already: a wrong code here is a typo or a phone's clock, not
    // a guess at someone else's factor (INVALID_ARGUMENT: the console stays signed in).
    await deps.db.transaction((tx) =>
      recordAudit(tx, { ...auditBase(info), action: "auth.totp_confirm", targetId: principal.userId, outcome: "FAILED", details: { reason: "totp_wrong", enrolment_id: enrolment.id } }, nowMs),
    );
    throw invalidArgument("TOTP_CODE_INVALID", "The code does not match; check the time on your phone and enter the current code.", { field: "code" });
  }
  const recoveryCodes = newRecoveryCodes();
  const result = await deps.db.transaction(async (tx) => {
    // Only if still without a second factor: a concurrent confirmation wins once.
    const changed = await tx.em.nativeUpdate(User, { id: principal.userId, totpConfirmTime: null }, { totpSecret: enrolment.secret, totpConfirmTime: nowMs, totpLastStep: step, updateTime: nowMs });
    if (changed !== 1) throw alreadyExists("SECOND_FACTOR_ENROLLED", "You already have a second factor; an administrator can reset it.");
    await tx.em.nativeDelete(TotpEnrolment, { userId: principal.userId });
    await storeRecoveryCodes(tx, principal.userId, recoveryCodes, nowMs);
    const user = await findUserById(tx, principal.userId);
    if (!user) throw unauthenticated("SESSION_ENDED", "The user of this access token no longer exists.");
    let session: { sessionId: string; refresh: NewRefreshToken } | undefined;
    if (principal.enrolmentOnly) {
      await endSessions(deps, tx, { userId: user.id, sessionId: principal.sessionId }, "second factor enrolled", nowMs);
      session = createSession(tx, { userId: user.id, userAgent: info.userAgent, clientAddress: info.clientAddress, kind: "staff" }, nowMs);
    }
    await recordAudit(tx, {
      ...auditBase(info),
      action: "auth.totp_confirm",
      targetId: user.id,
      outcome: "SUCCESS",
      details: { enrolment_id: enrolment.id, recovery_codes: recoveryCodes.length, ...(session ? { ended_session_id: principal.sessionId, session_id: session.sessionId } : {}) },
    }, nowMs);
    return { user, session };
  }, { signal: info.signal });
  if (!result.session) return { recoveryCodes, user: result.user };
  const access = await deps.tokens.issue({ userId: result.user.id, sessionId: result.session.sessionId, roles: rolesFromColumn(result.user.roles) }, nowMs);
  return { recoveryCodes, user: result.user, signedIn: { accessToken: access.token, accessExpireMs: access.claims.expireMs, refresh: result.session.refresh } };
}
