// Runs the baselines that are not wrk runs in their own processes: the in-process baselines (raw
// argon2, raw SQLite transfers) in a forked dist/bench/child.js (one process, reused), and
// pgbench. Each shows a progress bar and returns a Measurement.
import { fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ChildMessage, Job } from "./child";
import { ProgressBar } from "./progress";
import { round, summarize, type Measurement } from "./stats";
import { ROOT } from "./server";
import { spawnCollect } from "./spawn";

/** The child process, forked on first use and reused for every job. */
let loadGenerator: ChildProcess | undefined;

function generator(): ChildProcess {
  if (loadGenerator && loadGenerator.connected) return loadGenerator;
  const child = fork(path.join(__dirname, "child.js"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  child.setMaxListeners(0);
  loadGenerator = child;
  return child;
}

/** Ends the child process (it exits when its channel closes). */
export function stopLoadGenerator(): void {
  if (loadGenerator?.connected) loadGenerator.disconnect();
  loadGenerator = undefined;
}

export async function runChildJob(label: string, job: Job): Promise<Measurement> {
  const bar = new ProgressBar(label);
  const child = generator();
  const measurement = await new Promise<Measurement>((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      if (message.kind === "progress") {
        const p = message.progress;
        bar.update(p.elapsedMs / p.totalMs, `${p.ops} ops, ${p.errors} errors`);
        return;
      }
      cleanup();
      if (message.kind === "result") resolve(message.measurement);
      else reject(new Error(`${label}: ${message.message}`));
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${label}: the bench's child process exited with code ${code}`));
    };
    const cleanup = () => {
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(job);
  });
  measurement.generator = "in-process (dist/bench/child.js)";
  bar.done(describe(measurement));
  return measurement;
}

/** The child process's pid (the client of in-process baselines), once forked. */
export function childPid(): number | undefined {
  return loadGenerator?.pid;
}

export function describe(m: Measurement): string {
  const errors = Object.values(m.errors).reduce((a, b) => a + b, 0);
  return `${m.opsPerSecond} ops/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms${errors ? `, ${errors} errors` : ""}`;
}

export interface PgbenchOptions {
  label: string;
  name: string;
  url: string;
  clients: number;
  threads: number;
  warmupSeconds: number;
  durationSeconds: number;
  variables: Record<string, string | number>;
  workDir: string;
}

/**
 * pgbench -M prepared with bench/sql/transfer.sql. pgbench has no warm-up, so it runs for
 * warm-up + duration with a per-transaction log (-l), and only transactions that completed
 * inside the measured window count.
 */
export async function runPgbench(opts: PgbenchOptions): Promise<Measurement> {
  const bar = new ProgressBar(opts.label);
  const logDir = fs.mkdtempSync(path.join(opts.workDir, `${opts.name}-`));
  const prefix = path.join(logDir, "log");
  const totalSeconds = Math.ceil(opts.warmupSeconds + opts.durationSeconds);
  const args = [
    "-n", "-M", "prepared", "-c", String(opts.clients), "-j", String(opts.threads), "-T", String(totalSeconds),
    "--max-tries=10", "--failures-detailed", "-l", `--log-prefix=${prefix}`,
    "-f", path.join(ROOT, "bench", "sql", "transfer.sql"),
    ...Object.entries(opts.variables).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
    opts.url,
  ];
  const started = Date.now();
  const timer = setInterval(() => bar.update((Date.now() - started) / (totalSeconds * 1000), "pgbench running"), 200);
  try {
    const { code, stdout, stderr } = await spawnCollect(process.env.BANK_BENCH_PGBENCH ?? "pgbench", args);
    const output = stdout + stderr;
    if (code !== 0) throw new Error(`pgbench exited with code ${code}:\n${output.split("\n").slice(-15).join("\n")}`);
    const measurement = readPgbenchLogs(opts, logDir, output);
    bar.done(describe(measurement));
    return measurement;
  } finally {
    clearInterval(timer);
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

function readPgbenchLogs(opts: PgbenchOptions, logDir: string, output: string): Measurement {
  // Log lines: client_id transaction_no time script_no time_epoch time_us [schedule_lag] retries;
  // `time` (µs) is "failed", "serialization" or "deadlock" for a transaction that failed.
  const done: { endUs: number; latencyUs: number }[] = [];
  const failures: { endUs: number; kind: string }[] = [];
  for (const file of fs.readdirSync(logDir)) {
    for (const line of fs.readFileSync(path.join(logDir, file), "utf8").split("\n")) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 6) continue;
      const endUs = Number(cols[4]) * 1e6 + Number(cols[5]);
      if (/^\d+$/.test(cols[2]!)) done.push({ endUs, latencyUs: Number(cols[2]) });
      else failures.push({ endUs, kind: cols[2]! });
    }
  }
  let startUs = Infinity;
  for (const d of done) startUs = Math.min(startUs, d.endUs - d.latencyUs);
  for (const f of failures) startUs = Math.min(startUs, f.endUs);
  const windowStart = startUs + opts.warmupSeconds * 1e6;
  const windowEnd = windowStart + opts.durationSeconds * 1e6;
  const inWindow = done.filter((d) => d.endUs >= windowStart && d.endUs <= windowEnd);
  const errors: Record<string, number> = {};
  for (const f of failures) if (f.endUs >= windowStart && f.endUs <= windowEnd) errors[f.kind] = (errors[f.kind] ?? 0) + 1;
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1];
  return {
    name: opts.name,
    ops: inWindow.length,
    opsTotal: done.length,
    errors,
    seconds: opts.durationSeconds,
    opsPerSecond: round(inWindow.length / opts.durationSeconds, 1),
    latencyMs: summarize(inWindow.map((d) => d.latencyUs / 1000)),
    concurrency: opts.clients,
    generator: `pgbench -M prepared -c ${opts.clients} -j ${opts.threads}`,
    note: `pgbench -M prepared -c ${opts.clients} -j ${opts.threads}; pgbench's own tps over the whole run ${tps ?? "?"}`,
  };
}
