// The ledger's shared state: the database, the configured currencies, the settlement account of
// each currency (the outside world that deposits come from and withdrawals go to) and the clock.
import type { Currency } from "../config";
import type { Database } from "../db/database";
import { recordAudit } from "../audit/recorder";
import { uuidv7 } from "../ids";
import { settlementAccountNumber } from "./account-number";
import { PostingEngine } from "./posting-engine";
import { tokenSealer, type TokenSealer } from "../sealed-tokens";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";

export interface LedgerOptions {
  /** Epoch milliseconds; tests move time to expire holds. */
  clock?: () => number;
  metrics?: Metrics;
  logger?: Logger;
  /** Postings per batch (tests make it small to exercise splitting); limits.postingBatchMax. */
  postingBatchMax?: number;
}

export class Ledger {
  /** The posting engine: the only way money moves (posting-engine.ts). */
  readonly engine: PostingEngine;

  private constructor(
    readonly db: Database,
    readonly currencies: ReadonlyMap<string, Currency>,
    private readonly settlementIds: ReadonlyMap<string, string>,
    private readonly clock: () => number,
    /** Seals statement cursors (and page tokens) with the key every process shares. */
    readonly tokens: TokenSealer,
    opts: LedgerOptions,
  ) {
    this.engine = new PostingEngine(db, clock, { metrics: opts.metrics, logger: opts.logger, batchMax: opts.postingBatchMax });
  }

  /** Ensures one settlement account per configured currency and returns the ledger. */
  static async open(db: Database, currencies: ReadonlyMap<string, Currency>, opts: LedgerOptions = {}): Promise<Ledger> {
    const clock = opts.clock ?? Date.now;
    const ids = await ensureSettlementAccounts(db, [...currencies.keys()], clock());
    return new Ledger(db, currencies, ids, clock, await tokenSealer(db), opts);
  }

  /** Stops taking money movements and waits until every queued one has been answered. */
  stop(): Promise<void> {
    return this.engine.stop();
  }

  now(): number {
    return this.clock();
  }

  /** The settlement account of a configured currency. */
  settlementId(currency: string): string {
    const id = this.settlementIds.get(currency);
    // Currencies are validated against the configuration, which opened one of each.
    if (id === undefined) throw new Error(`no settlement account for ${currency}`);
    return id;
  }
}

/**
 * Creates the missing settlement accounts. Insert-or-ignore on the unique index
 * accounts_settlement (currency WHERE kind = 'SETTLEMENT') makes this safe when several
 * processes start at once: exactly one row per currency survives, and every process reads it.
 */
async function ensureSettlementAccounts(db: Database, currencies: string[], nowMs: number): Promise<Map<string, string>> {
  return db.transaction(async (tx) => {
    for (const currency of currencies) {
      const id = uuidv7(nowMs);
      const inserted = await tx.run(
        `INSERT INTO accounts (id, number, owner_id, kind, currency, account_type, status, display_name, create_time, update_time)
         VALUES (?, ?, NULL, 'SETTLEMENT', ?, 'CHECKING', 'ACTIVE', ?, ?, ?) ON CONFLICT DO NOTHING`,
        [id, settlementAccountNumber(currency), currency, `Settlement ${currency}`, nowMs, nowMs],
      );
      if (inserted === 1) {
        await recordAudit(tx, {
          actorId: "system",
          action: "ledger.settlement.create",
          targetId: id,
          outcome: "SUCCESS",
          clientAddress: "",
          requestId: "",
          details: { currency },
        }, nowMs);
      }
    }
    const rows = await tx.all<{ id: string; currency: string }>(`SELECT id, currency FROM accounts WHERE kind = 'SETTLEMENT'`);
    return new Map(rows.map((r) => [r.currency, r.id]));
  });
}
