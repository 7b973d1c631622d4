// The posting engine: one per process, the only way money moves. Deposits, withdrawals,
// transfers (single and batched), holds, captures, releases, expiries and reversals are
// submitted as PostingRequests; while one batch commits, the next gathers, and each batch runs
// as ONE MikroORM unit of work (docs/architecture.md, "Why a batch"):
//   1. claim every request's idempotency keys first, in key order (a key already taken, by this
//      process or another, drops that request from the batch: it answers as a replay);
//   2. lock the transaction rows the requests settle or reverse, then every account the batch
//      touches once, in ascending id order (PostgreSQL FOR UPDATE; SQLite's single writer);
//   3. apply the requests in arrival order against the locked balances, each with its own checks
//      (BatchState); one that fails is undone and answers its own error;
//   4. write transactions, entries, balances, statuses, key outcomes and audit events with
//      set-based statements, asserting conservation and that the database holds exactly the
//      computed balances; commit; then answer each caller. Nothing is acknowledged before commit.
// A batch is capped in count (limits.postingBatchMax) and never waits for more work than is
// already queued. A batch that fails as a whole (deadlock, serialization failure, lost
// connection) is retried as a batch; an unexpected error splits it to isolate the poison request.
import { type Database, type Tx } from "../db/database";
import { CallAbortedError, DatabaseUnavailableError, TransactionConflictError } from "../db/errors";
import { DomainError, failedPrecondition, resourceExhausted, unavailable } from "../errors";
import { limits } from "../limits";
import type { DailyLimitDefaults } from "../config";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { keyId, type KeyRow, type StoredKey } from "./store/batch";
import { lockBatch, writeLockedBatch, type AccountsToLock, type LockView } from "./store/batch";

export type { AccountsToLock, LockView } from "./store/batch";
import { decodeOutcome, encodeOutcome, reusedKeyError } from "./idempotency";
import { assert, BatchState, type AuditDetails, type RefusalGate } from "./posting";

export type { RefusalGate } from "./posting";
import { isPaymentService, isStaff } from "./access";
import { TokenBuckets } from "../auth/rate-limit";
import type { Actor, TransactionView } from "./types";

/** The idempotency key of a request (AIP-155) with its payload digests. */
export type RequestKey = KeyRow;

/** What the engine tells a request about keys of its items that were already taken (atomic and
 * batched transfers: an item that repeats an earlier commit). */
export type TakenKeys = ReadonlyMap<string, StoredKey>;

export interface PostingRequest<T> {
  /** The request's own key; a system posting (hold expiry) may have none. */
  readonly key?: RequestKey;
  /** Keys of the request's items (BatchTransfer): claimed with the batch, each answered by the
   * item's outcome (applyGroup) or given back when an atomic group aborts. */
  readonly itemKeys?: readonly RequestKey[];
  /** The call's abort signal: a request whose call ended before its batch starts is dropped. */
  readonly signal?: AbortSignal;
  /** Postings this request may write (its share of limits.postingBatchMax). */
  readonly weight: number;
  /** Transaction rows to lock before the accounts (holds to settle, transactions to reverse). */
  readonly transactionIds?: readonly string[];
  /** Transactions whose entries the request needs (reversals). */
  readonly entriesOf?: readonly string[];
  /** The accounts to lock, given the locked transaction rows. */
  accounts(locked: LockView): AccountsToLock;
  /**
   * Applies the request to the batch. A DomainError refuses it (its changes are undone, its
   * key keeps the error and a FAILED event is recorded); GroupOutcome reports items.
   */
  apply(batch: BatchState, taken: TakenKeys): T | GroupOutcome<T>;
  /** The FAILED (or DENIED) audit event of a refusal. */
  readonly failure: { actor: Actor; action: string; targetId: string; details: AuditDetails };
}

/**
 * What a request with items returns: the value to answer (and store under the request's key),
 * the outcome of each item key it claimed, and whether its changes are to be undone and its
 * item keys given back (an atomic group that aborted).
 */
export class GroupOutcome<T> {
  constructor(
    readonly value: T,
    readonly itemOutcomes: ReadonlyMap<string, { ok: unknown } | { error: ReturnType<DomainError["toJSON"]> }>,
    readonly aborted: boolean,
  ) {}
}

