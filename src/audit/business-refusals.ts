// Business refusals that a principal can repeat at will (INSUFFICIENT_FUNDS, DAILY_LIMIT_EXCEEDED,
// PAYEE_UNAVAILABLE, ACCOUNT_NOT_EMPTY...; issue 25, attack 4: non-atomic batches of failing
// items stored 6,450 FAILED events a second). Per principal, action and reason, the FIRST refusal
// of a window is recorded as it happens (its own FAILED event, in the transaction that refuses
// it, as before); the repeats within limits.auditAggregateWindowMs are counted in memory and
// appended as ONE event at the window's end (aggregate.ts): the count, the first and last time,
// the first limits.auditRefusalTargetsNamedMax distinct targets by id and how many occurrences
// had another. A principal thus adds at most about two events per action and reason per window,
// whatever its rate. Permission refusals (DENIED) are not aggregated here: each is recorded.
//
// What is lost, as for the other aggregated events: a crash loses the window's count (a clean
// shutdown appends it). A refusal counted here is not part of its transaction: a transaction
// that rolls back after counting (a batch retried) counts it again when retried.
import type { Database } from "../db/database";
import type { Logger } from "../logger";
import { limits } from "../limits";
import { ExpiringLru } from "../util/expiring-lru";
import { AuditAggregator } from "./aggregate";
import type { AuditInput } from "./recorder";

export class BusinessRefusals {
  private readonly aggregator: AuditAggregator;
  /** Per principal, action and reason: when its window (opened by a recorded refusal) ends. */
  private readonly windows: ExpiringLru<string, number>;

  constructor(db: Database, logger?: Logger, private readonly windowMs: number = limits.auditAggregateWindowMs) {
    this.aggregator = new AuditAggregator(db, { windowMs, keysMax: limits.auditAggregateKeysMax, targetsMax: limits.auditRefusalTargetsNamedMax, logger });
    this.windows = new ExpiringLru(limits.auditRefusalWindowsMax);
  }

  /**
   * Whether `event` (a FAILED refusal) is to be recorded as its own event now: true for the first
   * of its principal, action and reason in a window; false when it was counted into the window's
   * aggregated event instead. Synchronous; never throws.
   */
  recordNow(event: AuditInput, nowMs: number = Date.now()): boolean {
    if (event.outcome !== "FAILED") return true;
    const key = `${event.actorId}\n${event.action}\n${String(event.details?.reason ?? "")}`;
    const endMs = this.windows.get(key, nowMs);
    if (endMs === undefined || endMs <= nowMs) {
      this.windows.set(key, nowMs + this.windowMs, nowMs + this.windowMs);
      return true;
    }
    this.aggregator.note(key, { ...event, details: { ...event.details, aggregated: true } }, nowMs);
    return false;
  }

  /** Appends every window's event now (tests; shutdown through stop). */
  flush(): Promise<void> {
    return this.aggregator.flush();
  }

  stop(): Promise<void> {
    return this.aggregator.stop();
  }
}
