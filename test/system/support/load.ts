// The transfer load of the scenarios: N clients, each doing M random transfers among the bank's
// accounts, spread over the given bankd endpoints (a retry moves to the next endpoint, as behind a
// load balancer), each transfer retried with its own fixed request_id until bankd gives a final
// answer. Every operation's outcome is recorded so that the database can be checked against it:
// acknowledged success = present exactly once, acknowledged failure = absent, unacknowledged =
// present at most once.
import { Code } from "@connectrpc/connect";
import { TransactionService } from "../../../gen/bank/v1/transaction_service_pb";
import { AccountService } from "../../../gen/bank/v1/account_service_pb";
import type { Transaction } from "../../../gen/bank/v1/transaction_pb";
import type { BatchTransferError } from "../../../gen/bank/v1/transaction_service_pb";
import { api, attempt, newRetryStats, viewError, type AccountRef, type ErrorView, type Protocol, type RetryStats, type Session } from "./bank-api";
import { big, type Probe } from "./probe";
import { Rng } from "./rng";

export interface TransferOp {
  requestId: string;
  client: number;
  userId: string;
  from: string;
  to: string;
  currency: string;
  amount: bigint;
  outcome: "ok" | "failed" | "unacked";
  tx?: Transaction;
  error?: ErrorView;
  attempts: number;
  /** The BatchTransfer call's request_id, when the transfer was one item of a batch. */
  batch?: string;
  /** The description sent (a retry with the same request_id must send the same request). */
  description?: string;
}

/** A BatchTransfer item's error as the ErrorView of the same single Transfer. */
function batchItemError(e: BatchTransferError | undefined): ErrorView {
  const codeName = e?.code ?? "unknown";
  const code = (Code as unknown as Record<string, Code>)[codeName.replace(/(^|_)(\w)/g, (_m, _u, c: string) => c.toUpperCase())] ?? Code.Unknown;
  return { code, codeName: Code[code], reason: e?.errorInfo?.reason, message: e?.message ?? "", metadata: { ...(e?.errorInfo?.metadata ?? {}) }, fromServer: true };
}

export interface LoadOptions {
  /** bankd base URLs; client i starts on endpoints[i % n]. */
  endpoints: () => readonly string[];
  /** One signed-in session per client; a client moves money out of its user's accounts. */
  sessions: readonly Session[];
  accounts: readonly AccountRef[];
  opsPerClient: number;
  rng: Rng;
  /** Prefix of every request_id of this load (the verification finds its rows by it). */
  tag: string;
  protocolFor?: (client: number) => Protocol;
  amountMaxMinor?: number;
  maxAttempts?: number;
  /** Per client, instead of maxAttempts (a client that gives up sooner leaves operations
   * unacknowledged, to be replayed with their request_id). */
  maxAttemptsFor?: (client: number) => number;
  /** Per-call deadline (none by default: the server's default applies). */
  timeoutMs?: number;
  /** Called after each finished operation with the total finished so far. */
  onProgress?: (done: number) => void;
  /** Stops each client early once it returns true (checked before each operation). */
  until?: () => boolean;
  /** A pause between one client's operations (none by default). */
  pauseMs?: number;
  /** With this probability an operation is a non-atomic BatchTransfer of `batchSize` transfers
   * (each with its own request_id, recorded as its own TransferOp) instead of one Transfer. */
  batchChance?: number;
  batchSize?: number;
  /** Called after every attempt (each try of each operation) with when it started and ended. */
  onAttempt?: (a: { startedAt: number; endedAt: number; ok: boolean; error?: ErrorView }) => void;
}

export interface LoadResult {
  ops: TransferOp[];
  stats: RetryStats;
  elapsedMs: number;
}