interface Pending {
  request: PostingRequest<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
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

/** How a request ended in a batch that committed. */
type Answer = { value: unknown } | { error: unknown } | { replay: StoredKey };

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
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  /** Batch clocks never go backwards, so entry times never do either. */
  private lastNowMs = 0;
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
    private readonly db: Database,
    private readonly clock: () => number,
    /** The configured default daily limits of a currency. */
    private readonly limitDefaults: (currency: string) => DailyLimitDefaults,
    private readonly opts: { metrics?: Metrics; logger?: Logger; batchMax?: number; lanesMax?: number; refusals?: RefusalGate; postingsPerSecond?: number } = {},
  ) {
    assert((opts.lanesMax ?? 1) >= 1, "the engine runs at least one batch at a time");
    this.rates = new TokenBuckets({ capacity: limits.postingRateBurst, refillPerMs: this.postingsPerSecond / 1000, keysMax: limits.postingRateKeysMax });
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
          await this.runBatch(batch.pending, 1, inTurn);
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

  /** Runs a batch; retries it when it failed as a whole; splits it when one request in it is a
   * poison (an unexpected error); answers every request exactly once. */
  private async runBatch(batch: Pending[], attempt: number, inTurn = true): Promise<void> {
    const live = batch.filter((p) => {
      if (!p.request.signal?.aborted) return true;
      p.reject(new CallAbortedError(p.request.signal.reason));
      return false;
    });
    if (live.length === 0) return;
    // In turn, this batch takes its locks after the batch taken before it has taken all of its
    // own (see lockTurn): a later request never overtakes an earlier one on a row they share.
    const previous = inTurn ? this.lockTurn : Promise.resolve();
    let locked!: () => void;
    this.lockTurn = new Promise<void>((resolve) => (locked = resolve));
    const started = process.hrtime.bigint();
    let answers: Answer[];
    let touched: string[];
    try {
      try {
        ({ answers, touched } = await this.db.transaction((tx) => this.execute(tx, live, previous, locked), { retry: true }));
      } finally {
        locked();
      }
    } catch (err) {
      this.opts.metrics?.postingBatches.inc({ outcome: "failed" });
      if ((err instanceof DatabaseUnavailableError || err instanceof TransactionConflictError) && attempt <= limits.txRetriesMax) {
        // The whole batch failed (a lost connection, a conflict that outlived the transaction's
        // own retries): nothing of it committed, or all of it did and the retry replays it.
        await new Promise((resolve) => setTimeout(resolve, limits.postingRetryBackoffMs * attempt));
        return this.runBatch(live, attempt + 1, inTurn);
      }
      if (err instanceof DatabaseUnavailableError || err instanceof TransactionConflictError) {
        for (const p of live) p.reject(err);
        return;
      }
      if (live.length > 1) {
        // An unexpected error belongs to one request: split until it is alone.
        const half = Math.ceil(live.length / 2);
        await this.runBatch(live.slice(0, half), attempt, inTurn);
        await this.runBatch(live.slice(half), attempt, inTurn);
        return;
      }
      this.opts.logger?.error({ err, key: live[0]!.request.key?.requestId }, "posting failed unexpectedly; isolated from its batch");
      live[0]!.reject(err);
      return;
    }
    this.opts.metrics?.postingBatches.inc({ outcome: "committed" });
    this.opts.metrics?.postingBatchSize.observe(live.reduce((n, p) => n + p.request.weight, 0));
    this.opts.metrics?.postingBatchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    assert(answers.length === live.length, "one answer per request of the batch");
    live.forEach((p, i) => deliver(p, answers[i]!));
    if (touched.length > 0) {
      for (const listener of this.committedListeners) {
        try {
          listener(touched);
        } catch (err) {
          this.opts.logger?.error({ err }, "a commit listener failed");
        }
      }
    }
  }

  /** One attempt at the batch, inside its unit of work. Returns each request's answer. */
  private async execute(tx: Tx, batch: Pending[], turn: Promise<void>, locked: () => void): Promise<{ answers: Answer[]; touched: string[] }> {
    await turn;
    // 1-2. Keys first, then locks: transaction rows, then accounts, each in ascending id order.
    const allKeys = batch.flatMap((p) => keysOf(p.request));
    const { claimed, taken, transactions, entries, accounts, dbNowMs } = await lockBatch(tx, batch.map((p) => p.request), allKeys, Math.max(this.clock(), this.lastNowMs));
    assert(claimed.size + taken.size === new Set(allKeys.map(keyId)).size, "every key of the batch is either claimed or stored");
    for (const stored of taken.values()) assert(stored.outcome !== "", "a taken key was committed with its outcome");
    const live = batch.map((p) => !p.request.key || claimed.has(keyId(p.request.key)));
    // Every lock this batch needs is held: the next batch may take its own.
    locked();
    // The batch's time is read once its accounts are locked, and never goes backwards: a batch
    // that waited for another lane's locks on an account is timed after it, so an account's
    // entries are in time order as they are in seq order.
    const nowMs = Math.max(this.clock(), this.lastNowMs);
    this.lastNowMs = nowMs;
    // 3. Apply in arrival order.
    const state = new BatchState(accounts, transactions, entries, nowMs, this.limitDefaults, Math.max(nowMs, dbNowMs ?? 0));
    state.refusals = this.opts.refusals;
    const outcomes: { callerId: string; method: string; requestId: string; outcome: string }[] = [];
    // A request that replays (its own key was taken) gives back the item keys it claimed.
    const released: RequestKey[] = batch.flatMap((p, i) => (live[i] ? [] : (p.request.itemKeys ?? []).filter((k) => claimed.has(keyId(k)))));
    const answers = batch.map((p, i): Answer => {
      if (!live[i]) return { replay: taken.get(keyId(p.request.key!))! };
      return applyOne(state, p.request, taken, outcomes, released);
    });
    // 4. Write, asserting what the database returns.
    state.assertBatch();
    await writeLockedBatch(tx, {
      transactions: [...state.newTransactions.values()],
      entries: state.entries,
      accounts: state.changedAccounts(),
      statusChanges: state.statusChanges,
      outcomes,
      released,
      audits: state.audits,
    });
    return { answers, touched: state.changedAccounts().map((c) => c.after.id) };
  }
}

