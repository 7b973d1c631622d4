// The posting engine: one per process, the only way money moves. Deposits, withdrawals,
// transfers (single and batched), holds, captures, releases, expiries and reversals are
// submitted as PostingRequests (commands/); while one batch commits, the next gathers. This file
// is the queue and its lanes: admission (fair shares, the staff reserve, the customers' rate),
// which queued requests form the next batch, how many batches run side by side and in which
// order they take their locks. One batch's phases are batch.ts; answering its callers,
// delivery.ts; the rules, batch-state.ts.
// A batch is capped in count (limits.postingBatchMax) and never waits for more work than is
// already queued.
import type { Database } from "../../db/database";
import { DomainError, resourceExhausted, unavailable } from "../../errors";
import { limits } from "../../limits";
import type { DailyLimitDefaults } from "../../config";
import type { Logger } from "../../logger";
import type { Metrics } from "../../metrics";
import { keyId } from "../store/batch";
import { isPaymentService, isStaff } from "../access";
import { TokenBuckets } from "../../auth/rate-limit";
import { assert, type RefusalGate } from "./batch-state";
import { BatchClock, runBatch, type BatchContext } from "./batch";
import { notifyCommitted, type Caller } from "./delivery";
import { keysOf, type PostingRequest } from "./request";

interface Pending extends Caller {
  /** The accounts (ids and numbers) the request names before any row is locked, or undefined
   * when they are known only from locked rows (holds to settle, reversals). */
  touches: readonly string[] | undefined;
  /** Whose share of the queue the request counts against. */
  principal: Principal;
}

/** Who a posting counts for: the acting user (or "system", or a service account), whether it
 * may use the staff reserve of the queue, and whether the per-customer rate applies (not to
 * staff, the system, or a payment service: an internal caller holding its own key, moving money
 * for many customers, whose share of the queue still bounds it). */
interface Principal {
  id: string;
  staff: boolean;
  rated: boolean;
}

function principalOf(request: PostingRequest<unknown>): Principal {
  const actor = request.failure.actor;
  const staff = actor.userId === "system" || isStaff(actor);
  return { id: actor.userId || "system", staff, rated: !staff && !isPaymentService(actor) };
}

/** A batch taken from the queue, with what it holds while in flight. */
interface TakenBatch {
  pending: Pending[];
  touches: Set<string>;
  /** A request of unknown accounts is in it: no other batch runs beside it. */
  barrier: boolean;
  /** A request in it names an account by number, which may be an account another batch names
   * by id: the scheduler cannot see that they share it. */
  aliases: boolean;
}

export class PostingEngine {
  private readonly queue: Pending[] = [];
  private queuedWeight = 0;
  /** Batches being gathered or committed now (at most lanesMax). */
  private lanes = 0;
  /** Resolved once the latest batch holds all of its locks (keys, transaction rows, accounts).
   * Batches take their locks one after the other in the order they were taken from the queue,
   * then write and commit side by side: a batch that shares a row with an earlier one waits for
   * that one's commit, so requests are applied in arrival order wherever they touch the same
   * rows, whatever lane they are in. */
  private lockTurn: Promise<void> = Promise.resolve();
  /** What a batch needs of this engine (batch.ts). */
  private readonly batches: BatchContext;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  /** Accounts (ids and numbers) named by the batches in flight, with how many batches name each:
   * a queued request naming one of them waits for the next batch (see take()). */
  private readonly inFlight = new Map<string, number>();
  /** Batches in flight holding a request whose accounts were unknown up front. */
  private barriers = 0;
  /** Batches in flight (taken and not yet answered). */
  private busy = 0;
  /** Batches in flight that are barriers or name accounts by number (see take()). */
  private unordered = 0;
  /** Postings each customer may submit per second (a token bucket per principal). */
  private readonly rates: TokenBuckets;
  /** The customers' posting rate (BANK_POSTINGS_PER_CUSTOMER_PER_SECOND, else the limit). */
  private get postingsPerSecond(): number {
    return this.opts.postingsPerSecond ?? limits.postingsPerCustomerPerSecond;
  }

