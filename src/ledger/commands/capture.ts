// CaptureHold: moves all or part of a pending hold to an account, or out of the bank through the
// settlement account, and releases the rest (hold-state.ts). Tellers and admins.
import { failedPrecondition } from "../../errors";
import { accessAccount, accountNotFound, requireOperator } from "../access";
import type { BatchState } from "../engine/batch-state";
import type { Ledger } from "../ledger";
import type { Actor, Amount, TransactionView } from "../types";
import { parseAmount, parseId, parseRequestId } from "../validate";
import { moneyDetails, runMoneyCommand, type CommandContext, type Locks } from "./frame";
import { pendingHold } from "./hold-state";
import type { MoneyInput } from "./settlement";

export interface CaptureHoldInput {
  requestId: string;
  holdId: string;
  /** Unset: the whole hold. */
  amount?: MoneyInput;
  /** "": the settlement account (the money leaves the bank). */
  toAccountId: string;
}

export interface ParsedCapture {
  requestId: string;
  holdId: string;
  /** Unset: the whole hold. */
  amount: Amount | undefined;
  /** Unset: the settlement account of the hold's account. */
  toId: string | undefined;
  /** Where the money of `hold` goes: toId, else the settlement shard of the hold's account. */
  targetOf(hold: TransactionView): string;
}

export function parse(ctx: Pick<CommandContext, "currencies" | "settlementId">, input: CaptureHoldInput): ParsedCapture {
  const requestId = parseRequestId(input.requestId);
  const holdId = parseId(input.holdId, "hold_id");
  const amount = input.amount ? parseAmount(ctx.currencies, input.amount) : undefined;
  const toId = input.toAccountId === "" ? undefined : parseId(input.toAccountId, "to_account_id");
  return { requestId, holdId, amount, toId, targetOf: (hold) => toId ?? ctx.settlementId(hold.currency, hold.fromAccountId) };
}

/** The hold's row first, then its account and where the money goes. */
export function locks(c: ParsedCapture): Locks {
  return {
    transactionIds: [c.holdId],
    accounts: (locked) => {
      const hold = locked.transaction(c.holdId);
      return { ids: hold && hold.type === "HOLD" ? [hold.fromAccountId, c.targetOf(hold)] : [] };
    },
  };
}

export function apply(batch: BatchState, actor: Actor, c: ParsedCapture): TransactionView {
  const hold = pendingHold(batch, c.holdId);
  const captured = c.amount?.minor ?? hold.amount;
  if (c.amount && c.amount.currency !== hold.currency) {
    throw failedPrecondition("CURRENCY_MISMATCH", `The hold is in ${hold.currency}.`, { hold_id: hold.id, hold_currency: hold.currency });
  }
  if (captured > hold.amount) {
    throw failedPrecondition("AMOUNT_EXCEEDS_HOLD", "The capture amount is larger than the hold.", { hold_id: hold.id, held: hold.amount.toString() });
  }
  const source = accessAccount(actor, batch.account(hold.fromAccountId), "operate");
  const target = batch.account(c.targetOf(hold));
  if (!target || (c.toId !== undefined && target.kind !== "CUSTOMER")) throw accountNotFound("to_account_id");
  if (target.id === source.id) throw failedPrecondition("SAME_ACCOUNT", "A hold cannot be captured to the account it is on.", { field: "to_account_id" });
  const t = batch.post({
    transaction: {
      type: "CAPTURE", status: "POSTED", currency: hold.currency, amount: captured, fromAccountId: source.id, toAccountId: c.toId ?? null,
      description: hold.description, requestId: c.requestId, initiatedBy: actor.userId, holdId: hold.id,
    },
    // A capture is the withdrawal (to settlement) or outgoing transfer (to an account) it
    // stands for: it counts against that daily limit of the source, whoever captures.
    dailyLimit: { accountId: source.id, direction: c.toId === undefined ? "withdrawal" : "transferOut", amount: captured },
    ...(c.toId === undefined ? {} : { incoming: { accountId: target.id, amount: captured } }),
    // The whole hold leaves `held`: what is not captured is released.
    legs: [
      { accountId: source.id, amount: -captured, held: -hold.amount },
      { accountId: target.id, amount: captured, held: 0n },
    ],
  });
  batch.setStatus(hold.id, "CAPTURED", t.createTimeMs);
  batch.audit(actor, { action: "transaction.hold.capture", targetId: t.id, details: moneyDetails(captured, hold.currency, { hold_id: hold.id, released: (hold.amount - captured).toString() }) });
  return t;
}

export async function captureHold(ledger: Ledger, actor: Actor, input: CaptureHoldInput): Promise<TransactionView> {
  requireOperator(actor);
  const c = parse(ledger, input);
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/CaptureHold",
    action: "transaction.hold.capture",
    requestId: c.requestId,
    payload: { hold_id: c.holdId, currency: c.amount?.currency ?? null, minor_units: c.amount?.minor ?? null, to_account_id: c.toId ?? null },
    targetId: c.holdId,
    ...locks(c),
    apply: (batch) => apply(batch, actor, c),
  });
}
