// Hold expiry: a hold past its expire_time is released as EXPIRED (hold-state.ts), a system
// posting without a key. The sweeper (src/ledger/hold-sweeper.ts) finds the due holds.
import type { BatchState } from "../engine/batch-state";
import type { Locks } from "../engine/request";
import type { Ledger } from "../ledger";
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

/** Expires one hold if it is still pending and past its time; a system posting without a key. */
export function expireHold(ledger: Ledger, holdId: string): Promise<boolean> {
  return ledger.engine.submit<boolean>({
    weight: 1,
    ...locks(holdId),
    apply: (batch) => apply(batch, holdId),
    failure: { actor: SYSTEM, action: "transaction.hold.expire", targetId: holdId, details: {} },
  });
}