  /** Postings each principal has waiting in the queue (fair shares: see admission()). */
  private readonly shares = new Map<string, number>();
  /** Told, after each commit, which accounts gained entries (the watchers of this process). */
  private readonly committedListeners: ((accountIds: readonly string[]) => void)[] = [];

  constructor(
    db: Database,
    private readonly clock: () => number,
    /** The configured default daily limits of a currency. */
    limitDefaults: (currency: string) => DailyLimitDefaults,
    private readonly opts: { metrics?: Metrics; logger?: Logger; batchMax?: number; lanesMax?: number; refusals?: RefusalGate; postingsPerSecond?: number } = {},
  ) {
    assert((opts.lanesMax ?? 1) >= 1, "the engine runs at least one batch at a time");
    this.rates = new TokenBuckets({ capacity: limits.postingRateBurst, refillPerMs: this.postingsPerSecond / 1000, keysMax: limits.postingRateKeysMax });
    this.batches = {
      db,
      clock: new BatchClock(clock),
      limitDefaults,
      refusals: opts.refusals,
      metrics: opts.metrics,
      logger: opts.logger,
      turn: (inTurn) => this.turn(inTurn),
      committed: (touched) => notifyCommitted(this.committedListeners, touched, opts.logger),
    };
  }

  /** Queues a request; resolves with its value after its batch commits. */
  submit<T>(request: PostingRequest<T>): Promise<T> {
    if (this.stopped) return Promise.reject(unavailable("SERVER_DRAINING", "The server is shutting down; retry with the same request_id."));
    const refusal = this.admission(request);
    if (refusal) return Promise.reject(refusal);
    return new Promise<T>((resolve, reject) => {
      assert(request.weight >= 1, "every request weighs at least one posting");
      const principal = principalOf(request);
      if (principal.rated) this.rates.take(principal.id, this.clock(), request.weight);
      this.queue.push({ request, resolve: resolve as (v: unknown) => void, reject, touches: touchesOf(request), principal });
      this.shares.set(principal.id, (this.shares.get(principal.id) ?? 0) + request.weight);
      this.queuedWeight += request.weight;
      assert(this.queuedWeight <= limits.postingQueueWeightMax, "the queue's weight stays within postingQueueWeightMax");
      this.kick();
    });
  }

  /**
   * Fair shares of the queue: one principal may have at most limits.postingShareWeightMax
   * postings waiting (past it, POSTING_SHARE_EXCEEDED names its quota, while everybody else is
   * still admitted), and customers together may fill the queue only up to the staff reserve
   * (limits.postingStaffReserveWeight), which tellers, admins and the system (hold expiries)
   * keep. A single request heavier than a share (a full BatchTransfer is batchTransfersMax) is
   * admitted when its principal has nothing else waiting.
   */
  private admission(request: PostingRequest<unknown>): DomainError | undefined {
    const principal = principalOf(request);
    const retry = { retry_after_ms: String(limits.postingRetryAfterMs) };
    const room = principal.staff ? limits.postingQueueWeightMax : limits.postingQueueWeightMax - limits.postingStaffReserveWeight;
    if (this.queuedWeight + request.weight > room) {
      return resourceExhausted("POSTING_QUEUE_FULL", "Too many money movements are waiting; retry with the same request_id shortly.", retry);
    }
    const waiting = this.shares.get(principal.id) ?? 0;
    if (waiting > 0 && waiting + request.weight > limits.postingShareWeightMax) {
      return resourceExhausted("POSTING_SHARE_EXCEEDED", `You have ${waiting} postings waiting, your share of the posting queue is ${limits.postingShareWeightMax}; retry with the same request_id shortly.`, {
        ...retry,
        quota_weight: String(limits.postingShareWeightMax),
        waiting_weight: String(waiting),
      });
    }
    if (principal.rated) {
      // The rate: what one customer may submit per second, refused or not (every request stores
      // its key and outcome). Taken only once the request is admitted (below).
      const nowMs = this.clock();
      const waitMs = this.rates.waitMs(principal.id, nowMs, request.weight);
      if (waitMs > 0) {
        return resourceExhausted("POSTING_RATE_EXCEEDED", `You are moving money faster than ${this.postingsPerSecond} postings a second; retry with the same request_id shortly.`, {
          retry_after_ms: String(waitMs),
          rate_per_second: String(this.postingsPerSecond),
        });
      }
    }
    return undefined;
  }

