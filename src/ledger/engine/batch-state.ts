// The posting function: the in-memory state of one batch of the posting engine and the rules
// that decide how accounts.balance and accounts.held change. Nothing else changes them.
//
// The engine (engine/batch.ts) locks every account a batch touches, then each command applies
// itself here (BatchState.post), in arrival order, against the locked balances:
//   1. checks that are expected to fail become DomainErrors, before anything changes: status,
//      currency, the floor (balance - held + overdraft_limit >= 0), the balance limit;
//   2. the posting's transaction row and one entry per leg (seq and balance_after running on
//      from the account's last entry) are recorded, the account's balance, held and entry count
//      move, all in memory;
//   3. TIGER_STYLE assertions, one condition each: entries sum to zero, per currency the touched
//      balances change by zero in total, held never negative, the floor held.
// A posting that fails is undone (mark/undo) and touches nothing; the engine then writes what
// the whole batch recorded with set-based statements and asserts that the database returned
// exactly the balances computed here. No I/O here: the rules run as well without a database.
import { DomainError, failedPrecondition } from "../../errors";
import { uuidv7 } from "../../util/ids";
import { auditEvent, type AuditOutcome } from "../../audit/recorder";
import { limits } from "../../limits";
import type { DailyLimitDefaults } from "../../config";
import { checkDailyLimit, withUsage } from "../daily-limits";
import type { Actor, DailyUsage, Direction, TransactionStatus, TransactionType, TransactionView } from "../types";
import { availableOf } from "../types";
import { assert, fail, type AuditDetails, type AuditRow, type EntryRow, type LockedAccount, type TransactionRow } from "./batch-rows";

export { assert, type AuditDetails, type AuditRow, type EntryRow, type LockedAccount, type TransactionRow } from "./batch-rows";

/** One account's part of a posting. */
export interface Leg {
  accountId: string;
  /** Signed change of the ledger balance (an entry of this amount is written, 0 included). */
  amount: bigint;
  /** Signed change of the held total (holds: +, capture / release: -). */
  held: bigint;
}

/** A transaction as a command asks for it: the view without what the batch assigns (id, time),
 * with null where the stored row has "" (the settlement side, no reversal, no hold). */
export type NewTransaction = Omit<TransactionView, "id" | "createTimeMs" | "fromAccountId" | "toAccountId" | "reversesId" | "holdId" | "expireTimeMs"> & {
  /** null for the settlement side: the money comes from outside the bank. */
  fromAccountId: string | null;
  toAccountId: string | null;
  reversesId?: string | null;
  holdId?: string | null;
  expireTimeMs?: number | null;
};

export interface Posting {
  transaction: NewTransaction;
  legs: Leg[];
  /** Admin reversals only: skip the floor check (docs/api.md: never below the floor unless forced). */
  force?: boolean;
  /** The daily limit this posting counts against (deposits, withdrawals, outgoing transfers). */
  dailyLimit?: { accountId: string; direction: Direction; amount: bigint };
  /** Money arriving in a customer account (deposits, transfers, captures to an account): it
   * counts against that account's incoming limit. Past it, a payer who may not see the account
   * (it is the opaque one) is told PAYEE_UNAVAILABLE and nothing more. */
  incoming?: { accountId: string; amount: bigint };
  /**
   * An account the caller may not see (another customer's payee): every check of the caller's
   * own side runs first, and a refusal on this one answers PAYEE_UNAVAILABLE without describing
   * it (security W10: errors never describe an account the caller does not own).
   */
  opaqueAccountId?: string;
}

/** Decides whether a refusal is its own audit event now or counted into its principal's window
 * (audit/business-refusals.ts BusinessRefusals; recordRefusal below asks it). */
export interface RefusalGate {
  recordNow(event: { actorId: string; action: string; targetId: string; outcome: "FAILED" | "DENIED"; clientAddress: string; requestId: string; details: AuditDetails }, nowMs?: number): boolean;
}

