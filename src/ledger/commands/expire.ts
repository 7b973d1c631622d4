// Hold expiry (the sweeper, src/ledger/index.ts): holds past their expire_time are released as
// EXPIRED (hold-state.ts), each a system posting without a key.
import { limits } from "../../limits";
import type { BatchState } from "../engine/batch-state";
import type { Locks } from "../engine/request";
import type { Ledger } from "../ledger";
import { dueHolds } from "../store/holds";
import type { Actor } from "../types";
import { holdAccount, postRelease } from "./hold-state";

export const SYSTEM: Actor = { userId: "system", roles: [], clientAddress: "", callId: "" };

/** The hold's row first, then its account. */
export function locks(holdId: string): Locks {
  return { transactionIds: [holdId], accounts: (locked) => ({ ids: holdAccount(locked, holdId) }) };
}

/** Expires the hold if it is still pending and past its time: whether it did. */
export function apply(batch: BatchState, holdId: string): boolean {
  const hold = batch.transaction(holdId);
  if (!hold || hold.status !== "PENDING" || hold.expireTimeMs === null || hold.expireTimeMs > batch.nowMs) return false;
  postRelease(batch, SYSTEM, hold, "EXPIRED", `expire:${hold.id}`, "Hold expired");
  return true;
}

/**
 * Releases holds past their expire_time (status EXPIRED), at most limits.holdSweepBatchMax per
 * call, through the posting engine (they share its batches). Safe with several processes
 * sweeping at once: each hold is re-checked under its row lock in the batch, so it expires once.
 * A hold that fails to expire is reported and skipped, so it cannot stall the others. Returns
 * how many holds it looked at and expired.
 */
export async function expireHolds(ledger: Ledger, onError: (holdId: string, err: unknown) => void = () => undefined): Promise<{ due: number; expired: number }> {
  const due = await dueHolds(ledger.db, ledger.now(), limits.holdSweepBatchMax);
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
    ...locks(holdId),
    apply: (batch) => apply(batch, holdId),
    failure: { actor: SYSTEM, action: "transaction.hold.expire", targetId: holdId, details: {} },
  });
}