  /** Calls `listener` after every committed batch with the accounts that gained entries. */
  onCommitted(listener: (accountIds: readonly string[]) => void): void {
    this.committedListeners.push(listener);
  }

  /** Stops taking requests and waits until every queued one has been answered. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle;
  }

  /** Starts a lane when one is free. Each lane takes what is queued as a batch, commits it,
   * and takes again until the queue is empty. Several lanes (PostgreSQL) commit batches side by
   * side on their own connections: a batch is mostly waiting for round trips and its commit,
   * and the database has room for more than one. Their locks are taken in the same orders
   * (keys, transaction rows, accounts by ascending id), so batches touching the same rows wait
   * for each other rather than deadlock, as batches of two processes do. */
  private kick(): void {
    while (this.lanes < (this.opts.lanesMax ?? 1) && this.queue.length > 0 && this.startable()) {
      if (this.lanes === 0) this.idle = new Promise((resolve) => (this.markIdle = resolve));
      this.lanes++;
      // One turn of the event loop, so that requests that arrived together share the batch;
      // never a wait for requests that have not arrived.
      setImmediate(() => void this.drain());
    }
  }

  /** Whether a new lane would find work: no barrier in flight, and (beside other lanes) a queued
   * request that names no account in flight. */
  private startable(): boolean {
    if (this.busy === 0) return true;
    if (this.barriers > 0) return false;
    return this.queue.some((p) => p.touches !== undefined && !p.touches.some((a) => this.inFlight.has(a)));
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const batch = this.take();
        if (batch.pending.length === 0) break;
        // Batches the scheduler kept apart (no account named by two batches in flight) take their
        // locks at once; a batch that may share a row unseen (a barrier, an account named by
        // number) takes them in lockTurn, after every batch taken before it holds its own.
        const inTurn = batch.barrier || batch.aliases || this.unordered > 0;
        this.hold(batch, +1);
        try {
          await runBatch(this.batches, batch.pending, 1, inTurn);
        } finally {
          this.hold(batch, -1);
        }
      }
    } finally {
      this.lanes--;
      assert(this.lanes >= 0, "lanes started and ended pair up");
      if (this.lanes === 0) this.markIdle();
      // What this lane left (requests that waited for its accounts) may run now.
      if (this.queue.length > 0) this.kick();
    }
  }

  /** Marks (+1) or releases (-1) a batch's accounts as in flight. */
  private hold(batch: TakenBatch, delta: 1 | -1): void {
    for (const a of batch.touches) {
      const n = (this.inFlight.get(a) ?? 0) + delta;
      assert(n >= 0, "an account is released as often as it is held");
      if (n === 0) this.inFlight.delete(a);
      else this.inFlight.set(a, n);
    }
    if (batch.barrier) this.barriers += delta;
    if (batch.barrier || batch.aliases) this.unordered += delta;
    this.busy += delta;
    assert(this.busy >= 0 && this.busy <= this.lanes, "batches in flight are held by lanes");
    assert(this.barriers >= 0, "barriers are released as often as they are held");
  }

  /**
   * The next batch: requests in arrival order up to the cap (a larger single request goes alone).
   * A request waits for a later batch when its keys collide with one already in the batch (the
   * next batch then sees the key taken), when it names an account a batch in flight names (its
   * lock would wait in the database for that batch's commit, and every batch behind it in
   * lockTurn with it), or when an earlier request left waiting names one of its accounts
   * (arrival order on shared accounts). A request whose accounts are known only from locked rows
   * (a barrier) runs only when no other batch is in flight, and nothing runs beside its batch.
   */
  private take(): TakenBatch {
    const cap = this.opts.batchMax ?? limits.postingBatchMax;
    const batch: Pending[] = [];
    const keys = new Set<string>();
    const touches = new Set<string>();
    let barrier = false;
    let aliases = false;
    let weight = 0;
    const rest: Pending[] = [];
    /** Accounts named by requests left waiting: later requests naming them wait too. */
    const waiting = new Set<string>();
    let waitingBarrier = false;
    const othersInFlight = this.busy > 0;
    for (const pending of this.queue) {
      const ids = keysOf(pending.request).map(keyId);
      const names = pending.touches;
      const blocked = this.barriers > 0 || waitingBarrier
        || (names === undefined ? othersInFlight || waiting.size > 0 : names.some((a) => this.inFlight.has(a) || waiting.has(a)));
      if (blocked || ids.some((id) => keys.has(id)) || (batch.length > 0 && weight + pending.request.weight > cap)) {
        rest.push(pending);
        if (names === undefined) waitingBarrier = true;
        else for (const a of names) waiting.add(a);
        continue;
      }
      for (const id of ids) keys.add(id);
      if (names === undefined) barrier = true;
      else for (const a of names) {
        touches.add(a);
        if (a.startsWith("#")) aliases = true;
      }
      weight += pending.request.weight;
      batch.push(pending);
    }
    // A lane alone always gets a batch from a non-empty queue: its first request is taken
    // whatever its weight, and nothing is in flight to wait for.
    assert(batch.length > 0 || this.queue.length === 0 || othersInFlight, "a lone lane takes a non-empty batch from a non-empty queue");
    assert(batch.length + rest.length === this.queue.length, "every queued request is either taken or left");
    this.queue.splice(0, this.queue.length, ...rest);
    this.queuedWeight -= weight;
    for (const p of batch) {
      const left = (this.shares.get(p.principal.id) ?? 0) - p.request.weight;
      assert(left >= 0, "a principal's waiting weight never goes negative");
      if (left === 0) this.shares.delete(p.principal.id);
      else this.shares.set(p.principal.id, left);
    }
    assert(this.queuedWeight >= 0, "the queue's weight never goes negative");
    assert(this.queue.length > 0 || this.queuedWeight === 0, "an empty queue weighs nothing");
    assert(this.queue.length > 0 || this.shares.size === 0, "an empty queue holds nobody's share");
    return { pending: batch, touches, barrier, aliases };
  }

  /** A batch's place in lockTurn: in turn, it takes its locks after the batch taken before it
   * has taken all of its own, so a later request never overtakes an earlier one on a row they
   * share; either way, the next batch in turn waits for this one's locks. */
  private turn(inTurn: boolean): { previous: Promise<void>; locked: () => void } {
    const previous = inTurn ? this.lockTurn : Promise.resolve();
    let locked!: () => void;
    this.lockTurn = new Promise<void>((resolve) => (locked = resolve));
    return { previous, locked };
  }
}

/** The accounts a request names before any row is locked (ids, and numbers as "#number"), or
 * undefined when they depend on locked transaction rows or cannot be named up front. */
function touchesOf(request: PostingRequest<unknown>): readonly string[] | undefined {
  if ((request.transactionIds?.length ?? 0) > 0 || (request.entriesOf?.length ?? 0) > 0) return undefined;
  try {
    const wanted = request.accounts({ transaction: () => undefined, entriesOf: () => [] });
    return [...wanted.ids, ...(wanted.numbers ?? []).map((n) => `#${n}`)];
  } catch {
    // Its batch asks again, and fails there as its own error.
    return undefined;
  }
}
