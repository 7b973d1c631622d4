// Accounts: open, read, list, rename / set the overdraft limit, freeze, unfreeze, close.
// Balances are never written here: only the posting function changes them.
import type { Tx } from "../db/database";
import type { AccountEntity } from "../db/entities";
import { failedPrecondition, invalidArgument, notFound, permissionDenied } from "../errors";
import { uuidv7 } from "../util/ids";
import { limits } from "../limits";
import { randomAccountNumber } from "./account-number";
import type { AccountOpening } from "./account-opening";
import { accessAccount, isOperator, isStaff, requireOperator, isAdmin } from "./access";
import { audit, auditFailure, auditedCommand } from "./audit";
import { idempotent } from "./idempotency";
import type { Ledger } from "./ledger";
import { decodePageToken, encodePageToken, pageSizeOf } from "../util/pagination";
import {
  accountOfId, accountOfNumber, customerAccounts, insertAccount as insertAccountRow, lockAccount, notifyStatusChange, openAccountCount, ownerExists, saveAccountState,
} from "./store/accounts";
import { accountView, newAccountEntity } from "./store/columns";
import { keyStored } from "./store/keys";
import type { AccountType, AccountView, Actor, Page } from "./types";
import { parseAccountNumberInput, parseCurrency, parseId, parseRequestId, parseText } from "./validate";

export interface CreateAccountInput {
  requestId: string;
  currency: string;
  /** "CHECKING" | "SAVINGS"; anything else is INVALID_ARGUMENT. */
  type: string;
  displayName: string;
  /** "" = the caller. Another user: tellers and admins only. */
  ownerId: string;
}

/** `opening`: the rate per principal and the cap per customer (account-opening.ts); the service
 * passes the process's, and direct callers (tests, benches) may go without. */
export async function createAccount(ledger: Ledger, actor: Actor, input: CreateAccountInput, opening?: AccountOpening): Promise<AccountView> {
  const requestId = parseRequestId(input.requestId);
  const currency = parseCurrency(ledger.currencies, input.currency);
  if (input.type !== "CHECKING" && input.type !== "SAVINGS") {
    throw invalidArgument("ACCOUNT_TYPE_INVALID", "type must be ACCOUNT_TYPE_CHECKING or ACCOUNT_TYPE_SAVINGS.", { field: "type" });
  }
  const type: AccountType = input.type;
  const displayName = parseText(input.displayName, "display_name", limits.displayNameCharsMax);
  const ownerId = input.ownerId === "" ? actor.userId : parseId(input.ownerId, "owner_id");
  if (ownerId !== actor.userId && !isOperator(actor)) {
    throw permissionDenied("OWNER_ID_STAFF_ONLY", "Only tellers and admins may open an account for another user.", { field: "owner_id" });
  }
  const nowMs = ledger.now();
  const key = { callerId: actor.userId, method: "AccountService/CreateAccount", requestId };
  // Before anything is written: a principal past its rate costs one map lookup, unless the call
  // replays a request that was already answered (a retry after a lost answer is not a new
  // opening; it answers from the stored key, as idempotent() does).
  try {
    opening?.admit(actor.userId, nowMs);
  } catch (err) {
    if (!(await keyStored(ledger.db, key))) throw err;
  }
  return idempotent({
    db: ledger.db,
    key,
    payload: { currency, type, display_name: displayName, owner_id: ownerId },
    nowMs,
    work: (tx) => insertAccount(tx, actor, { ownerId, currency, type, displayName }, nowMs, opening?.perCustomerMax),
    recordFailure: (tx, err) => auditFailure(tx, actor, "account.create", ownerId, err, nowMs, { currency }, ledger.refusals),
  });
}

async function insertAccount(tx: Tx, actor: Actor, a: { ownerId: string; currency: string; type: AccountType; displayName: string }, nowMs: number, perOwnerMax?: number): Promise<AccountView> {
  // Locked when the owner's accounts are counted (PostgreSQL; SQLite's single writer
  // serializes): parallel openings for one owner then count one after another.
  if (!(await ownerExists(tx, a.ownerId, perOwnerMax !== undefined))) throw notFound("USER_NOT_FOUND", "No such user.", { field: "owner_id" });
  if (perOwnerMax !== undefined && (await openAccountCount(tx, a.ownerId)) >= perOwnerMax) {
    throw failedPrecondition("ACCOUNT_LIMIT_REACHED", `A customer may hold at most ${perOwnerMax} open accounts; close one before opening another.`, { max: String(perOwnerMax) });
  }
  const id = uuidv7(nowMs);
  // A random number can collide with an existing one (about 1 in 10^11): draw again. Inserted
  // with ON CONFLICT DO NOTHING (the unit of work's INSERT would fail, and on PostgreSQL a failed
  // statement aborts the whole transaction).
  for (let attempt = 1; attempt <= limits.accountNumberAttemptsMax; attempt++) {
    const account = newAccountEntity({ id, number: randomAccountNumber(), ownerId: a.ownerId, kind: "CUSTOMER", currency: a.currency, accountType: a.type, displayName: a.displayName, shard: 0 }, nowMs);
    if (await insertAccountRow(tx, account)) {
      await audit(tx, actor, { action: "account.create", targetId: id, details: { owner_id: a.ownerId, currency: a.currency, type: a.type } }, nowMs);
      return accountView(account);
    }
  }
  throw new Error("could not draw an unused account number");
}

