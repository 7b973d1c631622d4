// Service account administration (issue 27): create, list, disable, and rotate keys. Every
// change is one transaction with its audit event (a refusal by the data's state gets a FAILED
// event of its own). Disabling an account or revoking a key ends its tokens: at once in this
// process, within limits.sessionRecheckMs in the others (their session check reads the account
// and the key).
import { LockMode } from "@mikro-orm/core";
import type { Database, Tx } from "../db/database";
import { Account, ServiceAccount, ServiceAccountKey, ServiceSession, User, type ServiceAccountEntity, type ServiceAccountKeyEntity } from "../db/entities";
import type { CallInfo } from "../call-info";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../errors";
import { isUuid, uuidv7 } from "../util/ids";
import { limits } from "../limits";
import { auditBase, recordAudit } from "../audit/recorder";
import { decodePageToken, encodePageToken, pageSizeOf } from "../util/pagination";
import { tokenSealer } from "../util/sealed-tokens";
import { isActiveKey, parsePublicKey } from "../auth/service-keys";
import { rolesToColumn, SERVICE_ROLES } from "../auth/roles";
import { audited, checkReason } from "./users";
import { Role } from "../roles";
import { systemClock, type Clock } from "../util/clock";

export interface ServiceAccountAdminDeps {
  db: Database;
  /** Makes the tokens of ended sessions stop at once in this process. */
  markRevoked(sessionIds: readonly string[]): void;
  /** The time of changes and of which sessions are live; the system's when not given (the CLI). */
  clock?: Clock;
}

/** A service account with its keys, as admins see it. */
export interface ServiceAccountView {
  account: ServiceAccountEntity;
  keys: ServiceAccountKeyEntity[];
}

export interface NewServiceAccount {
  name: string;
  /** The roles asked for; undefined for one the contract does not define (refused). */
  roles: readonly (Role | undefined)[];
  allowedOwnerIds: readonly string[];
  allowedAccountIds: readonly string[];
  publicKey: string;
}

/** Who creates: an admin's call, or the CLI (no call: actor "system", address "cli"). */
export type Creator = { info: CallInfo } | { cli: true };

export async function createServiceAccount(deps: ServiceAccountAdminDeps, creator: Creator, input: NewServiceAccount): Promise<ServiceAccountView> {
  const name = checkName(input.name);
  const roles = checkRoles(input.roles);
  const allowedOwnerIds = checkIds(input.allowedOwnerIds, "allowed_owner_ids");
  const allowedAccountIds = checkIds(input.allowedAccountIds, "allowed_account_ids");
  if ((allowedOwnerIds.length > 0 || allowedAccountIds.length > 0) && roles.some((r) => r !== Role.PAYMENT_SERVICE)) {
    throw invalidArgument(
      "ALLOW_LIST_NEEDS_PAYMENT_SERVICE",
      "An allow-list bounds ROLE_PAYMENT_SERVICE only; a service with ROLE_TELLER or ROLE_AUDITOR acts bank-wide, like that staff role.",
      { field: "roles" },
    );
  }
  const key = await parsePublicKey(input.publicKey);
  const base = "info" in creator ? auditBase(creator.info) : { actorId: "system", clientAddress: "cli", requestId: "" };
  return deps.db.transaction(async (tx) => {
    await checkOwnersExist(tx, allowedOwnerIds);
    await checkAccountsExist(tx, allowedAccountIds);
    await checkKeyUnused(tx, key.keyId);
    const nowMs = (deps.clock ?? systemClock).now();
    const account = tx.em.create(ServiceAccount, {
      id: uuidv7(nowMs),
      name,
      roles: rolesToColumn(roles, SERVICE_ROLES),
      allowedOwnerIds: allowedOwnerIds.join(","),
      allowedAccountIds: allowedAccountIds.join(","),
      disabled: 0,
      disableReason: null,
      creatorId: base.actorId,
      createTime: nowMs,
      updateTime: nowMs,
    });
    const row = tx.em.create(ServiceAccountKey, { keyId: key.keyId, serviceAccountId: account.id, publicJwk: JSON.stringify(key.jwk), createTime: nowMs, revokeTime: null });
    await recordAudit(tx, {
      ...base,
      action: "admin.service_account_create",
      targetId: account.id,
      outcome: "SUCCESS",
      details: { name, roles: account.roles, key_id: key.keyId, allowed_owners: allowedOwnerIds.length, allowed_accounts: allowedAccountIds.length },
    }, nowMs);
    return { account, keys: [row] };
  });
}

