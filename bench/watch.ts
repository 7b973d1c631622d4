// The watch workload (issue 19): WatchAccount streams open on bench accounts while wrk runs the
// transfer-uniform load. Each entry a stream delivers is timed from its transaction's
// create_time (the posting's batch time, read once its accounts are locked, so the figure
// includes the batch's own writes and commit) to its arrival here: commit-to-delivery plus the
// batch's write time, an upper bound of what a watcher waits. The transfer rate beside the same
// run's transfer-uniform is what having the watchers costs.
import { setMaxListeners } from "node:events";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AccountService } from "../gen/bank/v1/account_service_pb";
import { limits } from "../src/limits";
import type { Fixture } from "./seed";

/** Streams the workload opens (fewer when the bench has too few users: each user may hold
 * limits.watchersPerUserMax). */
export const WATCHERS = 100;

export interface WatchResult {
  watchers: number;
  events: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Streams that ended with an error before the bench stopped them. */
  failed: number;
  sampleErrors: string[];
}

export interface RunningWatchers {
  /** Stops every stream and returns what they saw. */
  stop(): Promise<WatchResult>;
}

/** Opens the streams (gRPC, one HTTP/2 connection) and resolves once each has said it is open
 * (its first message, a heartbeat). */
export async function openWatchers(fixture: Fixture, baseUrl: string): Promise<RunningWatchers> {
  const perUser = new Map<number, number>();
  const chosen: { id: string; token: string }[] = [];
  for (const account of fixture.accounts) {
    if (chosen.length >= WATCHERS) break;
    const n = perUser.get(account.owner) ?? 0;
    if (n >= limits.watchersPerUserMax) continue;
    perUser.set(account.owner, n + 1);
    chosen.push({ id: account.id, token: fixture.users[account.owner]!.token });
  }
  const accounts = createClient(AccountService, createGrpcTransport({ baseUrl }));
  const abort = new AbortController();
  // Every stream listens to this one signal (more than Node's default of 10 listeners).
  setMaxListeners(WATCHERS + 1, abort.signal);
  const latencies: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  const opened: Promise<void>[] = [];
  const running = chosen.map(({ id, token }) => {
    let markOpen: () => void = () => undefined;
    let markFailed: (err: unknown) => void = () => undefined;
    opened.push(new Promise<void>((resolve, reject) => ((markOpen = resolve), (markFailed = reject))));
    return (async () => {
      try {
        const stream = accounts.watchAccount({ accountId: id }, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal, timeoutMs: limits.streamDeadlineMsMax });
        for await (const res of stream) {
          markOpen();
          const created = res.entry?.transaction?.createTime;
          if (created) latencies.push(Date.now() - timestampMs(created));
        }
      } catch (err) {
        markFailed(err);
        if (!abort.signal.aborted) {
          failed++;
          if (errors.length < 3) errors.push(err instanceof Error ? err.message : String(err));
        }
      }
    })();
  });
  await Promise.all(opened);
  return {
    stop: async () => {
      abort.abort();
      await Promise.all(running);
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
      return { watchers: chosen.length, events: sorted.length, latencyMs: { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN }, failed, sampleErrors: errors };
    },
  };
}