export async function getAccount(ledger: Ledger, actor: Actor, accountId: string): Promise<AccountView> {
  const id = parseId(accountId, "account_id");
  const account = await ledger.db.read((tx) => accountOfId(tx, id));
  return accessAccount(actor, account, "read");
}

/** LookupAccount (staff): an account by its number, spaces optional. */
export async function lookupAccount(ledger: Ledger, actor: Actor, number: string): Promise<AccountView> {
  if (!isStaff(actor)) throw permissionDenied("ROLE_REQUIRED", "Looking up accounts by number is for staff.", { roles: "TELLER,AUDITOR,ADMIN" });
  const compact = parseAccountNumberInput(number, "number");
  const account = await ledger.db.read((tx) => accountOfNumber(tx, compact));
  return accessAccount(actor, account, "read", "number");
}

export interface ListAccountsInput {
  ownerId: string;
  pageSize: number;
  pageToken: string;
}

/** Newest first. Customers always get their own accounts; staff all, or one owner's. */
export async function listAccounts(ledger: Ledger, actor: Actor, input: ListAccountsInput): Promise<Page<AccountView>> {
  const pageSize = pageSizeOf(input.pageSize);
  const requested = input.ownerId === "" ? "" : parseId(input.ownerId, "owner_id");
  const owner = isStaff(actor) ? requested : actor.userId;
  const filters = { owner: owner === "" ? null : owner };
  const cursor = decodePageToken(ledger.tokens, input.pageToken, filters, { id: "string" })?.id;
  const rows = await ledger.db.read((tx) => customerAccounts(tx, { ownerId: owner, beforeId: cursor === undefined ? undefined : String(cursor), limit: pageSize + 1 }));
  const items = rows.slice(0, pageSize);
  const more = rows.length > pageSize;
  return { items, nextPageToken: more ? encodePageToken(ledger.tokens, filters, { id: items[items.length - 1]!.id }) : "" };
}

export interface UpdateAccountInput {
  accountId: string;
  displayName: string;
  overdraftLimit?: { currency: string; minorUnits: bigint };
  /** update_mask.paths; undefined or empty is INVALID_ARGUMENT. */
  updateMask: string[] | undefined;
  etag: string;
}

const UPDATABLE = new Set(["display_name", "overdraft_limit"]);

export async function updateAccount(ledger: Ledger, actor: Actor, input: UpdateAccountInput): Promise<AccountView> {
  const id = parseId(input.accountId, "account_id");
  const paths = input.updateMask ?? [];
  if (paths.length === 0) throw invalidArgument("UPDATE_MASK_REQUIRED", "update_mask must name the fields to change: display_name, overdraft_limit.", { field: "update_mask" });
  for (const path of paths) {
    if (!UPDATABLE.has(path)) throw invalidArgument("UPDATE_MASK_INVALID", `update_mask path ${JSON.stringify(path.slice(0, 64))} cannot be changed.`, { field: "update_mask" });
  }
  const setName = paths.includes("display_name");
  const setLimit = paths.includes("overdraft_limit");
  const displayName = setName ? parseText(input.displayName, "display_name", limits.displayNameCharsMax) : undefined;
  const overdraft = setLimit ? parseOverdraft(ledger, input.overdraftLimit) : undefined;
  return auditedCommand(ledger, actor, "account.update", id, async (tx) => {
    const account = accessAccount(actor, await lockAccount(tx, id), "manage");
    if (overdraft && !isAdmin(actor)) throw permissionDenied("OVERDRAFT_ADMIN_ONLY", "Only an admin may change the overdraft limit.", { field: "overdraft_limit" });
    if (input.etag !== "" && input.etag !== etagOf(account)) {
      throw failedPrecondition("ETAG_MISMATCH", "The account changed since it was read; read it again and retry.", { etag: etagOf(account) });
    }
    if (account.status === "CLOSED") throw failedPrecondition("ACCOUNT_CLOSED", "The account is closed.", { account_id: id });
    if (overdraft && overdraft.currency !== account.currency) {
      throw failedPrecondition("CURRENCY_MISMATCH", `The account holds ${account.currency}.`, { account_id: id, account_currency: account.currency });
    }
    const next = { ...account, displayName: displayName ?? account.displayName, overdraftLimit: overdraft?.minor ?? account.overdraftLimit };
    return saveState(tx, actor, next, "account.update", { fields: paths.join(","), overdraft_limit: overdraft ? String(overdraft.minor) : null }, ledger.now());
  });
}

