// The hold sweeper's pass (run by the ledger module, src/ledger/index.ts): the holds past their
// expire_time, read from the store, each expired by the expire command (commands/expire.ts).
import { limits } from "../limits";
import { expireHold } from "./commands/expire";
import type { Ledger } from "./ledger";
import { dueHolds } from "./store/holds";

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
