// A closed-loop driver: `concurrency` workers each run one operation, wait for it, and start the
// next, for warm-up + duration. Only operations that complete inside the measured window count,
// so throughput = completions in the window / window length (no loss at the window's edges).
import { performance } from "node:perf_hooks";
import { ConnectError, Code } from "@connectrpc/connect";
import { round, summarize, type Measurement } from "./stats";

export interface Progress {
  elapsedMs: number;
  totalMs: number;
  ops: number;
  errors: number;
}

export interface ClosedLoopOptions {
  name: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** One operation; resolves with its kind. */
  op: (worker: number) => Promise<string>;
  onProgress?: (p: Progress) => void;
}

export async function runClosedLoop(opts: ClosedLoopOptions): Promise<Measurement> {
  const start = performance.now();
  const windowStart = start + opts.warmupMs;
  const windowEnd = windowStart + opts.durationMs;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  const sampleErrors: string[] = [];
  let ops = 0;
  let opsTotal = 0;
  let errorTotal = 0;

  const timer = setInterval(() => {
    opts.onProgress?.({ elapsedMs: performance.now() - start, totalMs: opts.warmupMs + opts.durationMs, ops, errors: errorTotal });
  }, 200);
  const worker = async (w: number) => {
    while (performance.now() < windowEnd) {
      const t0 = performance.now();
      let kind: string | undefined;
      let failure: string | undefined;
      try {
        kind = await opts.op(w);
      } catch (err) {
        failure = errorCode(err);
        if (sampleErrors.length < 5) sampleErrors.push(`${failure}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300));
      }
      const t1 = performance.now();
      if (failure === undefined) opsTotal++;
      // Throughput counts completions inside the window (steady state), whenever they started.
      if (t1 < windowStart || t1 > windowEnd) continue;
      if (failure !== undefined) {
        errors[failure] = (errors[failure] ?? 0) + 1;
        errorTotal++;
        continue;
      }
      ops++;
      latencies.push(t1 - t0);
      kinds[kind!] = (kinds[kind!] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  } finally {
    clearInterval(timer);
  }
  const seconds = opts.durationMs / 1000;
  return {
    name: opts.name,
    ops,
    opsTotal,
    errors,
    seconds,
    opsPerSecond: round(ops / seconds, 1),
    latencyMs: summarize(latencies),
    concurrency: opts.concurrency,
    kinds,
    ...(sampleErrors.length > 0 ? { sampleErrors } : {}),
  };
}

function errorCode(err: unknown): string {
  if (err instanceof ConnectError) return Code[err.code] ?? String(err.code);
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? code : "Error";
}