function parseOverdraft(ledger: Ledger, money: { currency: string; minorUnits: bigint } | undefined): { currency: string; minor: bigint } {
  if (!money) throw invalidArgument("FIELD_REQUIRED", "overdraft_limit is required when update_mask names it.", { field: "overdraft_limit" });
  const currency = parseCurrency(ledger.currencies, money.currency, "overdraft_limit.currency");
  if (money.minorUnits < 0n || money.minorUnits > limits.overdraftMinorMax) {
    throw invalidArgument("OVERDRAFT_LIMIT_INVALID", `overdraft_limit must be between 0 and ${limits.overdraftMinorMax} minor units.`, { field: "overdraft_limit" });
  }
  return { currency, minor: money.minorUnits };
}

/** The etag of an account: its version, bumped by name, limit and status changes. */
export function etagOf(account: Pick<AccountView, "version">): string {
  return `v${account.version}`;
}

/** Writes name, limit and status (never balances), bumps the version, records the event. An
 * update conditional on the version read (store/accounts.ts saveAccountState): it can never
 * overwrite a change it did not see, and it writes only the columns this file owns. */
async function saveState(tx: Tx, actor: Actor, next: AccountView, action: string, details: Record<string, string | null>, nowMs: number): Promise<AccountView> {
  // update_time never goes backwards: postings derive their entry times from it.
  const updateTimeMs = Math.max(nowMs, next.updateTimeMs);
  const version = next.version + 1;
  const changed = await saveAccountState(tx, next, version, updateTimeMs);
  // The row is locked (or SQLite's writer is ours) since it was read: anything else is a bug.
  if (changed !== 1) throw new Error(`account ${next.id}: version ${next.version} changed under its lock`);
  await audit(tx, actor, { action, targetId: next.id, details }, nowMs);
  return { ...next, version, updateTimeMs };
}

export interface StatusInput {
  accountId: string;
  /** Required for freeze and unfreeze; recorded in the audit log. */
  reason: string;
}

/** FreezeAccount: no money in or out. Freezing a frozen account changes nothing. */
export async function freezeAccount(ledger: Ledger, actor: Actor, input: StatusInput): Promise<AccountView> {
  return setFrozen(ledger, actor, input, true);
}

export async function unfreezeAccount(ledger: Ledger, actor: Actor, input: StatusInput): Promise<AccountView> {
  return setFrozen(ledger, actor, input, false);
}

async function setFrozen(ledger: Ledger, actor: Actor, input: StatusInput, freeze: boolean): Promise<AccountView> {
  requireOperator(actor);
  const id = parseId(input.accountId, "account_id");
  const reason = parseText(input.reason, "reason", limits.reasonCharsMax, true);
  const action = freeze ? "account.freeze" : "account.unfreeze";
  return auditedCommand(ledger, actor, action, id, async (tx) => {
    const account = accessAccount(actor, await lockAccount(tx, id), "operate");
    if (account.status === "CLOSED") throw failedPrecondition("ACCOUNT_CLOSED", "The account is closed.", { account_id: id });
    const target = freeze ? "FROZEN" : "ACTIVE";
    if (account.status === target) return account;
    return saveStatus(ledger, tx, actor, { ...account, status: target }, action, { reason });
  });
}

/** Saves a status change and lets WatchAccount streams know once it has committed (issue 28):
 * this process's through Ledger.statusCommitted after COMMIT, other processes' through the change
 * feed (PostgreSQL: a NOTIFY in this transaction, delivered at COMMIT and never for a rollback;
 * SQLite: the poll sees this change's audit row). A refusal or a no-op announces nothing. */
async function saveStatus(ledger: Ledger, tx: Tx, actor: Actor, next: AccountView, action: string, details: Record<string, string | null>): Promise<AccountView> {
  const saved = await saveState(tx, actor, next, action, details, ledger.now());
  await notifyStatusChange(tx);
  tx.afterCommit(() => ledger.statusCommitted(saved.id));
  return saved;
}

/** CloseAccount: only an active account with a zero ledger balance and no pending holds. */
export async function closeAccount(ledger: Ledger, actor: Actor, input: { accountId: string }): Promise<AccountView> {
  const id = parseId(input.accountId, "account_id");
  return auditedCommand(ledger, actor, "account.close", id, async (tx) => {
    const account = accessAccount(actor, await lockAccount(tx, id), "manage");
    if (account.status === "CLOSED") return account;
    if (account.status === "FROZEN") throw failedPrecondition("ACCOUNT_FROZEN", "A frozen account cannot be closed; it must be unfrozen first.", { account_id: id });
    if (account.held !== 0n) throw failedPrecondition("ACCOUNT_HAS_HOLDS", "The account has pending holds; they must be captured or released first.", { account_id: id });
    if (account.balance !== 0n) throw failedPrecondition("ACCOUNT_NOT_EMPTY", "Only an account with a zero balance can be closed; move the money out first.", { account_id: id });
    return saveStatus(ledger, tx, actor, { ...account, status: "CLOSED" }, "account.close", {});
  });
}