/**
 * The in-memory state of one batch: the locked accounts and transaction rows as the postings
 * applied so far left them, and everything to write. Every change pushes its inverse on an undo
 * log, so that a posting (or an atomic group of them) that fails can be taken back exactly.
 */
export class BatchState {
  private readonly accounts: Map<string, LockedAccount>;
  private readonly byNumber: Map<string, string>;
  private readonly transactions: Map<string, TransactionView>;
  /** Transactions created by this batch, in creation order. */
  readonly newTransactions = new Map<string, TransactionRow>();
  readonly entries: EntryRow[] = [];
  /** Status changes of rows that existed before the batch: id -> new status (and the old). */
  readonly statusChanges = new Map<string, { status: TransactionStatus; from: TransactionStatus; updateTimeMs: number }>();
  readonly audits: AuditRow[] = [];
  /** Where refusals recorded in this batch ask whether to be their own event (recordRefusal);
   * unset: every refusal is its own event. */
  refusals?: RefusalGate;
  private readonly undoLog: (() => void)[] = [];

  constructor(
    /** The locked accounts as read, by id; never changed (the batch's starting point). */
    readonly lockedAccounts: ReadonlyMap<string, LockedAccount>,
    lockedTransactions: ReadonlyMap<string, TransactionView>,
    /** The ledger entries (non-zero amounts) of locked transactions that reversals need. */
    private readonly entriesByTransaction: ReadonlyMap<string, readonly { accountId: string; amount: bigint }[]>,
    /** The batch's clock: every posting's time is at least this. */
    readonly nowMs: number,
    /** The configured default daily limits of a currency. */
    private readonly limitDefaults: (currency: string) => DailyLimitDefaults,
    /** The clock of the daily limits' day: the batch's clock, or the database's when it is later
     * (PostgreSQL reads it in the batch's lock statement), so that processes whose clocks differ
     * count the same day. */
    readonly limitClockMs: number = nowMs,
  ) {
    this.accounts = new Map(lockedAccounts);
    this.byNumber = new Map([...lockedAccounts.values()].map((a) => [a.number, a.id]));
    this.transactions = new Map(lockedTransactions);
  }

  /** The account as the postings so far left it; undefined when it was not locked (or does not exist). */
  account(id: string): LockedAccount | undefined {
    return this.accounts.get(id);
  }

  accountByNumber(number: string): LockedAccount | undefined {
    const id = this.byNumber.get(number);
    return id === undefined ? undefined : this.accounts.get(id);
  }

  /** A locked transaction row, or one created in this batch, as it stands now. */
  transaction(id: string): TransactionView | undefined {
    return this.newTransactions.get(id) ?? this.transactions.get(id);
  }

  entriesOf(transactionId: string): readonly { accountId: string; amount: bigint }[] {
    return this.entriesByTransaction.get(transactionId) ?? [];
  }

  /** A point to undo to. */
  mark(): number {
    return this.undoLog.length;
  }

  /** Takes back every change made since `mark`, newest first. */
  undo(mark: number): void {
    assert(mark <= this.undoLog.length, "undo to a mark that is still in the log");
    while (this.undoLog.length > mark) this.undoLog.pop()!();
  }

