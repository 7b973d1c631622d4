// ReleaseHold: gives a pending hold's money back (a RELEASE posting: a zero entry, held shrinks;
// hold-state.ts). Tellers and admins.
import { requireOperator } from "../access";
import type { BatchState } from "../engine/batch-state";
import type { Ledger } from "../ledger";
import type { Actor, TransactionView } from "../types";
import { parseId, parseRequestId } from "../validate";
import { runMoneyCommand, type Locks } from "./frame";
import { holdAccount, pendingHold, postRelease } from "./hold-state";

export interface ReleaseHoldInput {
  requestId: string;
  holdId: string;
}

export interface ParsedRelease {
  requestId: string;
  holdId: string;
}

export function parse(input: ReleaseHoldInput): ParsedRelease {
  return { requestId: parseRequestId(input.requestId), holdId: parseId(input.holdId, "hold_id") };
}

/** The hold's row first, then its account. */
export function locks(r: ParsedRelease): Locks {
  return { transactionIds: [r.holdId], accounts: (locked) => ({ ids: holdAccount(locked, r.holdId) }) };
}

export function apply(batch: BatchState, actor: Actor, r: ParsedRelease): TransactionView {
  const hold = pendingHold(batch, r.holdId);
  return postRelease(batch, actor, hold, "RELEASED", r.requestId, hold.description);
}

export async function releaseHold(ledger: Ledger, actor: Actor, input: ReleaseHoldInput): Promise<TransactionView> {
  requireOperator(actor);
  const r = parse(input);
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/ReleaseHold",
    action: "transaction.hold.release",
    requestId: r.requestId,
    payload: { hold_id: r.holdId },
    targetId: r.holdId,
    ...locks(r),
    apply: (batch) => apply(batch, actor, r),
  });
}
