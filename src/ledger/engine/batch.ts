// One batch of the posting engine, as ONE MikroORM unit of work (docs/architecture.md, "Why a
// batch"):
//   1. claim every request's idempotency keys first, in key order (a key already taken, by this
//      process or another, drops that request from the batch: it answers as a replay);
//   2. lock the transaction rows the requests settle or reverse, then every account the batch
//      touches once, in ascending id order (PostgreSQL FOR UPDATE; SQLite's single writer);
//   3. apply the requests in arrival order against the locked balances, each with its own checks
//      (BatchState); one that fails is undone and answers its own error;
//   4. write transactions, entries, balances, statuses, key outcomes and audit events with
//      set-based statements, asserting conservation and that the database holds exactly the
//      computed balances; commit; then answer each caller (delivery.ts).
// A batch that fails as a whole (deadlock, serialization failure, lost connection) is retried as
// a batch; an unexpected error splits it to isolate the poison request.
import type { Database, Tx } from "../../db/database";
import { CallAbortedError, DatabaseUnavailableError, TransactionConflictError } from "../../db/errors";
import { DomainError } from "../../errors";
import { limits } from "../../limits";
import type { DailyLimitDefaults } from "../../config";
import type { Logger } from "../../logger";
import type { Metrics } from "../../metrics";
import { keyId } from "../store/batch";
import { lockBatch, writeLockedBatch } from "../store/batch";
import { encodeOutcome } from "../idempotency";
import { assert, BatchState, recordRefusal, type RefusalGate } from "./batch-state";
import { deliver, type Answer, type Caller } from "./delivery";
import { GroupOutcome, keysOf, type PostingRequest, type RequestKey, type TakenKeys } from "./request";

/** Batch clocks never go backwards, so entry times never do either. */
export class BatchClock {
  private lastNowMs = 0;
  constructor(private readonly clock: () => number) {}

  /** The time now, never before the last batch's. */
  peek(): number {
    return Math.max(this.clock(), this.lastNowMs);
  }

  /** The time of a batch that holds its locks: later batches are timed no earlier. */
  advance(): number {
    this.lastNowMs = this.peek();
    return this.lastNowMs;
  }
}

/** What a batch needs of its engine. */
export interface BatchContext {
  readonly db: Database;
  readonly clock: BatchClock;
  /** The configured default daily limits of a currency. */
  readonly limitDefaults: (currency: string) => DailyLimitDefaults;
  readonly refusals?: RefusalGate;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** The batch's place in the lock turn (queue.ts): what to wait for before taking its locks, and
   * how to say it holds them all. A batch not in turn waits for nothing. */
  turn(inTurn: boolean): { previous: Promise<void>; locked: () => void };
  /** After the commit and the answers: the accounts that gained entries. */
  committed(touched: string[]): void;
}

type KeyOutcome = { callerId: string; method: string; requestId: string; outcome: string };

/** Runs a batch; retries it when it failed as a whole; splits it when one request in it is a
 * poison (an unexpected error); answers every request exactly once. */
export async function runBatch(ctx: BatchContext, batch: Caller[], attempt: number, inTurn = true): Promise<void> {
  const live = batch.filter((p) => {
    if (!p.request.signal?.aborted) return true;
    p.reject(new CallAbortedError(p.request.signal.reason));
    return false;
  });
  if (live.length === 0) return;
  // In turn, this batch takes its locks after the batch taken before it has taken all of its
  // own (see lockTurn): a later request never overtakes an earlier one on a row they share.
  const { previous, locked } = ctx.turn(inTurn);
  const started = process.hrtime.bigint();
  let answers: Answer[];
  let touched: string[];
  try {
    try {
      ({ answers, touched } = await ctx.db.transaction((tx) => execute(ctx, tx, live, previous, locked), { retry: true }));
    } finally {
      locked();
    }
  } catch (err) {
    ctx.metrics?.postingBatches.inc({ outcome: "failed" });
    return recover(ctx, live, attempt, inTurn, err);
  }
  ctx.metrics?.postingBatches.inc({ outcome: "committed" });
  ctx.metrics?.postingBatchSize.observe(live.reduce((n, p) => n + p.request.weight, 0));
  ctx.metrics?.postingBatchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  assert(answers.length === live.length, "one answer per request of the batch");
  live.forEach((p, i) => deliver(p, answers[i]!));
  ctx.committed(touched);
}

/** A batch that did not commit: retried as a whole, split around a poison, or refused. */
async function recover(ctx: BatchContext, live: Caller[], attempt: number, inTurn: boolean, err: unknown): Promise<void> {
  if ((err instanceof DatabaseUnavailableError || err instanceof TransactionConflictError) && attempt <= limits.txRetriesMax) {
    // The whole batch failed (a lost connection, a conflict that outlived the transaction's
    // own retries): nothing of it committed, or all of it did and the retry replays it.
    await new Promise((resolve) => setTimeout(resolve, limits.postingRetryBackoffMs * attempt));
    return runBatch(ctx, live, attempt + 1, inTurn);
  }
  if (err instanceof DatabaseUnavailableError || err instanceof TransactionConflictError) {
    for (const p of live) p.reject(err);
    return;
  }
  if (live.length > 1) {
    // An unexpected error belongs to one request: split until it is alone.
    const half = Math.ceil(live.length / 2);
    await runBatch(ctx, live.slice(0, half), attempt, inTurn);
    await runBatch(ctx, live.slice(half), attempt, inTurn);
    return;
  }
  ctx.logger?.error({ err, key: live[0]!.request.key?.requestId }, "posting failed unexpectedly; isolated from its batch");
  live[0]!.reject(err);
}

/** One attempt at the batch, inside its unit of work. Returns each request's answer. */
async function execute(ctx: BatchContext, tx: Tx, batch: Caller[], turn: Promise<void>, locked: () => void): Promise<{ answers: Answer[]; touched: string[] }> {
  await turn;
  // 1-2. Keys first, then locks: transaction rows, then accounts, each in ascending id order.
  const allKeys = batch.flatMap((p) => keysOf(p.request));
  const { claimed, taken, transactions, entries, accounts, dbNowMs } = await lockBatch(tx, batch.map((p) => p.request), allKeys, ctx.clock.peek());
  assert(claimed.size + taken.size === new Set(allKeys.map(keyId)).size, "every key of the batch is either claimed or stored");
  for (const stored of taken.values()) assert(stored.outcome !== "", "a taken key was committed with its outcome");
  const live = batch.map((p) => !p.request.key || claimed.has(keyId(p.request.key)));
  // Every lock this batch needs is held: the next batch may take its own.
  locked();
  // The batch's time is read once its accounts are locked, and never goes backwards: a batch
  // that waited for another lane's locks on an account is timed after it, so an account's
  // entries are in time order as they are in seq order.
  const nowMs = ctx.clock.advance();
  // 3. Apply in arrival order.
  const state = new BatchState(accounts, transactions, entries, nowMs, ctx.limitDefaults, Math.max(nowMs, dbNowMs ?? 0));
  state.refusals = ctx.refusals;
  const outcomes: KeyOutcome[] = [];
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

/** Applies one request; records its key outcome (and its items'), or undoes it. */
export function applyOne(state: BatchState, request: PostingRequest<unknown>, taken: TakenKeys, outcomes: KeyOutcome[], released: RequestKey[]): Answer {
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
