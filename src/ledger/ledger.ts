// The ledger's shared state: the database, the configured currencies, the settlement account of
// each currency (the outside world that deposits come from and withdrawals go to) and the clock.
import type { Currency } from "../config";
import type { Database } from "../db/database";
import type { Reader } from "../db/replica";
import { recordAudit } from "../audit/recorder";
import { uuidv7 } from "../util/ids";
import { settlementAccountNumber } from "./account-number";
import { PostingEngine } from "./engine/queue";
import { insertSettlementShards, settlementAccounts } from "./store/accounts";
import { tokenSealer, type TokenSealer } from "../util/sealed-tokens";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { limits } from "../limits";
import type { BusinessRefusals } from "../audit/business-refusals";

export interface LedgerOptions {
  /** Epoch milliseconds; tests move time to expire holds. */
  clock?: () => number;
  metrics?: Metrics;
  logger?: Logger;
  /** Postings per batch (tests make it small to exercise splitting); limits.postingBatchMax. */
  postingBatchMax?: number;
  /** Batches committed side by side (limits.postingLanesMaxPostgres on PostgreSQL, 1 on SQLite). */
  postingLanesMax?: number;
  /** The read replica (db/replica.ts), for the reads that tolerate limits.replicaLagMaxMs of
   * staleness: statements and balances at a past instant (reads.ts). */
  replica?: Reader;
  /** Where repeated business refusals are aggregated (audit/business-refusals.ts); without it
   * each is its own event. */
  refusals?: BusinessRefusals;
  /** Postings one customer may submit per second (BANK_POSTINGS_PER_CUSTOMER_PER_SECOND;
   * limits.postingsPerCustomerPerSecond). */
  postingsPerCustomerPerSecond?: number;
}

export class Ledger {
  /** The posting engine: the only way money moves (engine/queue.ts). */
  readonly engine: PostingEngine;
  /** Where reads that may be stale go: the replica router, else the primary. Nothing that decides
   * about money, authorizes a caller or feeds a watch reads through it. */
  readonly staleReads: Reader;
  /** Repeated business refusals of one principal, aggregated (audit/business-refusals.ts). */
  readonly refusals?: BusinessRefusals;

  private constructor(
    readonly db: Database,
    readonly currencies: ReadonlyMap<string, Currency>,
    /** Per currency, its settlement shards' ids, by shard. */
    private readonly settlementShards: ReadonlyMap<string, readonly string[]>,
    private readonly clock: () => number,
    /** Seals statement cursors (and page tokens) with the key every process shares. */
    readonly tokens: TokenSealer,
    opts: LedgerOptions,
  ) {
    this.staleReads = opts.replica ?? db;
    this.refusals = opts.refusals;
    this.engine = new PostingEngine(db, clock, (currency) => this.currency(currency).dailyLimits, {
      metrics: opts.metrics,
      logger: opts.logger,
      batchMax: opts.postingBatchMax,
      lanesMax: opts.postingLanesMax ?? (db.dialect === "postgres" ? limits.postingLanesMaxPostgres : 1),
      refusals: opts.refusals,
      postingsPerSecond: opts.postingsPerCustomerPerSecond,
    });
  }

  /** Ensures the settlement shards of every configured currency and returns the ledger. */
  static async open(db: Database, currencies: ReadonlyMap<string, Currency>, opts: LedgerOptions = {}): Promise<Ledger> {
    const clock = opts.clock ?? Date.now;
    const shards = await ensureSettlementAccounts(db, [...currencies.keys()], clock());
    return new Ledger(db, currencies, shards, clock, await tokenSealer(db), opts);
  }

  private readonly statusListeners: ((accountId: string) => void)[] = [];

  /** Calls `listener` after every committed status change (freeze, unfreeze, close) made by this
   * process; other processes' changes arrive through the change feed (db/change-feed.ts). */
  onStatusCommitted(listener: (accountId: string) => void): void {
    this.statusListeners.push(listener);
  }

  /** Called by the status commands once their transaction has committed. */
  statusCommitted(accountId: string): void {
    for (const listener of this.statusListeners) listener(accountId);
  }

  /** Stops taking money movements and waits until every queued one has been answered. */
  stop(): Promise<void> {
    return this.engine.stop();
  }

  now(): number {
    return this.clock();
  }

  /** A configured currency. */
  currency(code: string): Currency {
    const currency = this.currencies.get(code);
    // Currencies are validated against the configuration before anything asks for them.
    if (currency === undefined) throw new Error(`currency ${code} is not configured`);
    return currency;
  }

  /**
   * The settlement account that the deposits and withdrawals of `accountId` post against: the
   * shard its id hashes to (the random tail of its UUID), so an account always uses the same one
   * and no single row carries everybody's money (docs/security.md V1).
   */
  settlementId(currency: string, accountId: string): string {
    const shards = this.settlementIdsOf(currency);
    return shards[settlementShardOf(accountId, shards.length)]!;
  }

  /** Every settlement shard of a currency, by shard. */
  settlementIdsOf(currency: string): readonly string[] {
    const ids = this.settlementShards.get(currency);
    if (ids === undefined || ids.length !== limits.settlementShards) throw new Error(`the settlement shards of ${currency} are not all open`);
    return ids;
  }
}

/** The settlement shard an account's deposits and withdrawals post against: the random tail of
 * its UUID, modulo the shard count. */
export function settlementShardOf(accountId: string, shards: number): number {
  return Number.parseInt(accountId.replace(/-/g, "").slice(-8), 16) % shards;
}

/**
 * Creates the missing settlement shards, limits.settlementShards per currency, numbered per shard.
 * Insert-or-ignore on the unique index accounts_settlement (currency, shard WHERE kind =
 * 'SETTLEMENT') makes this safe when several processes start at once: exactly one row per shard
 * survives, and every process reads it. Shard 0 is the settlement account of earlier versions.
 */
async function ensureSettlementAccounts(db: Database, currencies: string[], nowMs: number): Promise<Map<string, string[]>> {
  return db.transaction(async (tx) => {
    for (const currency of currencies) {
      const rows = Array.from({ length: limits.settlementShards }, (_, shard) => ({
        id: uuidv7(nowMs), number: settlementAccountNumber(currency, shard), shard, name: shard === 0 ? `Settlement ${currency}` : `Settlement ${currency} #${shard}`,
      }));
      const created = await insertSettlementShards(tx, currency, rows, nowMs);
      if (created.length > 0) {
        await recordAudit(tx, {
          actorId: "system",
          action: "ledger.settlement.create",
          targetId: created[0]!,
          outcome: "SUCCESS",
          clientAddress: "",
          requestId: "",
          details: { currency, shards_created: created.length },
        }, nowMs);
      }
    }
    const byCurrency = new Map<string, string[]>();
    for (const row of await settlementAccounts(tx)) {
      const ids = byCurrency.get(row.currency) ?? [];
      ids[row.shard] = row.id;
      byCurrency.set(row.currency, ids);
    }
    return byCurrency;
  });
}
