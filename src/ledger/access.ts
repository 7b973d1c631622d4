// Object-level access. The auth interceptor has already checked the method's role list (from
// the proto); here we decide which objects the caller may see or act on. A customer sees only
// their own accounts: anything else is NOT_FOUND, the same answer as for an account that does
// not exist, so existence is never revealed. Settlement accounts (the outside world) are
// readable by staff and can never be the subject of a command.
import { Role } from "../roles";
import { DomainError, notFound, permissionDenied } from "../errors";
import type { AccountView, Actor } from "./types";

const has = (actor: Actor, ...roles: Role[]) => roles.some((r) => actor.roles.includes(r));

/** TELLER, AUDITOR, ADMIN: may read every account and transaction. */
export const isStaff = (actor: Actor) => has(actor, Role.TELLER, Role.AUDITOR, Role.ADMIN);
/** TELLER, ADMIN: may move money on any customer account (AUDITOR is read-only). */
export const isOperator = (actor: Actor) => has(actor, Role.TELLER, Role.ADMIN);
export const isAdmin = (actor: Actor) => has(actor, Role.ADMIN);
/** A service account moving money on behalf of customers (issue 27): reads and operates the
 * customer accounts of its allow-list (all, without one), like an owner. */
export const isPaymentService = (actor: Actor) => has(actor, Role.PAYMENT_SERVICE);

/** Whether a payment service's allow-list covers the account: every customer account when the
 * service has no allow-list. */
export function inServiceScope(actor: Actor, account: { id: string; ownerId: string | null }): boolean {
  const scope = actor.scope;
  if (!scope || (scope.ownerIds.length === 0 && scope.accountIds.length === 0)) return true;
  return (account.ownerId !== null && scope.ownerIds.includes(account.ownerId)) || scope.accountIds.includes(account.id);
}

/** A payment service may read and operate this account (a customer's, within its allow-list). */
function serviceMay(actor: Actor, account: AccountView, use: AccountUse): boolean {
  return use !== "manage" && account.kind === "CUSTOMER" && isPaymentService(actor) && inServiceScope(actor, account);
}

export function accountNotFound(field = "account_id"): DomainError {
  return notFound("ACCOUNT_NOT_FOUND", "No such account.", { field });
}

/** What the caller wants to do with an account. */
export type AccountUse =
  /** GetAccount, GetBalance, ListTransactions: owner or staff. */
  | "read"
  /** Deposit, Withdraw, Transfer source, Freeze: owner (when the method allows it) or operator. */
  | "operate"
  /** UpdateAccount, CloseAccount: owner or admin. */
  | "manage";

/** Returns the account if the caller may use it so, otherwise NOT_FOUND. */
export function accessAccount(actor: Actor, account: AccountView | undefined, use: AccountUse, field = "account_id"): AccountView {
  if (!account) throw accountNotFound(field);
  if (account.kind === "SETTLEMENT") {
    if (use === "read" && isStaff(actor)) return account;
    throw accountNotFound(field);
  }
  if (account.ownerId === actor.userId) return account;
  if (serviceMay(actor, account, use)) return account;
  const allowed = use === "read" ? isStaff(actor) : use === "operate" ? isOperator(actor) : isAdmin(actor);
  if (!allowed) throw accountNotFound(field);
  return account;
}

/** Defence in depth behind the interceptor's role check, for staff-only commands. */
export function requireOperator(actor: Actor): void {
  if (!isOperator(actor)) throw permissionDenied("ROLE_REQUIRED", "This operation is for tellers and admins.", { roles: "TELLER,ADMIN" });
}

export function requireAdmin(actor: Actor): void {
  if (!isAdmin(actor)) throw permissionDenied("ROLE_REQUIRED", "This operation is for admins.", { roles: "ADMIN" });
}
