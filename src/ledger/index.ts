// The ledger's background work: the hold-expiry sweeper. The ledger module (AccountService and
// TransactionService routes, the settlement accounts, the sweeper) is wired in src/modules.ts.
import type { Logger } from "../logger";
import { limits } from "../limits";
import { expireHolds } from "./hold-sweeper";
import type { Ledger } from "./ledger";

/** Releases expired holds every intervalMs until stopped; stop() waits for a sweep in progress. */
export function startHoldSweeper(ledger: Ledger, logger: Logger, intervalMs: number): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        // Sweep until a batch comes back short, so a backlog drains without waiting.
        let sweep: { due: number; expired: number };
        do {
          sweep = await expireHolds(ledger, (holdId, err) => logger.error({ err, holdId }, "hold could not be expired; skipped"));
          if (sweep.expired > 0) logger.info({ expired: sweep.expired }, "expired holds released");
        } while (!stopped && sweep.expired >= limits.holdSweepBatchMax);
      } catch (err) {
        logger.warn({ err }, "hold sweep failed; retrying at the next interval");
      }
      if (!stopped) schedule();
    })();
  };
  const schedule = () => {
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