export async function runTransferLoad(opts: LoadOptions): Promise<LoadResult> {
  const stats = newRetryStats();
  const ops: TransferOp[] = [];
  let done = 0;
  const started = Date.now();
  await Promise.all(
    opts.sessions.map(async (session, client) => {
      const rng = opts.rng.fork(client);
      const protocol = opts.protocolFor?.(client) ?? "connect";
      const clients = new Map<string, ReturnType<typeof api<typeof TransactionService>>>();
      const clientFor = (url: string) => {
        let c = clients.get(url);
        if (!c) clients.set(url, (c = api(TransactionService, url, { protocol, token: session.token })));
        return c;
      };
      const own = opts.accounts.filter((a) => a.ownerId === session.userId);
      /** One attempt of `call`, reported to onAttempt. */
      const observed = async <T>(call: () => Promise<T>): Promise<T> => {
        const startedAt = Date.now();
        try {
          const value = await call();
          opts.onAttempt?.({ startedAt, endedAt: Date.now(), ok: true });
          return value;
        } catch (err) {
          opts.onAttempt?.({ startedAt, endedAt: Date.now(), ok: false, error: viewError(err) });
          throw err;
        }
      };
      for (let i = 0; i < opts.opsPerClient; i++) {
        if (opts.until?.()) break;
        if (opts.pauseMs && i > 0) await new Promise((resolve) => setTimeout(resolve, opts.pauseMs));
        if (opts.batchChance !== undefined && rng.chance(opts.batchChance)) {
          const items = Array.from({ length: opts.batchSize ?? 5 }, (_, k) => {
            const from = rng.pick(own);
            const to = rng.pick(opts.accounts.filter((a) => a.currency === from.currency && a.id !== from.id));
            const amount = BigInt(rng.int(1, opts.amountMaxMinor ?? 5_000));
            return { requestId: `${opts.tag}-c${client}-i${i}-k${k}`, from, to, amount };
          });
          const request = {
            requestId: `batch-${opts.tag}-c${client}-i${i}`,
            atomic: false,
            transfers: items.map((it) => ({ requestId: it.requestId, fromAccountId: it.from.id, target: { case: "toAccountId" as const, value: it.to.id }, amount: { currency: it.from.currency, minorUnits: it.amount }, description: `load batch ${client}.${i}` })),
          };
          const res = await attempt(
            (n) => {
              const endpoints = opts.endpoints();
              const url = endpoints[(client + n - 1) % endpoints.length]!;
              return observed(() => clientFor(url).batchTransfer(request, opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}));
            },
            { rng, stats, maxAttempts: opts.maxAttemptsFor?.(client) ?? opts.maxAttempts },
          );
          items.forEach((it, k) => {
            const op: TransferOp = { requestId: it.requestId, client, userId: session.userId, from: it.from.id, to: it.to.id, currency: it.from.currency, amount: it.amount, outcome: "unacked", attempts: res.attempts, batch: request.requestId, description: request.transfers[k]!.description };
            if (res.ok) {
              const result = res.value.results[k]?.result;
              if (result?.case === "transaction") Object.assign(op, { outcome: "ok", tx: result.value });
              else Object.assign(op, { outcome: "failed", error: batchItemError(result?.value) });
            } else Object.assign(op, { outcome: res.acked ? "failed" : "unacked", error: res.error });
            ops.push(op);
          });
          opts.onProgress?.(++done);
          continue;
        }
        const from = rng.pick(own);
        const to = rng.pick(opts.accounts.filter((a) => a.currency === from.currency && a.id !== from.id));
        const amount = BigInt(rng.int(1, opts.amountMaxMinor ?? 5_000));
        const requestId = `${opts.tag}-c${client}-i${i}`;
        const request = { requestId, fromAccountId: from.id, target: { case: "toAccountId" as const, value: to.id }, amount: { currency: from.currency, minorUnits: amount }, description: `load ${client}.${i}` };
        const res = await attempt(
          (n) => {
            const endpoints = opts.endpoints();
            const url = endpoints[(client + n - 1) % endpoints.length]!;
            return observed(() => clientFor(url).transfer(request, opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}));
          },
          { rng, stats, maxAttempts: opts.maxAttemptsFor?.(client) ?? opts.maxAttempts },
        );
        const op: TransferOp = { requestId, client, userId: session.userId, from: from.id, to: to.id, currency: from.currency, amount, outcome: "unacked", attempts: res.attempts, description: request.description };
        if (res.ok) Object.assign(op, { outcome: "ok", tx: res.value.transaction });
        else Object.assign(op, { outcome: res.acked ? "failed" : "unacked", error: res.error });
        ops.push(op);
        opts.onProgress?.(++done);
      }
    }),
  );
  return { ops, stats, elapsedMs: Date.now() - started };
}

interface TxRow {
  id: string;
  request_id: string;
  from_account_id: string | null;
  to_account_id: string | null;
  amount: unknown;
}