export async function listServiceAccounts(db: Database, req: { pageSize: number; pageToken: string }): Promise<{ rows: ServiceAccountView[]; nextPageToken: string }> {
  const size = pageSizeOf(req.pageSize);
  const filters = "service_accounts";
  const tokens = await tokenSealer(db);
  const cursor = decodePageToken(tokens, req.pageToken, filters, { t: "number", i: "string" });
  const { accounts, keys } = await db.read(async (tx) => {
    const qb = tx.em.createQueryBuilder(ServiceAccount, "s").select("*");
    if (cursor) {
      const [t, i] = [Number(cursor.t), String(cursor.i)];
      qb.andWhere({ $or: [{ createTime: { $lt: t } }, { createTime: t, id: { $lt: i } }] });
    }
    const found = await qb.orderBy({ createTime: "desc", id: "desc" }).limit(size + 1).getResultList();
    const ids = found.slice(0, size).map((a) => a.id);
    const keyRows = ids.length === 0 ? [] : await tx.em.find(ServiceAccountKey, { serviceAccountId: { $in: ids } }, { orderBy: { createTime: "asc", keyId: "asc" }, disableIdentityMap: true });
    return { accounts: found, keys: keyRows };
  });
  const shown = accounts.slice(0, size);
  const last = shown[shown.length - 1];
  return {
    rows: shown.map((account) => ({ account, keys: keys.filter((k) => k.serviceAccountId === account.id) })),
    nextPageToken: accounts.length > size && last ? encodePageToken(tokens, filters, { t: last.createTime, i: last.id }) : "",
  };
}

export async function disableServiceAccount(deps: ServiceAccountAdminDeps, info: CallInfo, id: string, reason: string): Promise<ServiceAccountView> {
  checkId(id);
  const why = checkReason(reason);
  return audited(deps.db, info, "admin.service_account_disable", id, async (tx) => {
    const account = await lockAccount(tx, id);
    const wasDisabled = account.disabled !== 0;
    const nowMs = (deps.clock ?? systemClock).now();
    if (!wasDisabled) {
      account.disabled = 1;
      account.disableReason = why;
      account.updateTime = nowMs;
    }
    const ended = await liveSessions(tx, { serviceAccountId: id }, nowMs);
    tx.afterCommit(() => deps.markRevoked(ended));
    await recordAudit(tx, { ...auditBase(info), action: "admin.service_account_disable", targetId: id, outcome: "SUCCESS", details: { reason: why, was_disabled: wasDisabled, sessions_ended: ended.length } });
    return { account, keys: await keysOf(tx, id) };
  });
}

export async function addServiceAccountKey(deps: ServiceAccountAdminDeps, info: CallInfo, id: string, publicKey: string): Promise<ServiceAccountView> {
  checkId(id);
  const key = await parsePublicKey(publicKey);
  return audited(deps.db, info, "admin.service_account_key_add", id, async (tx) => {
    const account = await lockAccount(tx, id);
    if (account.disabled !== 0) throw failedPrecondition("SERVICE_ACCOUNT_DISABLED", "The service account is disabled; create a new one.");
    const active = (await keysOf(tx, id)).filter(isActiveKey);
    if (active.length >= limits.serviceAccountActiveKeysMax) {
      throw failedPrecondition(
        "ACTIVE_KEYS_MAX",
        `A service account has at most ${limits.serviceAccountActiveKeysMax} active keys; revoke the old key once the service signs with the new one.`,
        { active_keys_max: String(limits.serviceAccountActiveKeysMax) },
      );
    }
    await checkKeyUnused(tx, key.keyId);
    const nowMs = (deps.clock ?? systemClock).now();
    tx.em.create(ServiceAccountKey, { keyId: key.keyId, serviceAccountId: id, publicJwk: JSON.stringify(key.jwk), createTime: nowMs, revokeTime: null });
    account.updateTime = nowMs;
    await recordAudit(tx, { ...auditBase(info), action: "admin.service_account_key_add", targetId: id, outcome: "SUCCESS", details: { key_id: key.keyId } }, nowMs);
    await tx.em.flush();
    return { account, keys: await keysOf(tx, id) };
  });
}