  /** Checks a posting against the current balances and applies it; returns it as stored. */
  post(posting: Posting): TransactionView {
    const legs = posting.legs;
    assertShape(legs);
    const accounts = legs.map((leg) => this.accounts.get(leg.accountId) ?? fail(`posting touches unlocked account ${leg.accountId}`));
    const limited = posting.dailyLimit;
    this.check(posting, accounts);
    if (posting.opaqueAccountId !== undefined) {
      const i = legs.findIndex((l) => l.accountId === posting.opaqueAccountId);
      assert(i >= 0 && limited?.accountId !== posting.opaqueAccountId, "an opaque account is a leg the caller's limits do not count on");
      try {
        checkLegs({ ...posting, legs: [legs[i]!] }, [accounts[i]!]);
      } catch (err) {
        if (err instanceof DomainError) throw payeeUnavailable();
        throw err;
      }
    }
    const incoming = posting.incoming;
    if (incoming) {
      const payee = accounts[legs.findIndex((l) => l.accountId === incoming.accountId)] ?? fail("an incoming limit names an account the posting does not touch");
      try {
        checkDailyLimit(payee, this.limitDefaults(payee.currency), "incoming", incoming.amount, this.limitClockMs);
      } catch (err) {
        if (err instanceof DomainError && incoming.accountId === posting.opaqueAccountId) throw payeeUnavailable();
        throw err;
      }
    }
    // Entry times never go backwards on an account, so balance-at-time can trust create_time.
    const createTimeMs = Math.max(this.nowMs, ...accounts.map((a) => a.updateTimeMs));
    const id = uuidv7(createTimeMs);
    const view = transactionView(id, posting.transaction, createTimeMs);
    const changes = legs.map((leg, i) => {
      const before = accounts[i]!;
      const after: LockedAccount = {
        ...before,
        balance: before.balance + leg.amount,
        held: before.held + leg.held,
        entryCount: before.entryCount + 1,
        updateTimeMs: createTimeMs,
        usage: usageAfter(before.usage, leg.accountId, limited, incoming, this.limitClockMs),
      };
      return { leg, before, after };
    });
    assertPosting(changes, posting.force === true);
    for (const { leg, after } of changes) {
      this.setAccount(after);
      this.pushEntry({ transactionId: id, accountId: leg.accountId, seq: after.entryCount, amount: leg.amount, balanceAfter: after.balance, createTimeMs });
    }
    this.setNewTransaction({ ...view, updateTimeMs: createTimeMs });
    return view;
  }

  /**
   * The checks of a posting's visible side, without applying it: status, currency, floor,
   * balance limit of every leg but the opaque one, then the daily limit. A transfer to an
   * account that does not exist runs them before answering NOT_FOUND, so that a number's
   * existence is never learned without money able to move (security W10).
   */
  check(posting: Pick<Posting, "transaction" | "legs" | "force" | "dailyLimit" | "opaqueAccountId">, accounts: readonly LockedAccount[]): void {
    const visible = posting.legs.map((leg, i) => ({ leg, account: accounts[i]! })).filter((x) => x.leg.accountId !== posting.opaqueAccountId);
    checkLegs({ ...posting, legs: visible.map((x) => x.leg) }, visible.map((x) => x.account));
    const limited = posting.dailyLimit;
    if (limited) {
      const account = accounts[posting.legs.findIndex((l) => l.accountId === limited.accountId)] ?? fail("a daily limit names an account the posting does not touch");
      checkDailyLimit(account, this.limitDefaults(account.currency), limited.direction, limited.amount, this.limitClockMs);
    }
  }

  /** Moves a transaction to a new status (a hold settled, a transaction reversed). */
  setStatus(transactionId: string, status: TransactionStatus, timeMs: number): void {
    const created = this.newTransactions.get(transactionId);
    if (created) {
      this.setNewTransaction({ ...created, status, updateTimeMs: Math.max(created.updateTimeMs, timeMs) });
      return;
    }
    const current = this.transactions.get(transactionId) ?? fail(`status change of unlocked transaction ${transactionId}`);
    const previous = this.statusChanges.get(transactionId);
    this.statusChanges.set(transactionId, { status, from: previous?.from ?? current.status, updateTimeMs: timeMs });
    this.transactions.set(transactionId, { ...current, status });
    this.undoLog.push(() => {
      this.transactions.set(transactionId, current);
      if (previous) this.statusChanges.set(transactionId, previous);
      else this.statusChanges.delete(transactionId);
    });
  }

  /** Records an audit event in the batch's transaction. */
  audit(actor: Actor, event: { action: string; targetId: string; outcome?: AuditOutcome; details?: AuditDetails }): void {
    // The one audit-row writer (audit/recorder.ts): the same secret check and row as every event.
    const row = auditEvent({
      actorId: actor.userId, action: event.action, targetId: event.targetId, outcome: event.outcome ?? "SUCCESS",
      clientAddress: actor.clientAddress, requestId: actor.callId, details: event.details ?? {},
    }, this.nowMs);
    this.audits.push(row);
    this.undoLog.push(() => void this.audits.pop());
  }

