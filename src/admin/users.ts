// User administration: listing users, setting roles, disabling and enabling. Every change is one
// transaction with its audit event; a change of roles or a disable ends the user's sessions in
// that same transaction, so new roles take effect on the next token and a disabled user's
// tokens stop at once. The last active ADMIN can neither lose ADMIN nor be disabled.
import type { Database, Tx } from "../db/database";
import type { CallInfo } from "../context";
import { DomainError, failedPrecondition, invalidArgument, notFound } from "../errors";
import { isUuid } from "../ids";
import { limits } from "../limits";
import { auditBase, recordAudit } from "../audit/recorder";
import { decodePageToken, encodePageToken, pageSizeOf } from "../pagination";
import type { AuthSessions } from "../auth";
import { rolesFromColumn, rolesToColumn } from "../auth/roles";
import { isDisabled, type UserRow } from "../auth/users";
import { Role } from "../../gen/bank/v1/access_pb";

export interface AdminDeps {
  db: Database;
  sessions: AuthSessions;
}

/** The columns an admin sees (never the password hash). */
export type AdminUserRow = Pick<UserRow, "id" | "email" | "full_name" | "roles" | "disabled" | "create_time">;
const COLUMNS = "id, email, full_name, roles, disabled, create_time";

const GRANTABLE: readonly Role[] = [Role.CUSTOMER, Role.TELLER, Role.AUDITOR, Role.ADMIN];

export async function listUsers(db: Database, req: { emailPrefix: string; pageSize: number; pageToken: string }): Promise<{ rows: AdminUserRow[]; nextPageToken: string }> {
  const prefix = req.emailPrefix.trim().toLowerCase();
  if (prefix.length > limits.emailCharsMax) {
    throw invalidArgument("INVALID_EMAIL_PREFIX", `email_prefix must be at most ${limits.emailCharsMax} characters.`);
  }
  const size = pageSizeOf(req.pageSize);
  const filters = { emailPrefix: prefix };
  const cursor = decodePageToken(req.pageToken, filters, { t: "number", i: "string" });
  const where: string[] = [];
  const params: unknown[] = [];
  if (prefix !== "") {
    where.push(`LOWER(email) LIKE ? ESCAPE '\\'`);
    params.push(prefix.replace(/[\\%_]/g, (c) => "\\" + c) + "%");
  }
  if (cursor) {
    where.push("(create_time < ? OR (create_time = ? AND id < ?))");
    params.push(cursor.t, cursor.t, cursor.i);
  }
  const rows = await db.read((tx) =>
    tx.all<AdminUserRow>(
      `SELECT ${COLUMNS} FROM users ${where.length > 0 ? "WHERE " + where.join(" AND ") : ""} ORDER BY create_time DESC, id DESC LIMIT ?`,
      [...params, size + 1],
    ),
  );
  const shown = rows.slice(0, size);
  const last = shown[shown.length - 1];
  return { rows: shown, nextPageToken: rows.length > size && last ? encodePageToken(filters, { t: Number(last.create_time), i: last.id }) : "" };
}

export async function setUserRoles(deps: AdminDeps, info: CallInfo, userId: string, requested: readonly Role[]): Promise<AdminUserRow> {
  checkUserId(userId);
  const column = rolesToColumn(checkRoles(requested));
  const losesAdmin = !requested.includes(Role.ADMIN);
  return audited(deps.db, info, "admin.set_roles", userId, async (tx) => {
    const admins = losesAdmin ? await lockActiveAdmins(tx) : [];
    const user = await lockUser(tx, userId);
    if (losesAdmin && isOnlyAdmin(admins, user.id)) throw lastAdmin("remove ADMIN from");
    const changed = column !== user.roles;
    let ended: string[] = [];
    if (changed) {
      await tx.run(`UPDATE users SET roles = ?, update_time = ? WHERE id = ?`, [column, Date.now(), user.id]);
      ended = await deps.sessions.revokeUserSessions(tx, user.id, "roles changed");
    }
    await recordAudit(tx, {
      ...auditBase(info),
      action: "admin.set_roles",
      targetId: user.id,
      outcome: "SUCCESS",
      details: { roles: column, previous_roles: user.roles, changed, sessions_ended: ended.length },
    });
    return { ...user, roles: column };
  });
}

