// The ledger's domain types: what the domain functions take and return. Money is bigint minor
// units everywhere; times are epoch milliseconds. Services map these to and from bank.v1.
import type { Role } from "../roles";

/** Who is calling, and the facts the audit log needs about the call. */
export interface Actor {
  userId: string;
  roles: readonly Role[];
  clientAddress: string;
  /** The call's id (x-request-id), recorded in audit events; not the AIP-155 request_id. */
  callId: string;
  /** The call's abort signal (its deadline, or the client going away): work that has not
   * started when it fires is dropped, and nothing is committed after it. */
  signal?: AbortSignal;
  /** Throws (UNAUTHENTICATED) once the caller's session has ended: a watch stream calls it at
   * every heartbeat, so that it does not outlive a sign-out or a revocation. */
  checkSession?: () => Promise<void>;
  /** A service account's allow-list (issue 27): with ROLE_PAYMENT_SERVICE it may act only on
   * accounts of these owners or these accounts; empty lists (or none) mean every customer
   * account. */
  scope?: { ownerIds: readonly string[]; accountIds: readonly string[] };
}

export type AccountKind = "CUSTOMER" | "SETTLEMENT";
export type AccountType = "CHECKING" | "SAVINGS";
export type AccountStatus = "ACTIVE" | "FROZEN" | "CLOSED";
export type TransactionType = "DEPOSIT" | "WITHDRAWAL" | "TRANSFER" | "HOLD" | "CAPTURE" | "RELEASE" | "REVERSAL";
export type TransactionStatus = "POSTED" | "PENDING" | "RELEASED" | "CAPTURED" | "REVERSED" | "EXPIRED";

/** The directions an account's daily limits bound (docs/api.md Additions). */
export type Direction = "deposit" | "withdrawal" | "transferOut" | "incoming";

/** An account's own setting of one daily limit: null = the currency's configured default. */
export type LimitSetting = bigint | "unlimited" | null;

/** What an account moved today (UTC) per direction; `day` is days since 1970-01-01 UTC. */
export interface DailyUsage {
  day: number;
  deposit: bigint;
  withdrawal: bigint;
  transferOut: bigint;
  /** Deposits and incoming transfers together. */
  incoming: bigint;
}

export interface AccountView {
  id: string;
  /** Compact digits; format with formatAccountNumber for people. */
  number: string;
  /** Empty for settlement accounts. */
  ownerId: string;
  kind: AccountKind;
  currency: string;
  type: AccountType;
  status: AccountStatus;
  displayName: string;
  balance: bigint;
  held: bigint;
  overdraftLimit: bigint;
  createTimeMs: number;
  updateTimeMs: number;
  /** Bumped by changes of name, limit or status (not by postings); the etag. */
  version: number;
  /** Settlement accounts: the shard of the currency's settlement (0 for customer accounts). */
  shard: number;
  /** The account's own daily limits (null: the currency's default). */
  limits: Record<Direction, LimitSetting>;
  usage: DailyUsage;
}

export interface TransactionView {
  id: string;
  type: TransactionType;
  status: TransactionStatus;
  currency: string;
  amount: bigint;
  /** "" when the money comes from outside the bank (the settlement account). */
  fromAccountId: string;
  /** "" when the money leaves the bank (or for a HOLD / RELEASE). */
  toAccountId: string;
  description: string;
  requestId: string;
  initiatedBy: string;
  reversesId: string;
  holdId: string;
  createTimeMs: number;
  /** Set for holds only. */
  expireTimeMs: number | null;
}

/** One statement line: a transaction as seen by one account. */
export interface StatementLine {
  transaction: TransactionView;
  /** Signed change of this account's ledger balance (0 for HOLD / RELEASE). */
  amount: bigint;
  balanceAfter: bigint;
  seq: number;
  /** The entry's sealed cursor (WatchAccount resumes after it). */
  cursor: string;
  /** The other customer account of a transfer, capture or reversal, as the caller may see it
   * (docs/api.md: its number always; its owner's name only for staff). */
  counterparty?: { number: string; name: string };
}

export interface BalanceView {
  currency: string;
  ledger: bigint;
  held: bigint;
  available: bigint;
  asOfMs: number;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** A validated amount of money. */
export interface Amount {
  currency: string;
  minor: bigint;
}

/** available = ledger - held + overdraft_limit (docs/api.md). */
export function availableOf(a: Pick<AccountView, "balance" | "held" | "overdraftLimit">): bigint {
  return a.balance - a.held + a.overdraftLimit;
}
