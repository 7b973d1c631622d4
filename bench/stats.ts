// Measurement results and their summary statistics.
import type { BatchDistribution } from "./batch-metrics";
import type { WatchResult } from "./watch";

export interface Measurement {
  /** What was measured: a workload, or a baseline ("pgbench-uniform", "argon2", "empty-rpc"...). */
  name: string;
  /** Operations completed (successfully) inside the measured window. */
  ops: number;
  /** Failed operations inside the measured window, by HTTP status / socket error / code. */
  errors: Record<string, number>;
  seconds: number;
  opsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  concurrency: number;
  /** Operations completed in the span the CPU was followed over (wrk: the measured run;
   * pgbench and in-process baselines: the whole job, warm-up included). */
  opsTotal?: number;
  /** What generated the load ("wrk -t 2 -c 32", "pgbench ...", "in-process"). */
  generator?: string;
  /** BatchTransfer: transfers that succeeded (items answered with a transaction), per second,
   * and items answered with an error. */
  transfers?: number;
  transfersPerSecond?: number;
  itemErrors?: number;
  /** CPU time per operation, in ms, of the bankd server, of the PostgreSQL backends of the
   * bench database, and of the client (wrk, pgbench, or the in-process baseline): less
   * sensitive to a noisy machine than throughput. */
  cpuMsPerOp?: CpuSplit;
  /** The same per successful transfer (batch-transfer: per item). */
  cpuMsPerTransfer?: CpuSplit;
  /** Each process's CPU while it was followed, in % of one core (the machine has 2). */
  cpuSharePercent?: CpuSplit;
  /** The posting engine's batches during the measurement (bankd's /metrics). */
  batches?: BatchDistribution;
  /** The watch workload: its WatchAccount streams and the latency of what they delivered. */
  watch?: WatchResult;
  /** Operations by kind (the mixed workload's breakdown). */
  kinds?: Record<string, number>;
  /** The first error messages seen, to tell a broken workload from a slow one. */
  sampleErrors?: string[];
  note?: string;
}

export interface CpuSplit {
  server?: number;
  db?: number;
  client?: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(latenciesMs: number[] | Float64Array): Measurement["latencyMs"] {
  const sorted = Float64Array.from(latenciesMs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1]! : 0),
    mean: round(sorted.length ? sum / sorted.length : 0),
  };
}

export function errorCount(m: Pick<Measurement, "errors">): number {
  return Object.values(m.errors).reduce((a, b) => a + b, 0);
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