export async function disableUser(deps: AdminDeps, info: CallInfo, userId: string): Promise<AdminUserRow> {
  checkUserId(userId);
  return audited(deps.db, info, "admin.disable_user", userId, async (tx) => {
    const admins = await lockActiveAdmins(tx);
    const user = await lockUser(tx, userId);
    if (isOnlyAdmin(admins, user.id)) throw lastAdmin("disable");
    const wasDisabled = isDisabled(user);
    if (!wasDisabled) await tx.run(`UPDATE users SET disabled = 1, update_time = ? WHERE id = ?`, [Date.now(), user.id]);
    // Also when already disabled: nothing may have outlived the first disable, but make sure.
    const ended = await deps.sessions.revokeUserSessions(tx, user.id, "user disabled");
    await recordAudit(tx, {
      ...auditBase(info),
      action: "admin.disable_user",
      targetId: user.id,
      outcome: "SUCCESS",
      details: { was_disabled: wasDisabled, sessions_ended: ended.length },
    });
    return { ...user, disabled: 1 };
  });
}

export async function enableUser(deps: AdminDeps, info: CallInfo, userId: string): Promise<AdminUserRow> {
  checkUserId(userId);
  return audited(deps.db, info, "admin.enable_user", userId, async (tx) => {
    const user = await lockUser(tx, userId);
    const wasDisabled = isDisabled(user);
    if (wasDisabled) await tx.run(`UPDATE users SET disabled = 0, update_time = ? WHERE id = ?`, [Date.now(), user.id]);
    await recordAudit(tx, { ...auditBase(info), action: "admin.enable_user", targetId: user.id, outcome: "SUCCESS", details: { was_disabled: wasDisabled } });
    return { ...user, disabled: 0 };
  });
}

/** Runs a change in one transaction (its SUCCESS event is recorded inside). When the change is
 * refused by the state of the data (NOT_FOUND, LAST_ADMIN), records a FAILED event in a
 * transaction of its own, since the change's transaction rolled back. */
async function audited<T>(db: Database, info: CallInfo, action: string, targetId: string, change: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(change);
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
  const rows = await tx.all<{ id: string; roles: string }>(`SELECT id, roles FROM users WHERE disabled = 0 AND roles LIKE '%ADMIN%' ORDER BY id${tx.engine.lockRows}`);
  return rows.filter((r) => rolesFromColumn(r.roles).includes(Role.ADMIN)).map((r) => r.id);
}

async function lockUser(tx: Tx, userId: string): Promise<AdminUserRow> {
  const user = await tx.one<AdminUserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ?${tx.engine.lockRows}`, [userId]);
  if (!user) throw notFound("USER_NOT_FOUND", "No such user.");
  return user;
}

function isOnlyAdmin(activeAdmins: readonly string[], userId: string): boolean {
  return activeAdmins.length === 1 && activeAdmins[0] === userId;
}

function lastAdmin(what: string): DomainError {
  return failedPrecondition("LAST_ADMIN", `Cannot ${what} the last active administrator; grant ADMIN to another user first.`);
}

function checkUserId(userId: string): void {
  if (!isUuid(userId)) throw invalidArgument("INVALID_USER_ID", "user_id must be a user's UUID.", { field: "user_id" });
}

function checkRoles(roles: readonly Role[]): Role[] {
  if (roles.length === 0) throw invalidArgument("ROLES_REQUIRED", "roles must name at least one role.", { field: "roles" });
  for (const role of roles) {
    if (!GRANTABLE.includes(role)) {
      throw invalidArgument("INVALID_ROLE", "roles may hold only ROLE_CUSTOMER, ROLE_TELLER, ROLE_AUDITOR and ROLE_ADMIN.", { field: "roles" });
    }
  }
  return [...roles];
}
