// The ledger module: AccountService and TransactionService routes, the settlement accounts
// (one per configured currency, ensured at start) and the hold-expiry sweeper.
import type { AppContext, AppModule } from "../app";
import type { Logger } from "../logger";
import { limits } from "../limits";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { accountService } from "../services/account-service";
import { transactionService } from "../services/transaction-service";
import { expireHolds } from "./holds";
import { Ledger, type LedgerOptions } from "./ledger";
import { AccountWatchers } from "./watch";

export interface LedgerModuleOptions extends LedgerOptions {
  /** Defaults to limits.holdSweepIntervalMs. */
  holdSweepIntervalMs?: number;
}

export async function createLedgerModule(ctx: AppContext, opts: LedgerModuleOptions = {}): Promise<AppModule> {
  const ledger = await Ledger.open(ctx.db, ctx.config.currencies, { metrics: ctx.metrics, logger: ctx.logger, replica: ctx.replica, ...opts });
  const sweeper = startHoldSweeper(ledger, ctx.logger, opts.holdSweepIntervalMs ?? limits.holdSweepIntervalMs);
  const watchers = new AccountWatchers(ledger, ctx.logger);
  return {
    routes: (router) => {
      router.service(AccountService, accountService(ledger, watchers));
      router.service(TransactionService, transactionService(ledger));
    },
    drain: () => watchers.drain(),
    stop: async () => {
      await watchers.stop();
      await sweeper.stop();
      await ledger.stop();
    },
  };
}

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
