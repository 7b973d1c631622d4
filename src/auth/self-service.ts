// User self-service: register, the current user, change password, list and end one's own sessions
// (the user's sign-in account, not a ledger account).
import { auditBase, recordAudit } from "../audit/recorder";
import { User } from "../db/entities";
import { stopIfEnded, type CallInfo, type Principal } from "../call-info";
import { invalidArgument, notFound, unauthenticated } from "../errors";
import { isUuid } from "../util/ids";
import { Role } from "../roles";
import type { AuthDeps } from "./deps";
import { decodePageToken, encodePageToken, pageSizeOf } from "../util/pagination";
import { tokenSealer } from "../util/sealed-tokens";
import { afterSuccessfulCheck, checkAttempt, inTurn } from "./attempts";
import { normalizePassword, validEmail, validFullName, validNewPassword } from "./policy";
import { endSessions, findRefreshToken, findSession, listLiveSessions, type SessionRow } from "./sessions";
import { recordFailure, releaseAttempt, throttleKeys } from "./throttle";
import { createUser, emailTaken, findUserByEmail, findUserById, validNewUser, type UserEntity } from "./users";

export async function register(deps: AuthDeps, info: CallInfo, input: { email: string; password: string; fullName: string }): Promise<UserEntity> {
  // The cheap checks first (a typo costs no registration), then the rate limits (issue 15, W5),
  // and only then the password-strength check and argon2, which are what a flood would cost.
  validEmail(input.email);
  validFullName(input.fullName);
  deps.registrations.admit(info.clientAddress, deps.clock.now());
  const user = await validNewUser({ ...input, roles: [Role.CUSTOMER] });
  // Checked before hashing so that a taken email costs no argon2 work; createUser checks again
  // inside the transaction (and the unique index settles a race).
  if (await deps.db.read((tx) => findUserByEmail(tx, user.email))) throw emailTaken();
  // Hashed outside the transaction, so that no database connection is held during argon2.
  stopIfEnded(info);
  const hash = await deps.hasher.hash(user.password);
  const prehashed = { hash: async (password: string) => (password === user.password ? hash : deps.hasher.hash(password)) };
  return deps.db.transaction(async (tx) => {
    const row = await createUser(tx, user, prehashed);
    await recordAudit(tx, { ...auditBase(info), actorId: row.id, action: "auth.register", targetId: row.id, outcome: "SUCCESS", details: { roles: row.roles } });
    return row;
  }, { signal: info.signal });
}

export async function currentUser(deps: AuthDeps, principal: Principal): Promise<UserEntity> {
  const user = await deps.db.read((tx) => findUserById(tx, principal.userId));
  if (!user) throw unauthenticated("SESSION_ENDED", "The user of this access token no longer exists.");
  return user;
}

/** Replaces the password after checking the current one (throttled like a sign-in, so a stolen
 * access token cannot be used to guess the password) and ends every other session. */