export interface OutcomeCheck {
  violations: string[];
  acknowledgedOk: number;
  acknowledgedFailed: number;
  unackedApplied: number;
  unackedAbsent: number;
  /** Final errors by code and reason (business failures such as INSUFFICIENT_FUNDS). */
  failures: Record<string, number>;
}

/** Compares the recorded outcomes with the transactions stored under the load's request ids. */
export async function checkOutcomes(probe: Probe, ops: readonly TransferOp[], tag: string, opts: { allowedFailures?: Code[] } = {}): Promise<OutcomeCheck> {
  const rows = await probe.all<TxRow>(`SELECT id, request_id, from_account_id, to_account_id, CAST(amount AS TEXT) AS amount FROM transactions WHERE request_id LIKE ?`, [`${tag}-%`]);
  const byRequest = new Map<string, TxRow[]>();
  for (const r of rows) byRequest.set(r.request_id, [...(byRequest.get(r.request_id) ?? []), r]);
  const check: OutcomeCheck = { violations: [], acknowledgedOk: 0, acknowledgedFailed: 0, unackedApplied: 0, unackedAbsent: 0, failures: {} };
  const allowed = opts.allowedFailures ?? [Code.FailedPrecondition];
  const known = new Set(ops.map((o) => o.requestId));
  for (const op of ops) {
    const found = byRequest.get(op.requestId) ?? [];
    const matches = (r: TxRow) => r.from_account_id === op.from && r.to_account_id === op.to && big(r.amount) === op.amount;
    if (found.length > 1) check.violations.push(`${op.requestId}: stored ${found.length} times`);
    if (found.some((r) => !matches(r))) check.violations.push(`${op.requestId}: stored with other accounts or amount`);
    if (op.outcome === "ok") {
      check.acknowledgedOk++;
      if (found.length !== 1) check.violations.push(`${op.requestId}: acknowledged (tx ${op.tx?.id}) but stored ${found.length} times`);
      else if (found[0]!.id !== op.tx?.id) check.violations.push(`${op.requestId}: acknowledged as tx ${op.tx?.id} but stored as ${found[0]!.id}`);
    } else if (op.outcome === "failed") {
      check.acknowledgedFailed++;
      const key = `${op.error?.codeName} ${op.error?.reason}`;
      check.failures[key] = (check.failures[key] ?? 0) + 1;
      if (found.length !== 0) check.violations.push(`${op.requestId}: acknowledged as failed (${key}) but stored`);
      if (!allowed.includes(op.error!.code)) check.violations.push(`${op.requestId}: unexpected final error ${key}: ${op.error?.message}`);
    } else if (found.length === 1) check.unackedApplied++;
    else check.unackedAbsent++;
  }
  for (const r of rows) if (!known.has(r.request_id)) check.violations.push(`stored transaction ${r.id} with unknown request_id ${r.request_id}`);
  return check;
}

export interface BalanceReaderResult {
  reads: number;
  errors: number;
  violations: string[];
}

/** Reads balances over the API in a loop until stopped (GetBalance of a random account by its
 * owner): no available balance may ever be negative, whatever is in flight. Errors (a killed
 * process, a restarting database) are counted, not violations, unless bankd answers INTERNAL. */
export function startBalanceReader(opts: { endpoints: () => readonly string[]; sessions: readonly Session[]; accounts: readonly AccountRef[]; rng: Rng; intervalMs?: number }): { stop(): Promise<BalanceReaderResult> } {
  const result: BalanceReaderResult = { reads: 0, errors: 0, violations: [] };
  let running = true;
  const loop = (async () => {
    while (running) {
      const account = opts.rng.pick(opts.accounts);
      const owner = opts.sessions.find((s) => s.userId === account.ownerId);
      const endpoints = opts.endpoints();
      if (owner) {
        try {
          const res = await api(AccountService, opts.rng.pick(endpoints), { token: owner.token }).getBalance({ accountId: account.id }, { timeoutMs: 5_000 });
          result.reads++;
          const available = res.availableBalance?.minorUnits ?? 0n;
          if (available < 0n && result.violations.length < 50) result.violations.push(`GetBalance ${account.id}: available ${available} < 0`);
          if ((res.held?.minorUnits ?? 0n) < 0n) result.violations.push(`GetBalance ${account.id}: held negative`);
        } catch (err) {
          result.errors++;
          const e = viewError(err);
          if (e.fromServer && e.code === Code.Internal && result.violations.length < 50) result.violations.push(`GetBalance ${account.id}: INTERNAL ${e.message}`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}
