// What the hold commands share. Holds are two-phase like card authorisations: CreateHold
// (hold.ts) reserves money (held grows, the ledger balance does not move); CaptureHold
// (capture.ts) moves all or part of it and releases the rest; ReleaseHold (release.ts) gives it
// back; the sweeper releases holds past their expire_time as EXPIRED (expire.ts). A hold leaves
// PENDING exactly once: its row is locked before its accounts (lock order: transaction rows, then
// accounts, each by ascending id), and its status is checked in the batch, where a capture
// earlier in the same batch is already seen.
import { failedPrecondition, notFound } from "../../errors";
import { accessAccount } from "../access";
import type { BatchState } from "../engine/batch-state";
import type { LockView } from "../engine/request";
import type { Actor, TransactionView } from "../types";
import { moneyDetails } from "./frame";

/** The hold as the batch has it now, if it can still be captured or released. */
export function pendingHold(batch: BatchState, holdId: string): TransactionView {
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
export function holdAccount(locked: LockView, holdId: string): string[] {
  const hold = locked.transaction(holdId);
  return hold && hold.type === "HOLD" ? [hold.fromAccountId] : [];
}

/** Posts the RELEASE of a hold (a zero entry, held shrinks) and settles the hold. */
export function postRelease(batch: BatchState, actor: Actor, hold: TransactionView, status: "RELEASED" | "EXPIRED", requestId: string, description: string): TransactionView {
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
