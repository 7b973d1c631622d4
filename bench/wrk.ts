// Runs wrk (a C load generator, Debian's `wrk`) against bankd over HTTP/1.1 with the Lua script
// of bench/wrk-script.ts: `threads` threads, one connection per unit of concurrency, closed loop
// (each connection sends its next call when the previous answer arrives). wrk has no warm-up:
// the bench runs a short wrk first (warmUp) and measures a second one. Latency percentiles are
// wrk's own histogram (every completed call, errors included); throughput counts 200 answers.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { LoadWorkload } from "./args";
import { ProgressBar } from "./progress";
import { spawnCollect } from "./spawn";
import type { Fixture } from "./seed";
import { round, type Measurement } from "./stats";
import { wrkScript } from "./wrk-script";

export const WRK = process.env.BANK_BENCH_WRK ?? "wrk";
/** wrk threads: the machine has 2 cores, and one thread drives 32 connections easily. */
export const WRK_THREADS = 2;
/** A call slower than this counts as a wrk timeout: far above any healthy latency, below
 * bankd's default deadline (limits.deadlineMsDefault, 15 s). */
const WRK_TIMEOUT_SECONDS = 10;

export interface WrkRun {
  label: string;
  workload: LoadWorkload;
  /** The name the measurement carries (a workload, or "empty-rpc"). */
  name: string;
  baseUrl: string;
  fixture: Fixture;
  concurrency: number;
  durationSeconds: number;
  /** Where the generated script goes (the run's temporary data directory: it holds tokens). */
  workDir: string;
}

/** What wrk's script reports (bench/wrk-script.ts done()). */
interface WrkResult {
  durationUs: number;
  requests: number;
  non200: number;
  statuses: Record<string, number>;
  socketErrors: Record<"connect" | "read" | "write" | "timeout", number>;
  latencyUs: { p50: number; p95: number; p99: number; max: number; mean: number };
  itemsOk: number;
  itemsFailed: number;
  kinds: Record<string, number>;
  samples: string[];
}

/** A short unmeasured run, so that V8 has compiled the hot paths and the pools are full. */
export async function warmUp(run: WrkRun, seconds: number): Promise<void> {
  const result = await runWrk({ ...run, label: `${run.label} (warm-up)`, durationSeconds: seconds });
  if (result.requests > 0 && result.non200 === result.requests) {
    throw new Error(`${run.label}: every warm-up call failed, e.g. ${result.samples[0] ?? "(no sample)"}`);
  }
}

/** The measured run. The caller follows CPU around it (run.ts withCpu). */
export async function measureWrk(run: WrkRun): Promise<Measurement> {
  const r = await runWrk(run);
  const seconds = r.durationUs / 1e6;
  const ok = r.requests - r.non200;
  const errors: Record<string, number> = {};
  for (const [status, n] of Object.entries(r.statuses)) errors[`HTTP ${status}`] = n;
  for (const [kind, n] of Object.entries(r.socketErrors)) if (n > 0) errors[`socket ${kind}`] = n;
  const ms = (us: number) => round(us / 1000);
  const m: Measurement = {
    name: run.name,
    ops: ok,
    opsTotal: ok,
    errors,
    seconds: round(seconds, 3),
    opsPerSecond: round(ok / seconds, 1),
    latencyMs: { p50: ms(r.latencyUs.p50), p95: ms(r.latencyUs.p95), p99: ms(r.latencyUs.p99), max: ms(r.latencyUs.max), mean: ms(r.latencyUs.mean) },
    concurrency: run.concurrency,
    generator: `wrk -t ${threadsFor(run.concurrency)} -c ${run.concurrency}`,
    ...(Object.keys(r.kinds).length > 0 ? { kinds: r.kinds } : {}),
    ...(r.samples.length > 0 ? { sampleErrors: r.samples } : {}),
  };
  if (run.workload === "batch-transfer") {
    m.transfers = r.itemsOk;
    m.transfersPerSecond = round(r.itemsOk / seconds, 1);
    m.itemErrors = r.itemsFailed;
  }
  return m;
}

function threadsFor(concurrency: number): number {
  return Math.min(WRK_THREADS, concurrency);
}

async function runWrk(run: WrkRun): Promise<WrkResult> {
  const prefix = `b${randomBytes(6).toString("hex")}`;
  const script = path.join(run.workDir, `wrk-${run.workload}-${prefix}.lua`);
  fs.writeFileSync(script, wrkScript({ workload: run.workload, fixture: run.fixture, runPrefix: prefix }));
  const args = ["-t", String(threadsFor(run.concurrency)), "-c", String(run.concurrency), "-d", `${run.durationSeconds}s`,
    "--timeout", `${WRK_TIMEOUT_SECONDS}s`, "-s", script, run.baseUrl];
  const bar = new ProgressBar(run.label);
  const started = Date.now();
  const timer = setInterval(() => bar.update((Date.now() - started) / (run.durationSeconds * 1000), "wrk running"), 200);
  try {
    const { code, stdout, stderr } = await spawnCollect(WRK, args);
    const line = stdout.split("\n").find((l) => l.startsWith("WRK_RESULT "));
    if (code !== 0 || !line) throw new Error(`${run.label}: wrk exited with code ${code}${line ? "" : " without a result"}:\n${(stdout + stderr).split("\n").slice(-15).join("\n")}`);
    const result = JSON.parse(line.slice("WRK_RESULT ".length)) as WrkResult;
    const failed = result.non200 + Object.values(result.socketErrors).reduce((a, b) => a + b, 0);
    bar.done(`${round(((result.requests - result.non200) * 1e6) / result.durationUs, 1)} ok/s, p50 ${round(result.latencyUs.p50 / 1000)} ms, p99 ${round(result.latencyUs.p99 / 1000)} ms${failed ? `, ${failed} errors` : ""}`);
    return result;
  } finally {
    clearInterval(timer);
    fs.rmSync(script, { force: true });
  }
}

/** Recognizes, by command line, the wrk processes of this bench run: their script lies in the
 * run's own directory. */
export function wrkProcessesOf(workDir: string): (cmdline: string) => boolean {
  return (cmdline) => /^(\S*\/)?wrk /.test(cmdline) && cmdline.includes(` ${path.join(workDir, "wrk-")}`);
}
