// Holds, two-phase like card authorisations: CreateHold reserves money (held grows, the ledger
// balance does not move); CaptureHold moves all or part of it and releases the rest;
// ReleaseHold gives it back; the sweeper releases holds past their expire_time as EXPIRED.
// Each is a request to the posting engine. A hold leaves PENDING exactly once: its row is locked
// before its accounts (lock order: transaction rows, then accounts, each by ascending id), and
// its status is checked in the batch, where a capture earlier in the same batch is already seen.
import { failedPrecondition, invalidArgument, notFound } from "../errors";
import { limits } from "../limits";
import { accessAccount, accountNotFound, requireOperator } from "./access";
import { moneyDetails, runMoneyCommand } from "./commands";
import type { Ledger } from "./ledger";
import type { MoneyInput } from "./movements";
import type { BatchState } from "./posting";
import type { LockView } from "./posting-engine";
import type { Actor, TransactionView } from "./types";
import { parseAmount, parseId, parseRequestId, parseText } from "./validate";

export interface CreateHoldInput {
  requestId: string;
  accountId: string;
  amount: MoneyInput | undefined;
  description: string;
  /** Unset: now + limits.holdTtlSecondsDefault. */
  expireTimeMs?: number;
}

export async function createHold(ledger: Ledger, actor: Actor, input: CreateHoldInput): Promise<TransactionView> {
  requireOperator(actor);
  const requestId = parseRequestId(input.requestId);
  const accountId = parseId(input.accountId, "account_id");
  const amount = parseAmount(ledger.currencies, input.amount);
  const description = parseText(input.description, "description", limits.descriptionCharsMax);
  const nowMs = ledger.now();
  const expireTimeMs = input.expireTimeMs ?? nowMs + limits.holdTtlSecondsDefault * 1000;
  if (expireTimeMs <= nowMs || expireTimeMs > nowMs + limits.holdTtlSecondsMax * 1000) {
    throw invalidArgument("EXPIRE_TIME_INVALID", `expire_time must be in the future and at most ${limits.holdTtlSecondsMax / 86400} days away.`, { field: "expire_time" });
  }
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/CreateHold",
    action: "transaction.hold.create",
    requestId,
    payload: { account_id: accountId, currency: amount.currency, minor_units: amount.minor, description, expire_time: input.expireTimeMs ?? null },
    targetId: accountId,
    failureDetails: moneyDetails(amount.minor, amount.currency),
    accounts: () => ({ ids: [accountId] }),
    apply: (batch) => {
      const account = accessAccount(actor, batch.account(accountId), "operate");
      const t = batch.post({
        transaction: {
          type: "HOLD", status: "PENDING", currency: amount.currency, amount: amount.minor, fromAccountId: account.id, toAccountId: null,
          description, requestId, initiatedBy: actor.userId, expireTimeMs,
        },
        legs: [{ accountId: account.id, amount: 0n, held: amount.minor }],
      });
      batch.audit(actor, { action: "transaction.hold.create", targetId: t.id, details: moneyDetails(t.amount, t.currency, { account_id: account.id, expire_time: expireTimeMs }) });
      return t;
    },
  });
}

/** The hold as the batch has it now, if it can still be captured or released. */
function pendingHold(batch: BatchState, holdId: string): TransactionView {
  const hold = batch.transaction(holdId);
  if (!hold || hold.type !== "HOLD") throw notFound("HOLD_NOT_FOUND", "No such hold.", { field: "hold_id" });
  if (hold.status !== "PENDING") {
    throw failedPrecondition("HOLD_NOT_PENDING", `The hold was already ${hold.status.toLowerCase()}.`, { hold_id: hold.id, status: hold.status });
  }
  if (hold.expireTimeMs !== null && hold.expireTimeMs <= batch.nowMs) {
    throw failedPrecondition("HOLD_EXPIRED", "The hold has expired; its money is being released.", { hold_id: hold.id });
  }
  return hold;
}

/** The account of a locked hold (none when the id is not a hold). */
function holdAccount(locked: LockView, holdId: string): string[] {
  const hold = locked.transaction(holdId);
  return hold && hold.type === "HOLD" ? [hold.fromAccountId] : [];
}

export interface CaptureHoldInput {
  requestId: string;
  holdId: string;
  /** Unset: the whole hold. */
  amount?: MoneyInput;
  /** "": the settlement account (the money leaves the bank). */
  toAccountId: string;
}