  /** The final state of every account the batch changed, with its total change. */
  changedAccounts(): { before: LockedAccount; after: LockedAccount }[] {
    const out: { before: LockedAccount; after: LockedAccount }[] = [];
    for (const [id, after] of this.accounts) {
      const before = this.lockedAccounts.get(id)!;
      if (after.entryCount !== before.entryCount) out.push({ before, after });
    }
    return out;
  }

  /** TIGER_STYLE: what the whole batch did, before it is written. */
  assertBatch(): void {
    const changeByCurrency = new Map<string, bigint>();
    let entries = 0;
    for (const { before, after } of this.changedAccounts()) {
      assert(after.entryCount > before.entryCount, "a changed account gained entries");
      entries += after.entryCount - before.entryCount;
      changeByCurrency.set(before.currency, (changeByCurrency.get(before.currency) ?? 0n) + (after.balance - before.balance));
      assert(after.held >= 0n, "held is never negative");
    }
    assert(entries === this.entries.length, "every entry belongs to a changed account");
    for (const change of changeByCurrency.values()) assert(change === 0n, "per currency, the batch moved no money in or out of the ledger");
    assert(sum(this.entries.map((e) => e.amount)) === 0n, "the batch's entries sum to zero");
  }

  private setAccount(after: LockedAccount): void {
    const previous = this.accounts.get(after.id)!;
    this.accounts.set(after.id, after);
    this.undoLog.push(() => this.accounts.set(after.id, previous));
  }

  private pushEntry(entry: EntryRow): void {
    this.entries.push(entry);
    this.undoLog.push(() => void this.entries.pop());
  }

  private setNewTransaction(row: TransactionRow): void {
    const previous = this.newTransactions.get(row.id);
    this.newTransactions.set(row.id, row);
    this.undoLog.push(() => {
      if (previous) this.newTransactions.set(row.id, previous);
      else this.newTransactions.delete(row.id);
    });
  }
}

function transactionView(id: string, t: NewTransaction, createTimeMs: number): TransactionView {
  // The stored row's "" and null for the parts a new transaction leaves out (store/columns.ts).
  return {
    ...t, id, createTimeMs,
    fromAccountId: t.fromAccountId ?? "", toAccountId: t.toAccountId ?? "", reversesId: t.reversesId ?? "", holdId: t.holdId ?? "", expireTimeMs: t.expireTimeMs ?? null,
  };
}

function assertShape(legs: Leg[]): void {
  assert(legs.length > 0, "a posting has at least one leg");
  assert(new Set(legs.map((l) => l.accountId)).size === legs.length, "one leg per account");
  assert(sum(legs.map((l) => l.amount)) === 0n, "entries sum to zero");
}

/** The expected failures, checked in a fixed order: status, currency, floor, balance limit. The
 * metadata never describes an account the caller does not own: only the failing leg's role. */
function checkLegs(posting: Posting, accounts: LockedAccount[]): void {
  const legs = posting.legs;
  legs.forEach((leg, i) => {
    const account = accounts[i]!;
    // Releasing held money moves nothing, so it may happen on any account (the sweeper
    // expires holds on frozen accounts too); everything else needs an active account.
    const movesMoney = leg.amount !== 0n || leg.held > 0n;
    if (movesMoney && account.status === "CLOSED") {
      throw failedPrecondition("ACCOUNT_CLOSED", "The account is closed; no money can move in or out.", { account_id: account.id });
    }
    if (movesMoney && account.status === "FROZEN") {
      throw failedPrecondition("ACCOUNT_FROZEN", "The account is frozen; no money can move in or out.", { account_id: account.id });
    }
  });
  for (const account of accounts) {
    if (account.currency !== posting.transaction.currency) {
      throw failedPrecondition("CURRENCY_MISMATCH", `The account holds ${account.currency}, not ${posting.transaction.currency}.`, {
        account_id: account.id,
        account_currency: account.currency,
        amount_currency: posting.transaction.currency,
      });
    }
  }
  legs.forEach((leg, i) => {
    const account = accounts[i]!;
    if (account.kind === "CUSTOMER" && !posting.force && lowersAvailable(leg)) {
      const after = availableOf({ balance: account.balance + leg.amount, held: account.held + leg.held, overdraftLimit: account.overdraftLimit });
      if (after < 0n) {
        throw failedPrecondition("INSUFFICIENT_FUNDS", "The available balance is too low for this amount.", { account_id: account.id });
      }
    }
  });
  legs.forEach((leg, i) => {
    const account = accounts[i]!;
    if (abs(account.balance + leg.amount) > limits.balanceMinorAbsMax || account.held + leg.held > limits.balanceMinorAbsMax) {
      throw failedPrecondition("BALANCE_LIMIT_EXCEEDED", "The account balance would exceed the largest balance this bank keeps.", { account_id: account.id });
    }
  });
}