export async function changePassword(deps: AuthDeps, info: CallInfo, principal: Principal, input: { currentPassword: string; newPassword: string }): Promise<void> {
  const user = await currentUser(deps, principal);
  const next = await validNewPassword(input.newPassword, { email: user.email, fullName: user.fullName });
  if (next === normalizePassword(input.currentPassword)) throw invalidArgument("PASSWORD_UNCHANGED", "The new password must differ from the current one.");
  const keys = throttleKeys(user.email, info.clientAddress);
  const attempt = { keys, action: "auth.password_change", userId: user.id };
  await inTurn(deps, attempt, async () => {
    // The new hash is computed in the check's place: if argon2 is too busy for either, nothing
    // was decided and the reservation is given back.
    const check = await checkAttempt(deps, info, attempt, async () => {
      const verified = await deps.hasher.verify(user.passwordHash, normalizePassword(input.currentPassword));
      return verified.ok ? { ok: true, hash: await deps.hasher.hash(next) } : { ok: false, hash: "" };
    });
    if (!check.ok) {
      await deps.db.transaction(async (tx) => {
        await recordFailure(tx, keys, deps.clock.now());
        await recordAudit(tx, { ...auditBase(info), action: "auth.password_change", targetId: user.id, outcome: "FAILED", details: { reason: "wrong_current_password" } });
      });
      throw unauthenticated("INVALID_CREDENTIALS", "The current password is incorrect.");
    }
    // The current password was right: cut short, the change is rolled back but not counted.
    await afterSuccessfulCheck(deps, keys, () => deps.db.transaction(async (tx) => {
      await tx.em.nativeUpdate(User, { id: user.id }, { passwordHash: check.hash, updateTime: deps.clock.now() });
      await releaseAttempt(tx, keys);
      const ended = await endSessions(deps, tx, { userId: user.id, exceptSessionId: principal.sessionId }, "password changed");
      await recordAudit(tx, { ...auditBase(info), action: "auth.password_change", targetId: user.id, outcome: "SUCCESS", details: { sessions_ended: ended.length } });
    }, { signal: info.signal }));
  });
}

/** Ends the caller's session; a refresh token, when given, must be this session's. */
export async function logout(deps: AuthDeps, info: CallInfo, principal: Principal, refreshToken: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    if (refreshToken !== "") {
      const found = await findRefreshToken(tx, refreshToken);
      if (found?.session.id !== principal.sessionId) throw invalidArgument("REFRESH_TOKEN_MISMATCH", "The refresh token does not belong to this session.");
    }
    await endSessions(deps, tx, { userId: principal.userId, sessionId: principal.sessionId }, "logout");
    await recordAudit(tx, { ...auditBase(info), action: "auth.logout", targetId: principal.sessionId, outcome: "SUCCESS", details: {} });
  });
}

/** Ends one of the caller's own sessions; anyone else's is NOT_FOUND (never revealed). */
export async function revokeSession(deps: AuthDeps, info: CallInfo, principal: Principal, sessionId: string): Promise<void> {
  if (!isUuid(sessionId)) throw invalidArgument("INVALID_SESSION_ID", "session_id must be a session's UUID.");
  await deps.db.transaction(async (tx) => {
    const session = await findSession(tx, sessionId);
    if (!session || session.userId !== principal.userId) {
      // A probe for someone else's session (or a guess): audited, aggregated per caller (W8).
      deps.refusals.note(`auth.session_revoke:not_found:${principal.userId}`, {
        ...auditBase(info),
        action: "auth.session_revoke",
        targetId: sessionId,
        outcome: "DENIED",
        details: { reason: "SESSION_NOT_FOUND", exists: session !== undefined },
      });
      throw notFound("SESSION_NOT_FOUND", "No such session.");
    }
    const ended = await endSessions(deps, tx, { userId: principal.userId, sessionId }, "revoked by user");
    await recordAudit(tx, { ...auditBase(info), action: "auth.session_revoke", targetId: sessionId, outcome: "SUCCESS", details: { was_live: ended.length > 0 } });
  });
}

export async function listSessions(deps: AuthDeps, principal: Principal, page: { pageSize: number; pageToken: string }): Promise<{ sessions: SessionRow[]; nextPageToken: string }> {
  const limit = pageSizeOf(page.pageSize);
  const filters = `sessions:${principal.userId}`;
  const tokens = await tokenSealer(deps.db);
  const beforeId = decodePageToken(tokens, page.pageToken, filters, { i: "string" })?.i as string | undefined;
  // One row more than the page tells whether another page follows.
  const rows = await deps.db.read((tx) => listLiveSessions(tx, principal.userId, { beforeId, limit: limit + 1 }, deps.clock.now()));
  const sessions = rows.slice(0, limit);
  const last = sessions[sessions.length - 1];
  return { sessions, nextPageToken: rows.length > limit && last ? encodePageToken(tokens, filters, { i: last.id }) : "" };
}
