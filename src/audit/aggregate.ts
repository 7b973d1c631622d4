// Aggregated audit events, for refusals that an attacker can repeat without bound (sign-ins
// refused by throttling, calls with forged or expired tokens, probes for other users' objects).
// Each refusal is counted in memory under a key the caller chooses; when the key's window ends
// (or at shutdown), ONE new event is appended with the count. Stored events are never updated:
// the hash chain exists to detect edits, so a later window's count is a later event of its own.
//
// Bounded: at most keysMax keys wait at once (beyond that, refusals are counted under one
// overflow key per action), so memory and the events written per window do not grow with the
// attacker's request rate. What is lost: between a refusal and the end of its window the count
// lives only in this process (a crash loses it; a clean shutdown flushes it).
import type { Database } from "../db/database";
import type { Logger } from "../logger";
import { recordAudit, type AuditInput } from "./recorder";

export interface AuditAggregatorOptions {
  /** How long repeats of one key are counted before their event is appended. */
  windowMs: number;
  /** Keys counted at once; refusals beyond are counted under their action's overflow key. */
  keysMax: number;
  /** Distinct target ids remembered per key (the event reports how many were seen, up to this). */
  targetsMax: number;
  logger?: Logger;
}

interface Pending {
  /** The window's first occurrence: the appended event is this one, with the count added. */
  first: AuditInput;
  count: number;
  firstMs: number;
  lastMs: number;
  targets: Set<string>;
  /** Occurrences whose target was not among `targets` once it was full: at most this many more
   * distinct targets were refused. */
  moreTargets: number;
  dueMs: number;
}

export class AuditAggregator {
  /** In insertion order, which is also due order (every window has the same length). */
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  /** Flushes run one after the other, so that a key's windows are appended in order. */
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly opts: AuditAggregatorOptions,
  ) {
    if (opts.windowMs <= 0 || opts.keysMax <= 0 || opts.targetsMax <= 0) throw new Error("audit aggregator: window, keys and targets must be positive");
  }

  /** Counts one occurrence of `event` under `key`. Synchronous and never throws: the caller is
   * busy refusing a request and must not wait for the database. */
  note(key: string, event: AuditInput, nowMs: number = Date.now()): void {
    let entry = this.pending.get(key);
    if (!entry && this.pending.size >= this.opts.keysMax) {
      key = `\u0000overflow:${event.action}`;
      event = { ...event, targetId: "", clientAddress: "", details: { ...event.details, overflow: true } };
      entry = this.pending.get(key);
    }
    if (!entry) {
      entry = { first: event, count: 0, firstMs: nowMs, lastMs: nowMs, targets: new Set(), moreTargets: 0, dueMs: nowMs + this.opts.windowMs };
      this.pending.set(key, entry);
      this.schedule();
    }
    entry.count += 1;
    entry.lastMs = Math.max(entry.lastMs, nowMs);
    if (entry.targets.size < this.opts.targetsMax) entry.targets.add(event.targetId);
    else if (!entry.targets.has(event.targetId)) entry.moreTargets += 1;
  }

  /** Keys counting now (for tests and metrics). */
  get size(): number {
    return this.pending.size;
  }

  /** Appends the events of every window now, ended or not. */
  flush(): Promise<void> {
    return this.enqueueFlush(() => true);
  }

  /** Stops the timer and appends what is left (called before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private enqueueFlush(due: (entry: Pending) => boolean): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow(due));
    return this.flushing;
  }

  private async flushNow(due: (entry: Pending) => boolean): Promise<void> {
    const taken: Pending[] = [];
    for (const [key, entry] of this.pending) {
      if (!due(entry)) break;
      taken.push(entry);
      this.pending.delete(key);
    }
    if (taken.length === 0) return;
    const nowMs = Date.now();
    try {
      await this.db.transaction(async (tx) => {
        for (const entry of taken) await recordAudit(tx, eventOf(entry, this.opts.windowMs), nowMs);
      });
    } catch (err) {
      // Never thrown to a caller (the timer, or shutdown): the count is logged instead, so that
      // an outage loses the events but not the knowledge that they happened.
      const occurrences = taken.reduce((n, e) => n + e.count, 0);
      this.opts.logger?.error({ err, events: taken.length, occurrences }, "audit: could not append aggregated events");
    }
  }

  /** Arms the timer for the oldest window's end, if it is not armed. */
  private schedule(): void {
    if (this.timer || this.stopped) return;
    const oldest = this.pending.values().next();
    if (oldest.done) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueueFlush((entry) => entry.dueMs <= Date.now()).then(() => this.schedule());
    }, Math.max(0, oldest.value.dueMs - Date.now()));
    this.timer.unref();
  }
}

/** The event appended for a window: the first occurrence, with the count and the window. */
function eventOf(entry: Pending, windowMs: number): AuditInput {
  const distinctTargets = entry.targets.size;
  return {
    ...entry.first,
    // One target for every occurrence: it is named; several: the count says how many.
    targetId: distinctTargets === 1 ? entry.first.targetId : "",
    details: {
      ...entry.first.details,
      count: entry.count,
      first_time_ms: entry.firstMs,
      last_time_ms: entry.lastMs,
      window_ms: windowMs,
      // Several: named too (up to targetsMax), so that a probe walking account numbers or ids
      // leaves the numbers and ids it tried (issue 26).
      ...(distinctTargets > 1 ? { distinct_targets: distinctTargets, targets: [...entry.targets].join(",") } : {}),
      // Past the named ones: how many occurrences had another target (at most that many more
      // distinct targets), so that the event stays bounded however many the window saw.
      ...(entry.moreTargets > 0 ? { more_targets_at_most: entry.moreTargets } : {}),
    },
  };
}