/** Applies one request; records its key outcome (and its items'), or undoes it. */
function applyOne(
  state: BatchState,
  request: PostingRequest<unknown>,
  taken: TakenKeys,
  outcomes: { callerId: string; method: string; requestId: string; outcome: string }[],
  released: RequestKey[],
): Answer {
  const mark = state.mark();
  const record = (key: RequestKey | undefined, outcome: Parameters<typeof encodeOutcome>[0]) => {
    if (key) outcomes.push({ callerId: key.callerId, method: key.method, requestId: key.requestId, outcome: encodeOutcome(outcome) });
  };
  try {
    const result = request.apply(state, taken);
    if (!(result instanceof GroupOutcome)) {
      record(request.key, { ok: result });
      return { value: result };
    }
    // An aborted group has undone its own changes (and recorded why): only its item keys go.
    for (const item of request.itemKeys ?? []) {
      if (taken.has(keyId(item))) continue;
      const outcome = result.itemOutcomes.get(keyId(item));
      if (result.aborted || outcome === undefined) released.push(item);
      else record(item, outcome);
    }
    record(request.key, { ok: result.value });
    return { value: result.value };
  } catch (err) {
    state.undo(mark);
    if (!(err instanceof DomainError)) throw err;
    for (const item of request.itemKeys ?? []) if (!taken.has(keyId(item))) released.push(item);
    record(request.key, { error: err.toJSON() });
    recordRefusal(state, request.failure, err);
    return { error: err };
  }
}

/** The FAILED (DENIED for a permission) audit event of a refused posting, in its batch, unless
 * the engine's refusal gate counts a repeat of its principal, action and reason into the
 * window's aggregated event instead. A batch retried as a whole may count its repeats twice
 * there: the aggregated count is an upper bound (docs/security.md). */
export function recordRefusal(state: BatchState, failure: PostingRequest<unknown>["failure"], err: DomainError): void {
  const outcome = err.kind === "permission_denied" ? "DENIED" : "FAILED";
  const details = { ...failure.details, code: err.codeName, reason: err.reason };
  const gate = state.refusals;
  if (gate && !gate.recordNow({ actorId: failure.actor.userId, action: failure.action, targetId: failure.targetId, outcome, clientAddress: failure.actor.clientAddress, requestId: failure.actor.callId, details }, state.nowMs)) return;
  state.audit(failure.actor, { action: failure.action, targetId: failure.targetId, outcome, details });
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

function keysOf(request: PostingRequest<unknown>): RequestKey[] {
  return [...(request.key ? [request.key] : []), ...(request.itemKeys ?? [])];
}

function deliver(p: Pending, answer: Answer): void {
  if ("value" in answer) return p.resolve(answer.value);
  if ("error" in answer) return p.reject(answer.error);
  const key = p.request.key!;
  if (answer.replay.payloadHash !== key.payloadHash) return p.reject(reusedKeyError(key, answer.replay));
  const outcome = decodeOutcome(answer.replay.outcome);
  if ("error" in outcome) return p.reject(DomainError.fromJSON(outcome.error));
  p.resolve(outcome.ok);
}

/** Whether a stored key is a success that replays for `key` (same payload). */
export function replaysSuccess(key: RequestKey, stored: StoredKey | undefined): { ok: unknown } | undefined {
  if (!stored || stored.payloadHash !== key.payloadHash) return undefined;
  const outcome = decodeOutcome(stored.outcome);
  return "ok" in outcome ? outcome : undefined;
}

/** The error a taken item key answers with: REQUEST_ID_REUSED, or its stored error. */
export function storedFailure(key: RequestKey, stored: StoredKey): DomainError {
  if (stored.payloadHash !== key.payloadHash) return reusedKeyError(key, stored);
  const outcome = decodeOutcome(stored.outcome);
  if ("error" in outcome) return DomainError.fromJSON(outcome.error);
  return failedPrecondition("REQUEST_ID_REUSED", "This request_id was already used.", { request_id: key.requestId });
}

