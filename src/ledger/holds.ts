// Holds, two-phase like card authorisations: CreateHold reserves money (held grows, the ledger
// balance does not move); CaptureHold moves all or part of it and releases the rest;
// ReleaseHold gives it back; the sweeper releases holds past their expire_time as EXPIRED.
// A hold leaves PENDING exactly once: its row is locked FOR UPDATE before its accounts (lock
// order: the hold, then accounts by ascending id), and its status is checked under that lock.
import type { Tx } from "../db/database";
import { failedPrecondition, invalidArgument, notFound } from "../errors";
import { limits } from "../limits";
import { accessAccount, accountNotFound, requireOperator } from "./access";
import { audit } from "./audit";
import { moneyDetails, runMoneyCommand } from "./commands";
import type { Ledger } from "./ledger";
import type { MoneyInput } from "./movements";
import { lockAccounts, post } from "./posting";
import { toTransaction, transactionColumns } from "./rows";
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
    work: async (tx, now) => {
      const locked = await lockAccounts(tx, [accountId]);
      const account = accessAccount(actor, locked.get(accountId), "operate");
      const t = await post(tx, locked, {
        transaction: {
          type: "HOLD", status: "PENDING", currency: amount.currency, amount: amount.minor, fromAccountId: account.id, toAccountId: null,
          description, requestId, initiatedBy: actor.userId, expireTimeMs,
        },
        legs: [{ accountId: account.id, amount: 0n, held: amount.minor }],
      }, now);
      await audit(tx, actor, { action: "transaction.hold.create", targetId: t.id, details: moneyDetails(t.amount, t.currency, { account_id: account.id, expire_time: expireTimeMs }) }, now);
      return t;
    },
  });
}

/** Locks a hold's row and checks that it can still be captured or released. */
async function lockPendingHold(tx: Tx, holdId: string, nowMs: number): Promise<TransactionView> {
  const row = await tx.one(`SELECT ${transactionColumns()} FROM transactions WHERE id = ?${tx.engine.lockRows}`, [holdId]);
  const hold = row ? toTransaction(row) : undefined;
  if (!hold || hold.type !== "HOLD") throw notFound("HOLD_NOT_FOUND", "No such hold.", { field: "hold_id" });
  if (hold.status !== "PENDING") {
    throw failedPrecondition("HOLD_NOT_PENDING", `The hold was already ${hold.status.toLowerCase()}.`, { hold_id: hold.id, status: hold.status });
  }
  if (hold.expireTimeMs !== null && hold.expireTimeMs <= nowMs) {
    throw failedPrecondition("HOLD_EXPIRED", "The hold has expired; its money is being released.", { hold_id: hold.id });
  }
  return hold;
}

async function settleHold(tx: Tx, hold: TransactionView, status: "CAPTURED" | "RELEASED" | "EXPIRED", timeMs: number): Promise<void> {
  await tx.run(`UPDATE transactions SET status = ?, update_time = ? WHERE id = ? AND status = 'PENDING'`, [status, timeMs, hold.id]);
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
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/CaptureHold",
    action: "transaction.hold.capture",
    requestId,
    payload: { hold_id: holdId, currency: amount?.currency ?? null, minor_units: amount?.minor ?? null, to_account_id: toId ?? null },
    targetId: holdId,
    work: async (tx, nowMs) => {
      const hold = await lockPendingHold(tx, holdId, nowMs);
      const captured = amount?.minor ?? hold.amount;
      if (amount && amount.currency !== hold.currency) {
        throw failedPrecondition("CURRENCY_MISMATCH", `The hold is in ${hold.currency}.`, { hold_id: hold.id, hold_currency: hold.currency });
      }
      if (captured > hold.amount) {
        throw failedPrecondition("AMOUNT_EXCEEDS_HOLD", "The capture amount is larger than the hold.", { hold_id: hold.id, held: hold.amount.toString() });
      }
      const targetId = toId ?? ledger.settlementId(hold.currency);
      const locked = await lockAccounts(tx, [hold.fromAccountId, targetId]);
      const source = accessAccount(actor, locked.get(hold.fromAccountId), "operate");
      const target = locked.get(targetId);
      if (!target || (toId !== undefined && target.kind !== "CUSTOMER")) throw accountNotFound("to_account_id");
      if (target.id === source.id) throw failedPrecondition("SAME_ACCOUNT", "A hold cannot be captured to the account it is on.", { field: "to_account_id" });
      const t = await post(tx, locked, {
        transaction: {
          type: "CAPTURE", status: "POSTED", currency: hold.currency, amount: captured, fromAccountId: source.id, toAccountId: toId ?? null,
          description: hold.description, requestId, initiatedBy: actor.userId, holdId: hold.id,
        },
        // The whole hold leaves `held`: what is not captured is released.
        legs: [
          { accountId: source.id, amount: -captured, held: -hold.amount },
          { accountId: target.id, amount: captured, held: 0n },
        ],
      }, nowMs);
      await settleHold(tx, hold, "CAPTURED", t.createTimeMs);
      await audit(tx, actor, { action: "transaction.hold.capture", targetId: t.id, details: moneyDetails(captured, hold.currency, { hold_id: hold.id, released: (hold.amount - captured).toString() }) }, nowMs);
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
    work: async (tx, nowMs) => {
      const hold = await lockPendingHold(tx, holdId, nowMs);
      return postRelease(tx, ledger, actor, hold, "RELEASED", requestId, hold.description, nowMs);
    },
  });
}

