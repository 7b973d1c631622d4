// Reads of the ledger: one transaction, an account's statement, and balances now or at a past
// instant, as the caller may see them. The statements are store/transactions.ts's: statements
// and past balances come from the append-only entries (balance_after).
import { invalidArgument, notFound } from "../errors";
import { limits } from "../limits";
import { accessAccount, inServiceScope, isPaymentService, isStaff } from "./access";
import type { Ledger } from "./ledger";
import { decodePageToken, encodePageToken, pageSizeOf } from "../util/pagination";
import { readAccount } from "./store/accounts";
import { toTransaction, withoutCount } from "./store/columns";
import { balancesAt, statementRows, transactionWithParties } from "./store/transactions";
import type { Row, Tx } from "../db/database";
import type { AccountView, Actor, BalanceView, Page, StatementLine, TransactionView } from "./types";
import { availableOf } from "./types";
import { parseId } from "./validate";

/** A party's owner or staff; anyone else gets NOT_FOUND. */
export async function getTransaction(ledger: Ledger, actor: Actor, transactionId: string): Promise<TransactionView> {
  const id = parseId(transactionId, "transaction_id");
  const row = await ledger.db.read((tx) => transactionWithParties(tx, id));
  if (row === undefined) throw transactionNotFound();
  const t = toTransaction(row);
  // A party is the caller's when they own its account, or (a payment service) when its
  // allow-list covers that customer account.
  const party = (accountId: string, owner: unknown) =>
    accountId !== "" && owner != null && (owner === actor.userId || (isPaymentService(actor) && inServiceScope(actor, { id: accountId, ownerId: String(owner) })));
  const owns = { from: party(t.fromAccountId, row.from_owner), to: party(t.toAccountId, row.to_owner) };
  if (!isStaff(actor) && !owns.from && !owns.to) throw transactionNotFound();
  return asSeenBy(actor, t, owns, row.reversed_description);
}

function transactionNotFound() {
  return notFound("TRANSACTION_NOT_FOUND", "No such transaction.", { field: "transaction_id" });
}

/** initiated_by of what the bank does by itself (the hold sweeper, hold-sweeper.ts). */
const SYSTEM_INITIATOR = "system";

/**
 * A transaction as `actor` may see it (docs/api.md, "What each party sees"). Staff see it all.
 * A customer sees the other party by account number only (the statement line's counterparty):
 * no account id that is not theirs, no user id or request_id but their own (a payer's request_id
 * is the payer's; a teller's deposit shows neither the teller nor the teller's request_id), and
 * no staff-only text: a reversal's description is the admin's internal reason, so the customer
 * reads "Reversal of <original description>".
 */
export function asSeenBy(actor: Actor, t: TransactionView, owns: { from: boolean; to: boolean }, reversedDescription: unknown): TransactionView {
  if (isStaff(actor)) return t;
  const initiatedHere = t.initiatedBy === actor.userId;
  // The bank's own work (the hold sweeper) is no person: "system" stays, with no request_id.
  const bySystem = t.initiatedBy === SYSTEM_INITIATOR;
  const original = reversedDescription == null ? "" : String(reversedDescription);
  return {
    ...t,
    fromAccountId: owns.from ? t.fromAccountId : "",
    toAccountId: owns.to ? t.toAccountId : "",
    initiatedBy: initiatedHere || bySystem ? t.initiatedBy : "",
    requestId: initiatedHere ? t.requestId : "",
    description: t.type === "REVERSAL" ? (original === "" ? "Reversal" : `Reversal of ${original}`) : t.description,
  };
}

export interface ListTransactionsInput {
  accountId: string;
  startTimeMs?: number;
  endTimeMs?: number;
  pageSize: number;
  pageToken: string;
}

/** The statement, newest first: start_time <= create_time < end_time. Cursor: the entry seq. */
export async function listTransactions(ledger: Ledger, actor: Actor, input: ListTransactionsInput): Promise<Page<StatementLine>> {
  const accountId = parseId(input.accountId, "account_id");
  const pageSize = pageSizeOf(input.pageSize);
  const start = input.startTimeMs;
  const end = input.endTimeMs;
  if (start !== undefined && end !== undefined && start > end) {
    throw invalidArgument("TIME_RANGE_INVALID", "start_time must not be after end_time.", { field: "start_time" });
  }
  const filters = { account: accountId, start: start ?? null, end: end ?? null };
  const cursor = decodePageToken(ledger.tokens, input.pageToken, filters, { seq: "number" })?.seq;
  // Who may read the account is decided on the primary; the entries may come from the replica
  // (limits.replicaLagMaxMs), so a statement may lag the newest movements by that much. Without
  // a replica, both in one unit of work.
  const readable = (tx: Tx) => readAccount(tx, accountId).then((account) => accessAccount(actor, account && withoutCount(account), "read"));
  const known = ledger.staleReads === ledger.db ? undefined : await ledger.db.read(readable);
  return ledger.staleReads.read(async (tx) => {
    const account = known ?? (await readable(tx));
    const rows = await statementRows(tx, { accountId: account.id, start, end, beforeSeq: cursor === undefined ? undefined : Number(cursor), limit: pageSize + 1 });
    const items = rows.slice(0, pageSize).map((r) => statementLine(ledger, actor, r));
    const more = rows.length > pageSize;
    return { items, nextPageToken: more ? encodePageToken(ledger.tokens, filters, { seq: items[items.length - 1]!.seq }) : "" };
  });
}