export async function revokeServiceAccountKey(deps: ServiceAccountAdminDeps, info: CallInfo, id: string, keyId: string): Promise<ServiceAccountView> {
  checkId(id);
  if (keyId === "" || keyId.length > 128) throw invalidArgument("INVALID_KEY_ID", "key_id must be one of the service account's key ids.", { field: "key_id" });
  return audited(deps.db, info, "admin.service_account_key_revoke", id, async (tx) => {
    const account = await lockAccount(tx, id);
    const key = await tx.em.findOne(ServiceAccountKey, { keyId, serviceAccountId: id });
    if (!key) throw notFound("KEY_NOT_FOUND", "The service account has no key with this key_id.", { field: "key_id" });
    const wasActive = isActiveKey(key);
    const nowMs = (deps.clock ?? systemClock).now();
    if (wasActive) {
      key.revokeTime = nowMs;
      account.updateTime = nowMs;
    }
    const ended = await liveSessions(tx, { serviceAccountId: id, keyId }, nowMs);
    tx.afterCommit(() => deps.markRevoked(ended));
    await recordAudit(tx, { ...auditBase(info), action: "admin.service_account_key_revoke", targetId: id, outcome: "SUCCESS", details: { key_id: keyId, was_active: wasActive, sessions_ended: ended.length } }, nowMs);
    await tx.em.flush();
    return { account, keys: await keysOf(tx, id) };
  });
}

async function lockAccount(tx: Tx, id: string): Promise<ServiceAccountEntity> {
  const account = await tx.em.findOne(ServiceAccount, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!account) throw notFound("SERVICE_ACCOUNT_NOT_FOUND", "No such service account.", { field: "service_account_id" });
  return account;
}

function keysOf(tx: Tx, id: string): Promise<ServiceAccountKeyEntity[]> {
  return tx.em.find(ServiceAccountKey, { serviceAccountId: id }, { orderBy: { createTime: "asc", keyId: "asc" } });
}

/** The ids of the account's (or one key's) unexpired sessions. */
async function liveSessions(tx: Tx, where: { serviceAccountId: string; keyId?: string }, nowMs: number): Promise<string[]> {
  const rows = await tx.em.find(ServiceSession, { ...where, expireTime: { $gt: nowMs } }, { fields: ["id"], disableIdentityMap: true });
  return rows.map((r) => r.id);
}

async function checkKeyUnused(tx: Tx, keyId: string): Promise<void> {
  if (await tx.em.findOne(ServiceAccountKey, { keyId }, { disableIdentityMap: true })) {
    throw alreadyExists("KEY_IN_USE", "This public key is registered already (keys are not shared between service accounts, nor re-added after revocation).", { field: "public_key" });
  }
}

async function checkOwnersExist(tx: Tx, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const found = new Set((await tx.em.find(User, { id: { $in: [...ids] } }, { fields: ["id"], disableIdentityMap: true })).map((u) => u.id));
  const missing = ids.find((id) => !found.has(id));
  if (missing) throw invalidArgument("UNKNOWN_OWNER_ID", `allowed_owner_ids names no user: ${missing}.`, { field: "allowed_owner_ids" });
}

async function checkAccountsExist(tx: Tx, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const found = new Set((await tx.em.find(Account, { id: { $in: [...ids] }, kind: "CUSTOMER" }, { fields: ["id"], disableIdentityMap: true })).map((a) => a.id));
  const missing = ids.find((id) => !found.has(id));
  if (missing) throw invalidArgument("UNKNOWN_ACCOUNT_ID", `allowed_account_ids names no customer account: ${missing}.`, { field: "allowed_account_ids" });
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === "" || [...trimmed].length > limits.serviceAccountNameCharsMax) {
    throw invalidArgument("INVALID_NAME", `name must be 1 to ${limits.serviceAccountNameCharsMax} characters (control characters are refused for every field by the interceptor).`, { field: "name" });
  }
  return trimmed;
}

function checkRoles(roles: readonly (Role | undefined)[]): Role[] {
  if (roles.length === 0) throw invalidArgument("ROLES_REQUIRED", "roles must name at least one role.", { field: "roles" });
  for (const role of roles) {
    if (role === undefined || !SERVICE_ROLES.includes(role)) {
      throw invalidArgument("SERVICE_ACCOUNT_ROLE_NOT_ALLOWED", "A service account may hold only ROLE_PAYMENT_SERVICE, ROLE_TELLER and ROLE_AUDITOR.", { field: "roles" });
    }
  }
  return [...new Set(roles as readonly Role[])];
}

function checkIds(ids: readonly string[], field: string): string[] {
  if (ids.length > limits.serviceAccountAllowListMax) throw invalidArgument("ALLOW_LIST_TOO_LONG", `${field} may hold at most ${limits.serviceAccountAllowListMax} ids.`, { field });
  for (const id of ids) if (!isUuid(id)) throw invalidArgument("INVALID_ID", `${field} must hold UUIDs.`, { field });
  return [...new Set(ids)];
}

function checkId(id: string): void {
  if (!isUuid(id)) throw invalidArgument("INVALID_SERVICE_ACCOUNT_ID", "service_account_id must be a service account's UUID.", { field: "service_account_id" });
}
