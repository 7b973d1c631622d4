// User administration: listing users, setting roles, disabling and enabling. Every change is one
// transaction with its audit event; a change of roles or a disable ends the user's sessions in
// that same transaction, so new roles take effect on the next token and a disabled user's
// tokens stop at once. The last active ADMIN can neither lose ADMIN nor be disabled.
import { LockMode } from "@mikro-orm/core";
import type { Database, Tx } from "../db/database";
import { User, type UserEntity } from "../db/entities";
import type { CallInfo } from "../call-info";
import { DomainError, failedPrecondition, invalidArgument, notFound, permissionDenied } from "../errors";
import { isUuid } from "../util/ids";
import { limits } from "../limits";
import { auditBase, recordAudit } from "../audit/recorder";
import { decodePageToken, encodePageToken, pageSizeOf } from "../util/pagination";
import { tokenSealer } from "../util/sealed-tokens";
import type { AuthSessions } from "../auth";
import { rolesFromColumn, rolesToColumn } from "../auth/roles";
import { isDisabled } from "../auth/users";
import { removeSecondFactor } from "../auth/second-factor";
import { Role } from "../roles";
import type { Clock } from "../util/clock";

export interface AdminDeps {
  db: Database;
  sessions: AuthSessions;
  /** The time of changes (the auth module's clock). */
  clock: Clock;
}

/** What an admin sees of a user (never the password hash). */
export type AdminUserRow = Pick<UserEntity, "id" | "email" | "fullName" | "roles" | "disabled" | "createTime" | "totpConfirmTime">;
const ADMIN_FIELDS = ["id", "email", "fullName", "roles", "disabled", "createTime", "totpConfirmTime"] as const;

const GRANTABLE: readonly Role[] = [Role.CUSTOMER, Role.TELLER, Role.AUDITOR, Role.ADMIN];

export async function listUsers(db: Database, req: { emailPrefix: string; pageSize: number; pageToken: string }): Promise<{ rows: AdminUserRow[]; nextPageToken: string }> {
  const prefix = req.emailPrefix.trim().toLowerCase();
  if (prefix.length > limits.emailCharsMax) {
    throw invalidArgument("INVALID_EMAIL_PREFIX", `email_prefix must be at most ${limits.emailCharsMax} characters.`);
  }
  const size = pageSizeOf(req.pageSize);
  const filters = { emailPrefix: prefix };
  const tokens = await tokenSealer(db);
  const cursor = decodePageToken(tokens, req.pageToken, filters, { t: "number", i: "string" });
  const rows = await db.read((tx) => {
    const qb = tx.em.createQueryBuilder(User, "u").select([...ADMIN_FIELDS]);
    if (prefix !== "") {
      // A raw condition: the entity filter's $like has no ESCAPE clause, and SQLite has no default
      // escape character, so LIKE's wildcards in the prefix could not be made literal otherwise.
      qb.andWhere(`lower(u.email) like ? escape '\\'`, [prefix.replace(/[\\%_]/g, (c) => "\\" + c) + "%"]);
    }
    if (cursor) {
      const [t, i] = [Number(cursor.t), String(cursor.i)];
      qb.andWhere({ $or: [{ createTime: { $lt: t } }, { createTime: t, id: { $lt: i } }] });
    }
    return qb.orderBy({ createTime: "desc", id: "desc" }).limit(size + 1).getResultList();
  });
  const shown = rows.slice(0, size);
  const last = shown[shown.length - 1];
  return { rows: shown, nextPageToken: rows.length > size && last ? encodePageToken(tokens, filters, { t: last.createTime, i: last.id }) : "" };
}

/** `requested`: the roles asked for; undefined for one the contract does not define (refused). */
export async function setUserRoles(deps: AdminDeps, info: CallInfo, userId: string, requested: readonly (Role | undefined)[]): Promise<AdminUserRow> {
  checkUserId(userId);
  const roles = checkRoles(requested);
  const column = rolesToColumn(roles);
  const losesAdmin = !roles.includes(Role.ADMIN);
  return audited(deps.db, info, "admin.set_roles", userId, async (tx) => {
    const admins = losesAdmin ? await lockActiveAdmins(tx) : [];
    const user = await lockUser(tx, userId);
    if (losesAdmin && isOnlyAdmin(admins, user.id)) throw lastAdmin("remove ADMIN from");
    const previous = user.roles;
    const changed = column !== previous;
    let ended: string[] = [];
    if (changed) {
      // Written by the unit of work's flush before COMMIT.
      user.roles = column;
      user.updateTime = deps.clock.now();
      ended = await deps.sessions.revokeUserSessions(tx, user.id, "roles changed");
    }
    await recordAudit(tx, {
      ...auditBase(info),
      action: "admin.set_roles",
      targetId: user.id,
      outcome: "SUCCESS",
      details: { roles: column, previous_roles: previous, changed, sessions_ended: ended.length },
    });
    return user;
  });
}

export async function disableUser(deps: AdminDeps, info: CallInfo, userId: string): Promise<AdminUserRow> {
  checkUserId(userId);
  return audited(deps.db, info, "admin.disable_user", userId, async (tx) => {
    const admins = await lockActiveAdmins(tx);
    const user = await lockUser(tx, userId);
    if (isOnlyAdmin(admins, user.id)) throw lastAdmin("disable");
    const wasDisabled = isDisabled(user);
    if (!wasDisabled) setDisabled(user, true, deps.clock.now());
    // Also when already disabled: nothing may have outlived the first disable, but make sure.
    const ended = await deps.sessions.revokeUserSessions(tx, user.id, "user disabled");
    await recordAudit(tx, {
      ...auditBase(info),
      action: "admin.disable_user",
      targetId: user.id,
      outcome: "SUCCESS",
      details: { was_disabled: wasDisabled, sessions_ended: ended.length },
    });
    return user;
  });
}