/** The account, if `actor` may read it (NOT_FOUND otherwise), from the primary. */
async function readableAccount(ledger: Ledger, actor: Actor, accountId: string): Promise<AccountView> {
  const account = await ledger.db.read((tx) => readAccount(tx, accountId));
  return accessAccount(actor, account && withoutCount(account), "read");
}

/** A row of STATEMENT_COLUMNS as the caller may see it. */
export function statementLine(ledger: Ledger, actor: Actor, r: Row): StatementLine {
  const seq = Number(r.entry_seq);
  const accountId = String(r.entry_account_id);
  const t = toTransaction(r);
  // The entry's account is the reader's (a customer reads only their own statements); the other
  // account is theirs too when the counterparty is.
  const owns = (id: string) => id !== "" && (id === accountId || (r.counterparty_owner != null && String(r.counterparty_owner) === actor.userId && id !== accountId));
  const line: StatementLine = {
    transaction: asSeenBy(actor, t, { from: owns(t.fromAccountId), to: owns(t.toAccountId) }, r.reversed_description),
    amount: BigInt(String(r.entry_amount)),
    balanceAfter: BigInt(String(r.entry_balance_after)),
    seq,
    cursor: entryCursor(ledger, accountId, seq),
  };
  if (r.counterparty_number != null && r.counterparty_kind === "CUSTOMER") {
    line.counterparty = { number: String(r.counterparty_number), name: isStaff(actor) ? String(r.counterparty_name ?? "") : "" };
  }
  return line;
}

/** The sealed cursor of an account's entry: which account, which position in its statement. */
export function entryCursor(ledger: Ledger, accountId: string, seq: number): string {
  return ledger.tokens.seal("entry", { a: accountId, s: seq });
}

/** The position after which `cursor` resumes on `accountId`; INVALID_ARGUMENT when the cursor is
 * forged, edited, or of another account. */
export function parseEntryCursor(ledger: Ledger, accountId: string, cursor: string, field = "start_after"): number {
  const payload = ledger.tokens.open("entry", cursor) as { a?: unknown; s?: unknown } | undefined;
  if (!payload || payload.a !== accountId || typeof payload.s !== "number" || !Number.isSafeInteger(payload.s) || payload.s < 0) {
    throw invalidArgument("CURSOR_INVALID", `${field} is not a cursor of this account's statement.`, { field });
  }
  return payload.s;
}

/**
 * Balances now, or at a past instant from the entries: the ledger balance is the balance_after
 * of the account's last entry at or before as_of, held is the total of the holds that were
 * pending at as_of. The overdraft limit has no history: the current one is used.
 */
export async function getBalance(ledger: Ledger, actor: Actor, input: { accountId: string; asOfMs?: number }): Promise<BalanceView> {
  const accountId = parseId(input.accountId, "account_id");
  const nowMs = ledger.now();
  const asOf = input.asOfMs;
  if (asOf !== undefined && (asOf < 0 || asOf > nowMs + limits.asOfSkewMsMax)) {
    throw invalidArgument("AS_OF_INVALID", "as_of must not be in the future.", { field: "as_of" });
  }
  const account = await readableAccount(ledger, actor, accountId);
  if (asOf === undefined || asOf >= nowMs) {
    return { currency: account.currency, ledger: account.balance, held: account.held, available: availableOf(account), asOfMs: asOf ?? nowMs };
  }
  // A past instant older than the replica's staleness bound is history the replica holds in full;
  // a more recent one reads the primary, so it never misses a movement the primary has.
  const reader = asOf < nowMs - limits.replicaLagMaxMs ? ledger.staleReads : ledger.db;
  return reader.read(async (tx) => {
    const { balance, held: heldAt } = await balancesAt(tx, account.id, asOf);
    return { currency: account.currency, ledger: balance, held: heldAt, available: balance - heldAt + account.overdraftLimit, asOfMs: asOf };
  });
}

