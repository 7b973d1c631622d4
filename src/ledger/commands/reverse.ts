// Reversals (admin): a REVERSAL posts the exact opposite of a posted transaction's entries and
// marks it REVERSED. At most once: the original's row is locked and its status checked in the
// batch (a reversal earlier in the same batch is seen), and transactions.reverses_id is UNIQUE as
// the last line of defence. A reversal respects the floor of every account it debits unless the
// admin passes force.
import { failedPrecondition, notFound } from "../../errors";
import { limits } from "../../limits";
import { requireAdmin } from "../access";
import type { BatchState } from "../engine/batch-state";
import type { Ledger } from "../ledger";
import type { Actor, TransactionView } from "../types";
import { parseId, parseRequestId, parseText } from "../validate";
import { moneyDetails, runMoneyCommand, type Locks } from "./frame";

export interface ReverseInput {
  requestId: string;
  transactionId: string;
  reason: string;
  force: boolean;
}

export interface ParsedReversal {
  requestId: string;
  transactionId: string;
  reason: string;
  force: boolean;
}

const REVERSIBLE = new Set(["DEPOSIT", "WITHDRAWAL", "TRANSFER", "CAPTURE"]);

export function parse(input: ReverseInput): ParsedReversal {
  const requestId = parseRequestId(input.requestId);
  const transactionId = parseId(input.transactionId, "transaction_id");
  const reason = parseText(input.reason, "reason", limits.reasonCharsMax, true);
  return { requestId, transactionId, reason, force: input.force };
}

/** The original's row and its entries first, then every account they touched. */
export function locks(r: ParsedReversal): Locks {
  return {
    transactionIds: [r.transactionId],
    entriesOf: [r.transactionId],
    accounts: (locked) => ({ ids: locked.transaction(r.transactionId) ? locked.entriesOf(r.transactionId).map((e) => e.accountId) : [] }),
  };
}

export function apply(batch: BatchState, actor: Actor, r: ParsedReversal): TransactionView {
  const original = batch.transaction(r.transactionId);
  if (!original) throw notFound("TRANSACTION_NOT_FOUND", "No such transaction.", { field: "transaction_id" });
  if (original.status === "REVERSED") throw failedPrecondition("ALREADY_REVERSED", "The transaction was already reversed.", { transaction_id: original.id });
  if (!REVERSIBLE.has(original.type) || original.status !== "POSTED") {
    throw failedPrecondition("NOT_REVERSIBLE", `A ${original.type.toLowerCase()} cannot be reversed; only posted deposits, withdrawals, transfers and captures can.`, { transaction_id: original.id });
  }
  const t = batch.post({
    transaction: {
      type: "REVERSAL", status: "POSTED", currency: original.currency, amount: original.amount,
      fromAccountId: original.toAccountId || null, toAccountId: original.fromAccountId || null,
      description: r.reason, requestId: r.requestId, initiatedBy: actor.userId, reversesId: original.id,
    },
    legs: batch.entriesOf(original.id).map((e) => ({ accountId: e.accountId, amount: -e.amount, held: 0n })),
    force: r.force,
  });
  batch.setStatus(original.id, "REVERSED", t.createTimeMs);
  batch.audit(actor, { action: "transaction.reverse", targetId: t.id, details: moneyDetails(t.amount, t.currency, { reverses_id: original.id, reason: r.reason, force: r.force }) });
  return t;
}

export async function reverseTransaction(ledger: Ledger, actor: Actor, input: ReverseInput): Promise<TransactionView> {
  requireAdmin(actor);
  const r = parse(input);
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/ReverseTransaction",
    action: "transaction.reverse",
    requestId: r.requestId,
    payload: { transaction_id: r.transactionId, reason: r.reason, force: r.force },
    targetId: r.transactionId,
    failureDetails: { force: r.force },
    ...locks(r),
    apply: (batch) => apply(batch, actor, r),
  });
}