export async function enableUser(deps: AdminDeps, info: CallInfo, userId: string): Promise<AdminUserRow> {
  checkUserId(userId);
  return audited(deps.db, info, "admin.enable_user", userId, async (tx) => {
    const user = await lockUser(tx, userId);
    const wasDisabled = isDisabled(user);
    if (wasDisabled) setDisabled(user, false, deps.clock.now());
    await recordAudit(tx, { ...auditBase(info), action: "admin.enable_user", targetId: user.id, outcome: "SUCCESS", details: { was_disabled: wasDisabled } });
    return user;
  });
}

/** Removes another user's second factor (TOTP secret, recovery codes, pending enrolments) and
 * ends their sessions: their next sign-in is enrolment-only (issue 27). Never one's own: a
 * second admin must vouch for the person (a stolen admin password alone cannot re-enrol). */
export async function resetSecondFactor(deps: AdminDeps, info: CallInfo, userId: string, reason: string): Promise<AdminUserRow> {
  checkUserId(userId);
  const why = checkReason(reason);
  return audited(deps.db, info, "admin.reset_second_factor", userId, async (tx) => {
    if (info.principal?.userId === userId) throw permissionDenied("OWN_SECOND_FACTOR", "You cannot reset your own second factor; another administrator must.");
    const user = await lockUser(tx, userId);
    const nowMs = deps.clock.now();
    const hadOne = await removeSecondFactor(tx, user, nowMs);
    const ended = await deps.sessions.revokeUserSessions(tx, user.id, "second factor reset");
    await recordAudit(tx, {
      ...auditBase(info),
      action: "admin.reset_second_factor",
      targetId: user.id,
      outcome: "SUCCESS",
      details: { reason: why, had_second_factor: hadOne, sessions_ended: ended.length },
    }, nowMs);
    return user;
  });
}

/** Runs a change in one transaction (its SUCCESS event is recorded inside), with the call's
 * signal (a caller gone before COMMIT changes nothing). When the change is refused by the state
 * of the data (NOT_FOUND, LAST_ADMIN, a precondition), records a FAILED event in a transaction of
 * its own, since the change's transaction rolled back. Shared by every admin change. */
export async function audited<T>(db: Database, info: CallInfo, action: string, targetId: string, change: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(change, { signal: info.signal });
  } catch (err) {
    if (err instanceof DomainError) {
      await db.transaction((tx) => recordAudit(tx, { ...auditBase(info), action, targetId, outcome: "FAILED", details: { reason: err.reason } }));
    }
    throw err;
  }
}

/** Locks every active admin's row (ascending id, so concurrent callers queue instead of
 * deadlocking) and returns their ids. Two admins demoting each other at once thus run one after
 * the other, and the second sees that the first left only one admin. */
async function lockActiveAdmins(tx: Tx): Promise<string[]> {
  // Read to decide, not to change: kept out of the unit of work (no identity map).
  const rows = await tx.em.find(User, { disabled: 0, roles: { $like: "%ADMIN%" } }, {
    fields: ["id", "roles"],
    lockMode: LockMode.PESSIMISTIC_WRITE,
    orderBy: { id: "asc" },
    disableIdentityMap: true,
  });
  return rows.filter((r) => rolesFromColumn(r.roles).includes(Role.ADMIN)).map((r) => r.id);
}

/** The user, locked until COMMIT and loaded into the unit of work: what the caller changes on it
 * is written by the flush before COMMIT. */
async function lockUser(tx: Tx, userId: string): Promise<UserEntity> {
  const user = await tx.em.findOne(User, { id: userId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!user) throw notFound("USER_NOT_FOUND", "No such user.");
  return user;
}

function setDisabled(user: UserEntity, disabled: boolean, nowMs: number): void {
  user.disabled = disabled ? 1 : 0;
  user.updateTime = nowMs;
}

function isOnlyAdmin(activeAdmins: readonly string[], userId: string): boolean {
  return activeAdmins.length === 1 && activeAdmins[0] === userId;
}

function lastAdmin(what: string): DomainError {
  return failedPrecondition("LAST_ADMIN", `Cannot ${what} the last active administrator; grant ADMIN to another user first.`);
}

/** An admin's reason (ResetSecondFactor, DisableServiceAccount): 1 to limits.reasonCharsMax
 * characters after trimming; control characters are refused for every field by the interceptor. */
export function checkReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed === "" || [...trimmed].length > limits.reasonCharsMax) {
    throw invalidArgument("REASON_REQUIRED", `reason must have 1 to ${limits.reasonCharsMax} characters.`, { field: "reason" });
  }
  return trimmed;
}

function checkUserId(userId: string): void {
  if (!isUuid(userId)) throw invalidArgument("INVALID_USER_ID", "user_id must be a user's UUID.", { field: "user_id" });
}

function checkRoles(roles: readonly (Role | undefined)[]): Role[] {
  if (roles.length === 0) throw invalidArgument("ROLES_REQUIRED", "roles must name at least one role.", { field: "roles" });
  const checked: Role[] = [];
  for (const role of roles) {
    if (role === undefined || !GRANTABLE.includes(role)) {
      throw invalidArgument("INVALID_ROLE", "roles may hold only ROLE_CUSTOMER, ROLE_TELLER, ROLE_AUDITOR and ROLE_ADMIN.", { field: "roles" });
    }
    checked.push(role);
  }
  return checked;
}