export async function captureHold(ledger: Ledger, actor: Actor, input: CaptureHoldInput): Promise<TransactionView> {
  requireOperator(actor);
  const requestId = parseRequestId(input.requestId);
  const holdId = parseId(input.holdId, "hold_id");
  const amount = input.amount ? parseAmount(ledger.currencies, input.amount) : undefined;
  const toId = input.toAccountId === "" ? undefined : parseId(input.toAccountId, "to_account_id");
  const targetOf = (hold: TransactionView) => toId ?? ledger.settlementId(hold.currency, hold.fromAccountId);
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/CaptureHold",
    action: "transaction.hold.capture",
    requestId,
    payload: { hold_id: holdId, currency: amount?.currency ?? null, minor_units: amount?.minor ?? null, to_account_id: toId ?? null },
    targetId: holdId,
    transactionIds: [holdId],
    accounts: (locked) => {
      const hold = locked.transaction(holdId);
      return { ids: hold && hold.type === "HOLD" ? [hold.fromAccountId, targetOf(hold)] : [] };
    },
    apply: (batch) => {
      const hold = pendingHold(batch, holdId);
      const captured = amount?.minor ?? hold.amount;
      if (amount && amount.currency !== hold.currency) {
        throw failedPrecondition("CURRENCY_MISMATCH", `The hold is in ${hold.currency}.`, { hold_id: hold.id, hold_currency: hold.currency });
      }
      if (captured > hold.amount) {
        throw failedPrecondition("AMOUNT_EXCEEDS_HOLD", "The capture amount is larger than the hold.", { hold_id: hold.id, held: hold.amount.toString() });
      }
      const source = accessAccount(actor, batch.account(hold.fromAccountId), "operate");
      const target = batch.account(targetOf(hold));
      if (!target || (toId !== undefined && target.kind !== "CUSTOMER")) throw accountNotFound("to_account_id");
      if (target.id === source.id) throw failedPrecondition("SAME_ACCOUNT", "A hold cannot be captured to the account it is on.", { field: "to_account_id" });
      const t = batch.post({
        transaction: {
          type: "CAPTURE", status: "POSTED", currency: hold.currency, amount: captured, fromAccountId: source.id, toAccountId: toId ?? null,
          description: hold.description, requestId, initiatedBy: actor.userId, holdId: hold.id,
        },
        // A capture is the withdrawal (to settlement) or outgoing transfer (to an account) it
        // stands for: it counts against that daily limit of the source, whoever captures.
        dailyLimit: { accountId: source.id, direction: toId === undefined ? "withdrawal" : "transferOut", amount: captured },
        ...(toId === undefined ? {} : { incoming: { accountId: target.id, amount: captured } }),
        // The whole hold leaves `held`: what is not captured is released.
        legs: [
          { accountId: source.id, amount: -captured, held: -hold.amount },
          { accountId: target.id, amount: captured, held: 0n },
        ],
      });
      batch.setStatus(hold.id, "CAPTURED", t.createTimeMs);
      batch.audit(actor, { action: "transaction.hold.capture", targetId: t.id, details: moneyDetails(captured, hold.currency, { hold_id: hold.id, released: (hold.amount - captured).toString() }) });
      return t;
    },
  });
}

export async function releaseHold(ledger: Ledger, actor: Actor, input: { requestId: string; holdId: string }): Promise<TransactionView> {
  requireOperator(actor);
  const requestId = parseRequestId(input.requestId);
  const holdId = parseId(input.holdId, "hold_id");
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/ReleaseHold",
    action: "transaction.hold.release",
    requestId,
    payload: { hold_id: holdId },
    targetId: holdId,
    transactionIds: [holdId],
    accounts: (locked) => ({ ids: holdAccount(locked, holdId) }),
    apply: (batch) => {
      const hold = pendingHold(batch, holdId);
      return postRelease(batch, actor, hold, "RELEASED", requestId, hold.description);
    },
  });
}

/** Posts the RELEASE of a hold (a zero entry, held shrinks) and settles the hold. */
function postRelease(batch: BatchState, actor: Actor, hold: TransactionView, status: "RELEASED" | "EXPIRED", requestId: string, description: string): TransactionView {
  const account = status === "EXPIRED" ? batch.account(hold.fromAccountId) : accessAccount(actor, batch.account(hold.fromAccountId), "operate");
  if (!account) throw new Error("ledger invariant violated: a hold's account vanished");
  const t = batch.post({
    transaction: {
      type: "RELEASE", status: "POSTED", currency: hold.currency, amount: hold.amount, fromAccountId: account.id, toAccountId: null,
      description, requestId, initiatedBy: actor.userId, holdId: hold.id,
    },
    legs: [{ accountId: account.id, amount: 0n, held: -hold.amount }],
  });
  batch.setStatus(hold.id, status, t.createTimeMs);
  const action = status === "EXPIRED" ? "transaction.hold.expire" : "transaction.hold.release";
  batch.audit(actor, { action, targetId: t.id, details: moneyDetails(hold.amount, hold.currency, { hold_id: hold.id, account_id: account.id }) });
  return t;
}

const SYSTEM: Actor = { userId: "system", roles: [], clientAddress: "", callId: "" };

/**
 * Releases holds past their expire_time (status EXPIRED), at most limits.holdSweepBatchMax per
 * call, through the posting engine (they share its batches). Safe with several processes
 * sweeping at once: each hold is re-checked under its row lock in the batch, so it expires once.
 * A hold that fails to expire is reported and skipped, so it cannot stall the others. Returns
 * how many holds it looked at and expired.
 */
export async function expireHolds(ledger: Ledger, onError: (holdId: string, err: unknown) => void = () => undefined): Promise<{ due: number; expired: number }> {
  const nowMs = ledger.now();
  const due = await ledger.db.read((tx) =>
    tx.all<{ id: string }>(`SELECT id FROM transactions WHERE status = 'PENDING' AND expire_time <= ? ORDER BY expire_time LIMIT ?`, [nowMs, limits.holdSweepBatchMax]),
  );
  const results = await Promise.all(due.map(({ id }) => expireHold(ledger, id).catch((err: unknown) => {
    onError(id, err);
    return false;
  })));
  return { due: due.length, expired: results.filter(Boolean).length };
}

/** Expires one hold if it is still pending and past its time; a system posting without a key. */
function expireHold(ledger: Ledger, holdId: string): Promise<boolean> {
  return ledger.engine.submit<boolean>({
    weight: 1,
    transactionIds: [holdId],
    accounts: (locked) => ({ ids: holdAccount(locked, holdId) }),
    apply: (batch) => {
      const hold = batch.transaction(holdId);
      if (!hold || hold.status !== "PENDING" || hold.expireTimeMs === null || hold.expireTimeMs > batch.nowMs) return false;
      postRelease(batch, SYSTEM, hold, "EXPIRED", `expire:${hold.id}`, "Hold expired");
      return true;
    },
    failure: { actor: SYSTEM, action: "transaction.hold.expire", targetId: holdId, details: {} },
  });
}