/** Posts the RELEASE of a hold (a zero entry, held shrinks) and settles the hold. */
async function postRelease(tx: Tx, ledger: Ledger, actor: Actor, hold: TransactionView, status: "RELEASED" | "EXPIRED", requestId: string, description: string, nowMs: number): Promise<TransactionView> {
  const locked = await lockAccounts(tx, [hold.fromAccountId]);
  const account = status === "EXPIRED" ? locked.get(hold.fromAccountId) : accessAccount(actor, locked.get(hold.fromAccountId), "operate");
  if (!account) throw new Error("a hold's account vanished");
  const t = await post(tx, locked, {
    transaction: {
      type: "RELEASE", status: "POSTED", currency: hold.currency, amount: hold.amount, fromAccountId: account.id, toAccountId: null,
      description, requestId, initiatedBy: actor.userId, holdId: hold.id,
    },
    legs: [{ accountId: account.id, amount: 0n, held: -hold.amount }],
  }, nowMs);
  await settleHold(tx, hold, status, t.createTimeMs);
  const action = status === "EXPIRED" ? "transaction.hold.expire" : "transaction.hold.release";
  await audit(tx, actor, { action, targetId: t.id, details: moneyDetails(hold.amount, hold.currency, { hold_id: hold.id, account_id: account.id }) }, nowMs);
  return t;
}

const SYSTEM: Actor = { userId: "system", roles: [], clientAddress: "", callId: "" };

/**
 * Releases holds past their expire_time (status EXPIRED), at most limits.holdSweepBatchMax per
 * call, one transaction each. Safe with several processes sweeping at once: each hold is
 * re-checked under its row lock, so it expires once. A hold that fails to expire is reported
 * and skipped, so it cannot stall the others. Returns how many holds it looked at and expired.
 */
export async function expireHolds(ledger: Ledger, onError: (holdId: string, err: unknown) => void = () => undefined): Promise<{ due: number; expired: number }> {
  const nowMs = ledger.now();
  const due = await ledger.db.read((tx) =>
    tx.all<{ id: string }>(`SELECT id FROM transactions WHERE status = 'PENDING' AND expire_time <= ? ORDER BY expire_time LIMIT ?`, [nowMs, limits.holdSweepBatchMax]),
  );
  let expired = 0;
  for (const { id } of due) {
    try {
      if (await expireHold(ledger, id)) expired++;
    } catch (err) {
      onError(id, err);
    }
  }
  return { due: due.length, expired };
}

async function expireHold(ledger: Ledger, holdId: string): Promise<boolean> {
  return ledger.db.transaction(async (tx) => {
    const row = await tx.one(`SELECT ${transactionColumns()} FROM transactions WHERE id = ?${tx.engine.lockRows}`, [holdId]);
    const hold = row ? toTransaction(row) : undefined;
    const nowMs = ledger.now();
    if (!hold || hold.status !== "PENDING" || hold.expireTimeMs === null || hold.expireTimeMs > nowMs) return false;
    await postRelease(tx, ledger, SYSTEM, hold, "EXPIRED", `expire:${hold.id}`, "Hold expired", nowMs);
    return true;
  });
}