/** Another customer's account cannot take this payment; what is wrong with it is theirs. */
export function payeeUnavailable(): DomainError {
  return failedPrecondition("PAYEE_UNAVAILABLE", "The receiving account cannot take this payment.", { field: "target" });
}

function lowersAvailable(leg: Leg): boolean {
  return leg.amount - leg.held < 0n;
}

/** TIGER_STYLE assertions of one posting, one condition each. */
function assertPosting(changes: { leg: Leg; before: LockedAccount; after: LockedAccount }[], forced: boolean): void {
  const changeByCurrency = new Map<string, bigint>();
  for (const { leg, before, after } of changes) {
    assert(after.balance === before.balance + leg.amount, "balance changed by exactly the entry amount");
    assert(after.held === before.held + leg.held, "held changed by exactly the hold delta");
    assert(after.held >= 0n, "held is never negative");
    assert(after.entryCount === before.entryCount + 1, "entry seq follows the account's last entry");
    changeByCurrency.set(before.currency, (changeByCurrency.get(before.currency) ?? 0n) + (after.balance - before.balance));
    if (before.kind === "CUSTOMER" && !forced && lowersAvailable(leg)) {
      assert(after.balance - after.held + before.overdraftLimit >= 0n, "a customer balance stays above -overdraft_limit, holds counted");
    }
  }
  for (const change of changeByCurrency.values()) assert(change === 0n, "per currency, the touched balances sum to the same total");
}

function sum(values: bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

/** An account's daily usage after a posting: its own limited direction, and what arrived. */
function usageAfter(usage: DailyUsage, accountId: string, limited: Posting["dailyLimit"], incoming: Posting["incoming"], nowMs: number): DailyUsage {
  let next = usage;
  if (limited?.accountId === accountId) next = withUsage(next, limited.direction, limited.amount, nowMs);
  if (incoming?.accountId === accountId) next = withUsage(next, "incoming", incoming.amount, nowMs);
  return next;
}

/** Who a refused posting's FAILED (or DENIED) audit event names. */
export interface Failure {
  actor: Actor;
  action: string;
  targetId: string;
  details: AuditDetails;
}

/** The FAILED (DENIED for a permission) audit event of a refused posting, in its batch, unless
 * the engine's refusal gate counts a repeat of its principal, action and reason into the
 * window's aggregated event instead. A batch retried as a whole may count its repeats twice
 * there: the aggregated count is an upper bound (docs/security.md). */
export function recordRefusal(state: BatchState, failure: Failure, err: DomainError): void {
  const outcome = err.kind === "permission_denied" ? "DENIED" : "FAILED";
  const details = { ...failure.details, code: err.codeName, reason: err.reason };
  const gate = state.refusals;
  if (gate && !gate.recordNow({ actorId: failure.actor.userId, action: failure.action, targetId: failure.targetId, outcome, clientAddress: failure.actor.clientAddress, requestId: failure.actor.callId, details }, state.nowMs)) return;
  state.audit(failure.actor, { action: failure.action, targetId: failure.targetId, outcome, details });
}
