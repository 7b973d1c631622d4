// The report: each workload beside its same-run baseline as a ratio, the targets of issue 12 as
// met or not, the posting engine's batch sizes, the previous build's ratios (--baseline-ref),
// tables on stdout, and the same data as JSON and as a hand-written SVG chart.
import type { GrpcPortRow } from "./grpc-port";
import type { Engine, Workload } from "./args";
import type { LedgerReport } from "./ledger-check";
import { errorCount, round, type CpuSplit, type Measurement } from "./stats";

/** Which baseline each workload is read against, per engine. Statement, read and mixed are read
 * against the empty RPC (the stack's ceiling). */
export function baselineOf(workload: Workload, engine: Engine): string {
  const transfer = engine === "postgres" ? "pgbench" : "sqlite";
  switch (workload) {
    case "transfer-uniform":
    case "watch":
    case "batch-transfer":
      return `${transfer}-uniform`;
    case "transfer-hot":
      return `${transfer}-hot`;
    case "login":
      return "argon2";
    default:
      return "empty-rpc";
  }
}

/** Minimum ratios to the same-run baseline, per engine: the step issue 24 asks for now, and the
 * long-term goal (issue 12). batch-transfer is read in transfers per second. Issue 24 sets the
 * PostgreSQL single-transfer steps per transport: 0.6x over Connect/HTTP-1.1 (what these workloads
 * use), 0.75x and hot 1.5x on the gRPC port. */
export const RATIO_TARGETS: Record<Engine, Partial<Record<Workload, { step: number; goal: number }>>> = {
  postgres: { "transfer-uniform": { step: 0.6, goal: 1.0 }, "transfer-hot": { step: 1.5, goal: 2.0 }, "batch-transfer": { step: 3.0, goal: 5.0 } },
  sqlite: { "transfer-uniform": { step: 2.0, goal: 2.0 }, "transfer-hot": { step: 2.0, goal: 2.0 } },
};
/** Issue 24's CPU budget on PostgreSQL, as shares of pgbench's whole CPU per transfer (database,
 * client and server together) in the same run: a single transfer's server and database CPU each,
 * and a BatchTransfer item's server + database CPU. */
export const CPU_BUDGET = { transferServer: 1.0, transferDatabase: 0.75, batchServerAndDatabase: 0.25 };
export const TRANSFER_P99_TARGET_MS = 50;
export const TRANSFER_P99_TARGET_CONCURRENCY = 32;
/** login, read and statement keep at least this share of the previous build's ratio. */
export const PREVIOUS_BUILD_MIN_RELATIVE = 0.9;
/** More failed calls (or BatchTransfer items) than this share: no target is met. */
const ERROR_SHARE_MAX = 0.01;

export interface Comparison {
  workload: Workload;
  bankd: Measurement;
  baselineName: string;
  baseline?: Measurement;
  /** bankd's rate (transfers/s for batch-transfer) / the baseline's ops/s. */
  ratio?: number;
  /** Baseline CPU per operation / bankd CPU per operation (per transfer for batch-transfer;
   * server + database + client): the ratio to expect when the machine's CPU is the bottleneck. */
  cpuRatio?: number;
}

export interface Target {
  name: string;
  workload: Workload;
  /** "met", "not met", or "n/a" with the reason. */
  status: "met" | "not met" | "n/a";
  detail: string;
}

/** The previous build (--baseline-ref) measured in the same run, and the ratios of both. */
export interface PreviousBuildResult {
  ref: string;
  commit: string;
  /** The node the previous build ran on (process.version form). */
  nodeVersion: string;
  dependencies: string;
  measurements: Measurement[];
  ratios: { workload: Workload; baselineName: string; current?: number; previous?: number; relative?: number }[];
}

export interface EngineResult {
  engine: Engine;
  databaseVersion: string;
  seed: { users: number; accounts: number; seconds: number };
  comparisons: Comparison[];
  baselines: Measurement[];
  previousBuild?: PreviousBuildResult;
  targets: Target[];
  ledgerChecks: ({ after: string } & LedgerReport)[];
  profiles: string[];
  /** Workloads that broke outright (no successful call, or the generator failed). */
  broken: string[];
  serverExitCode: number | null;
  /** The gRPC port's workloads beside the bare grpc-js server (bench/grpc-port.ts). */
  grpcPort?: GrpcPortRow[];
}

export interface RunReport {
  startedAt: string;
  finishedAt: string;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  limits: Record<string, number>;
  engines: EngineResult[];
}

/** The rate a workload is judged by: transfers/s for batch-transfer, ops/s otherwise. */
export function rateOf(m: Measurement): number {
  return m.transfersPerSecond ?? m.opsPerSecond;
}

const cpuTotal = (c: CpuSplit | undefined) => (c ? (c.server ?? 0) + (c.db ?? 0) + (c.client ?? 0) : 0);

export function compare(workload: Workload, bankd: Measurement, baseline: Measurement | undefined, baselineName: string): Comparison {
  const ratio = baseline && baseline.opsPerSecond > 0 ? round(rateOf(bankd) / baseline.opsPerSecond, 3) : undefined;
  const mine = cpuTotal(bankd.cpuMsPerTransfer ?? bankd.cpuMsPerOp);
  const theirs = cpuTotal(baseline?.cpuMsPerOp);
  const cpuRatio = theirs > 0 && mine > 0 ? round(theirs / mine, 3) : undefined;
  return { workload, bankd, baselineName, baseline, ...(ratio !== undefined ? { ratio } : {}), ...(cpuRatio !== undefined ? { cpuRatio } : {}) };
}

/** A measurement with more than 1% failed calls (or failed BatchTransfer items) meets no target. */
export function healthy(m: Measurement): boolean {
  const calls = m.ops + errorCount(m);
  if (errorCount(m) > calls * ERROR_SHARE_MAX) return false;
  const items = (m.transfers ?? 0) + (m.itemErrors ?? 0);
  return (m.itemErrors ?? 0) <= items * ERROR_SHARE_MAX;
}

function errorDetail(m: Measurement): string {
  const calls = errorCount(m);
  const items = m.itemErrors ?? 0;
  return [calls ? `${calls} failed calls` : "", items ? `${items} failed items` : ""].filter(Boolean).join(", ");
}

export function evaluateTargets(engine: Engine, comparisons: Comparison[], concurrency: number, previous: PreviousBuildResult | undefined): Target[] {
  const targets: Target[] = [];
  for (const [workload, { step, goal }] of Object.entries(RATIO_TARGETS[engine]) as [Workload, { step: number; goal: number }][]) {
    const c = comparisons.find((x) => x.workload === workload);
    for (const [kind, min] of (step === goal ? [["step = goal", step]] : [["step", step], ["goal", goal]]) as [string, number][]) {
      const name = `${workload} >= ${min.toFixed(2)} x ${c?.baselineName ?? "baseline"}${workload === "batch-transfer" ? " (transfers/s)" : ""} [${kind}]`;
      if (!c || c.ratio === undefined) targets.push({ name, workload, status: "n/a", detail: c ? "no baseline measured" : "workload not run" });
      else {
        const ok = healthy(c.bankd);
        targets.push({ name, workload, status: ok && c.ratio >= min ? "met" : "not met", detail: `ratio ${c.ratio.toFixed(2)}${ok ? "" : ` with ${errorDetail(c.bankd)}`}` });
      }
    }
  }
  if (engine === "postgres") targets.push(...cpuBudget(comparisons));
  const transfer = comparisons.find((x) => x.workload === "transfer-uniform");
  const p99 = `transfer-uniform p99 <= ${TRANSFER_P99_TARGET_MS} ms at concurrency ${TRANSFER_P99_TARGET_CONCURRENCY}`;
  if (!transfer) targets.push({ name: p99, workload: "transfer-uniform", status: "n/a", detail: "workload not run" });
  else if (concurrency !== TRANSFER_P99_TARGET_CONCURRENCY) targets.push({ name: p99, workload: "transfer-uniform", status: "n/a", detail: `run at concurrency ${concurrency}` });
  else {
    const ok = healthy(transfer.bankd) && transfer.bankd.latencyMs.p99 <= TRANSFER_P99_TARGET_MS;
    targets.push({ name: p99, workload: "transfer-uniform", status: ok ? "met" : "not met", detail: `p99 ${transfer.bankd.latencyMs.p99} ms` });
  }
  for (const workload of ["read", "statement", "login"] as const) {
    const name = `${workload} ratio >= ${PREVIOUS_BUILD_MIN_RELATIVE} x the previous build's`;
    const c = comparisons.find((x) => x.workload === workload);
    const r = previous?.ratios.find((x) => x.workload === workload);
    if (!c) targets.push({ name, workload, status: "n/a", detail: "workload not run" });
    else if (!previous) targets.push({ name, workload, status: "n/a", detail: "no previous build measured (--baseline-ref)" });
    else if (r?.relative === undefined) targets.push({ name, workload, status: "n/a", detail: "a ratio is missing" });
    else {
      // Judged on successful calls per second; failures of the previous build are noted (they
      // lower its ratio, which favours this build), failures of this one fail the target.
      const prev = previous.measurements.find((m) => m.name === workload);
      const ok = healthy(c.bankd);
      const notes = [ok ? "" : `this build: ${errorDetail(c.bankd)}`, prev && !healthy(prev) ? `previous build: ${errorDetail(prev)}` : ""].filter(Boolean).join("; ");
      targets.push({
        name, workload, status: ok && r.relative >= PREVIOUS_BUILD_MIN_RELATIVE ? "met" : "not met",
        detail: `${r.current?.toFixed(3)} vs ${r.previous?.toFixed(3)} x ${r.baselineName} at ${previous.commit.slice(0, 7)}: ${r.relative.toFixed(2)}${notes ? ` (${notes})` : ""}`,
      });
    }
  }
  return targets;
}

/** Issue 24's CPU budget (CPU_BUDGET) against pgbench-uniform's whole CPU per transfer. */
function cpuBudget(comparisons: Comparison[]): Target[] {
  const out: Target[] = [];
  const single = comparisons.find((x) => x.workload === "transfer-uniform");
  const batch = comparisons.find((x) => x.workload === "batch-transfer");
  const reference = cpuTotal((single ?? batch)?.baseline?.cpuMsPerOp);
  const check = (workload: Workload, name: string, mine: number | undefined, share: number) => {
    if (mine === undefined || reference <= 0) {
      out.push({ name, workload, status: "n/a", detail: reference <= 0 ? "pgbench-uniform's CPU not measured" : "workload not run" });
      return;
    }
    out.push({ name, workload, status: mine <= share * reference ? "met" : "not met", detail: `${mine.toFixed(3)} ms vs ${reference.toFixed(3)} ms: ${(mine / reference).toFixed(2)}x` });
  };
  const one = single?.bankd.cpuMsPerTransfer ?? single?.bankd.cpuMsPerOp;
  check("transfer-uniform", `CPU budget: transfer server CPU <= ${CPU_BUDGET.transferServer} x pgbench's whole per transfer`, one?.server, CPU_BUDGET.transferServer);
  check("transfer-uniform", `CPU budget: transfer database CPU <= ${CPU_BUDGET.transferDatabase} x pgbench's whole per transfer`, one?.db, CPU_BUDGET.transferDatabase);
  const item = batch?.bankd.cpuMsPerTransfer;
  check("batch-transfer", `CPU budget: BatchTransfer server + database CPU per item <= ${CPU_BUDGET.batchServerAndDatabase} x pgbench's whole per transfer`,
    item ? (item.server ?? 0) + (item.db ?? 0) : undefined, CPU_BUDGET.batchServerAndDatabase);
  return out;
}

/** read/statement over the empty RPC and login over raw argon2, for both builds. */
export function previousBuildRatios(current: Comparison[], currentBaselines: Measurement[], previous: Measurement[]): PreviousBuildResult["ratios"] {
  const byName = (list: Measurement[], name: string) => list.find((m) => m.name === name);
  return (["read", "statement", "login"] as const).map((workload) => {
    const baselineName = workload === "login" ? "argon2" : "empty-rpc";
    const ratio = (m: Measurement | undefined, base: Measurement | undefined) => (m && base && base.opsPerSecond > 0 ? round(m.opsPerSecond / base.opsPerSecond, 3) : undefined);
    const cur = ratio(current.find((c) => c.workload === workload)?.bankd, byName(currentBaselines, baselineName));
    const prev = ratio(byName(previous, workload), byName(previous, baselineName));
    const relative = cur !== undefined && prev !== undefined && prev > 0 ? round(cur / prev, 3) : undefined;
    return { workload, baselineName, ...(cur !== undefined ? { current: cur } : {}), ...(prev !== undefined ? { previous: prev } : {}), ...(relative !== undefined ? { relative } : {}) };
  });
}

function targetCell(workload: Workload, targets: Target[]): string {
  return targets
    .filter((t) => t.workload === workload && t.status !== "n/a" && !t.name.startsWith("CPU budget"))
    .map((t) => `${t.name.replace(`${workload} `, "").replace(/ x \S+( \(transfers\/s\))?( \[[^\]]+\])?$/, (_m, _t, kind?: string) => (kind ? ` ${kind.trim()}` : "")).replace(/ at concurrency \d+/, "").replace(/ x the previous build's/, " x prev")} ${t.status}`)
    .join("; ");
}

const part = (v: number | undefined) => (v === undefined ? "-" : fmt(v));
const cpuCell = (c: CpuSplit | undefined) => (c ? `${part(c.server)}+${part(c.db)}+${part(c.client)}` : "");
const whole = (v: number | undefined) => (v === undefined ? "-" : String(Math.round(v)));
const shareCell = (c: CpuSplit | undefined) => (c ? `${whole(c.server)}/${whole(c.db)}/${whole(c.client)}` : "");

/** One table for all engines: workloads with their baseline and ratio, then the baselines. */
export function renderTable(report: RunReport): string {
  const header = ["engine", "workload", "ops/s", "transfers/s", "p50 ms", "p99 ms", "errors", "CPU ms/op srv+db+cli", "CPU % srv/db/cli", "baseline", "base ops/s", "ratio", "target"];
  const rows: string[][] = [];
  const errorsCell = (m: Measurement) => `${errorCount(m)}${m.itemErrors ? ` (+${m.itemErrors} items)` : ""}`;
  const transfersCell = (w: string, m: Measurement) => (m.transfersPerSecond !== undefined ? fmt(m.transfersPerSecond) : /transfer|pgbench|sqlite-/.test(w) ? fmt(m.opsPerSecond) : "");
  for (const e of report.engines) {
    for (const c of e.comparisons) {
      const m = c.bankd;
      rows.push([e.engine, c.workload, fmt(m.opsPerSecond), transfersCell(c.workload, m), fmt(m.latencyMs.p50), fmt(m.latencyMs.p99), errorsCell(m),
        cpuCell(m.cpuMsPerOp), shareCell(m.cpuSharePercent), c.baselineName, c.baseline ? fmt(c.baseline.opsPerSecond) : "n/a",
        c.ratio !== undefined ? c.ratio.toFixed(2) : "n/a", targetCell(c.workload, e.targets)]);
    }
    for (const b of e.baselines) {
      rows.push([e.engine, `(baseline) ${b.name}`, fmt(b.opsPerSecond), transfersCell(b.name, b), fmt(b.latencyMs.p50), fmt(b.latencyMs.p99), errorsCell(b), cpuCell(b.cpuMsPerOp), shareCell(b.cpuSharePercent), "", "", "", ""]);
    }
    for (const m of e.previousBuild?.measurements ?? []) {
      rows.push([e.engine, `(${e.previousBuild!.commit.slice(0, 7)}) ${m.name}`, fmt(m.opsPerSecond), "", fmt(m.latencyMs.p50), fmt(m.latencyMs.p99), errorsCell(m), cpuCell(m.cpuMsPerOp), shareCell(m.cpuSharePercent), "", "", "", ""]);
    }
  }
  return table(header, rows, (i) => (i >= 2 && i <= 8) || i === 10 || i === 11);
}

/** CPU per transfer by process (batch-transfer: per successful item). */
export function renderCpuPerTransfer(report: RunReport): string {
  const header = ["engine", "measurement", "server ms", "db ms", "client ms", "total ms", "server %", "db %", "client %"];
  const rows: string[][] = [];
  for (const e of report.engines) {
    const items: Measurement[] = [
      ...e.comparisons.filter((c) => /transfer/.test(c.workload)).map((c) => c.bankd),
      ...e.baselines.filter((b) => /pgbench|sqlite-/.test(b.name)),
    ];
    for (const m of items) {
      const c = m.cpuMsPerTransfer ?? m.cpuMsPerOp;
      if (!c) continue;
      const s = m.cpuSharePercent ?? {};
      rows.push([e.engine, m.name, part(c.server), part(c.db), part(c.client), fmt(cpuTotal(c)), whole(s.server), whole(s.db), whole(s.client)]);
    }
  }
  return table(header, rows, (i) => i >= 2);
}

/** The posting engine's batch sizes per workload (postings per committed batch). */
export function renderBatches(report: RunReport): string {
  const header = ["engine", "workload", "batches", "postings", "mean", "p50 <=", "p90 <=", "max <=", "ms/batch", "batches per size bucket (le: n)"];
  const rows: string[][] = [];
  for (const e of report.engines) {
    for (const c of e.comparisons) {
      const d = c.bankd.batches;
      if (!d || d.batches === 0) continue;
      rows.push([e.engine, c.workload, String(d.batches), String(d.postings), String(d.meanSize), String(d.p50SizeAtMost), String(d.p90SizeAtMost), String(d.maxSizeAtMost),
        String(d.meanBatchMs), Object.entries(d.perBucket).map(([le, n]) => `${le}: ${n}`).join(", ") + (d.failedBatches ? ` (${d.failedBatches} failed)` : "")]);
    }
  }
  return rows.length ? table(header, rows, (i) => i >= 2 && i <= 8) : "(no posting-engine batches recorded)";
}

/** The watch workload beside the same run's transfer-uniform: event latency, and what the
 * streams cost the transfers. */
export function renderWatch(report: RunReport): string {
  const lines: string[] = [];
  for (const e of report.engines) {
    const watched = e.comparisons.find((c) => c.workload === "watch")?.bankd;
    const w = watched?.watch;
    if (!watched || !w) continue;
    const plain = e.comparisons.find((c) => c.workload === "transfer-uniform")?.bankd;
    const cost = plain ? `${(100 * (1 - watched.opsPerSecond / plain.opsPerSecond)).toFixed(1)}% fewer transfers/s than transfer-uniform (${Math.round(watched.opsPerSecond)} vs ${Math.round(plain.opsPerSecond)})` : "transfer-uniform not run: no cost figure";
    lines.push(`${e.engine}: ${w.watchers} streams, ${w.events} events, create-to-delivery p50 ${w.latencyMs.p50} ms, p99 ${w.latencyMs.p99} ms, max ${w.latencyMs.max} ms; ${cost}` +
      (w.failed > 0 ? `; ${w.failed} streams failed: ${w.sampleErrors.join(" | ")}` : ""));
  }
  return lines.join("\n");
}

export function renderPreviousBuild(report: RunReport): string {
  const lines: string[] = [];
  for (const e of report.engines) {
    const p = e.previousBuild;
    if (!p) continue;
    lines.push(`${e.engine}: previous build ${p.ref} = ${p.commit.slice(0, 12)} on node ${p.nodeVersion ?? "?"} (node_modules by ${p.dependencies})`);
    for (const r of p.ratios) {
      lines.push(`  ${r.workload.padEnd(10)} / ${r.baselineName.padEnd(9)} this build ${r.current?.toFixed(3) ?? "n/a"}, previous ${r.previous?.toFixed(3) ?? "n/a"}, relative ${r.relative?.toFixed(2) ?? "n/a"}`);
    }
    // Rates side by side (each previous measurement ran right after this build's).
    for (const c of e.comparisons) {
      const theirs = p.measurements.find((m) => m.name === c.workload);
      if (!theirs) continue;
      const mine = rateOf(c.bankd);
      const prev = rateOf(theirs);
      lines.push(`  ${c.workload.padEnd(16)} this build ${fmt(mine)}/s, previous ${fmt(prev)}/s, this/previous ${prev > 0 ? (mine / prev).toFixed(2) : "n/a"}`);
    }
  }
  return lines.join("\n");
}

export function renderTargets(report: RunReport): string {
  const lines: string[] = [];
  for (const e of report.engines) {
    for (const t of e.targets) lines.push(`${e.engine.padEnd(8)} ${t.status.padEnd(7)} ${t.name} (${t.detail})`);
  }
  return lines.join("\n");
}

/** Failed calls and failed items, with sample answers, so a slow workload is told from a broken one. */
export function renderErrors(report: RunReport): string {
  const lines: string[] = [];
  for (const e of report.engines) {
    const all = [...e.comparisons.map((c) => c.bankd), ...e.baselines, ...(e.previousBuild?.measurements ?? [])];
    for (const m of all) {
      if (errorCount(m) === 0 && !m.itemErrors) continue;
      lines.push(`${e.engine} ${m.name}: ${Object.entries(m.errors).map(([k, n]) => `${k} x${n}`).join(", ")}${m.itemErrors ? ` items x${m.itemErrors}` : ""}`);
      for (const s of m.sampleErrors ?? []) lines.push(`    ${s.replace(/\s+/g, " ").slice(0, 240)}`);
    }
  }
  return lines.join("\n");
}

function table(header: string[], rows: string[][], numeric: (i: number) => boolean): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (numeric(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  return [line(header), `|${widths.map((w, i) => (numeric(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`, ...rows.map(line)].join("\n");
}

function fmt(value: number): string {
  if (value >= 100) return String(Math.round(value));
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

// ---------------------------------------------------------------------------------------------
// SVG: per engine, two panels of horizontal bars on a log scale (throughput and p99), each
// workload's bankd bar beside its baseline's bar, with the values written on the bars.

const PANEL_WIDTH = 440;
const LABEL_WIDTH = 130;
const ROW_HEIGHT = 34;
const BAR_HEIGHT = 12;

export function renderSvg(report: RunReport): string {
  const parts: string[] = [];
  let y = 40;
  const width = 40 + (LABEL_WIDTH + PANEL_WIDTH) * 2 + 140;
  for (const e of report.engines) {
    const h = 50 + e.comparisons.length * ROW_HEIGHT + 30;
    parts.push(`<text x="20" y="${y + 18}" class="title">${escape(e.engine)} (${escape(e.databaseVersion.split(" on ")[0] ?? "")})</text>`);
    parts.push(panel(e, "throughput (ops/s; batch-transfer: transfers/s; log scale; ratio to the baseline)", rateOf, 20, y + 30, true));
    parts.push(panel(e, `p99 latency (ms, log scale; dashed: the ${TRANSFER_P99_TARGET_MS} ms transfer target)`, (m) => m.latencyMs.p99, 20 + LABEL_WIDTH + PANEL_WIDTH + 40, y + 30, false, TRANSFER_P99_TARGET_MS));
    y += h;
  }
  const legend = `<rect x="20" y="${y}" width="12" height="12" class="bankd"/><text x="38" y="${y + 11}">bankd</text>` +
    `<rect x="100" y="${y}" width="12" height="12" class="base"/><text x="118" y="${y + 11}">same-run baseline (pgbench / raw SQLite, raw argon2, empty RPC)</text>`;
  const height = y + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<style>.title{font-size:14px;font-weight:bold}.axis{stroke:#999;stroke-width:0.5}.bankd{fill:#2b6cb0}.base{fill:#a0aec0}.grid{stroke:#e2e8f0;stroke-width:1}.val{fill:#1a202c}</style>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="22" class="title">bankd benchmark ${escape(report.startedAt)} (${escape(String(report.machine.cpus))} CPUs, node ${escape(String(report.machine.node))})</text>`,
    ...parts,
    legend,
    `</svg>`,
  ].join("\n");
}

function panel(e: EngineResult, title: string, value: (m: Measurement) => number, x0: number, y0: number, withRatio: boolean, markAt?: number): string {
  const values = [...e.comparisons.flatMap((c) => [value(c.bankd), c.baseline ? value(c.baseline) : 0]), markAt ?? 0].filter((v) => v > 0);
  const maxExp = Math.ceil(Math.log10(Math.max(10, ...values)));
  const minExp = Math.min(0, Math.floor(Math.log10(Math.min(1, ...values))));
  const scale = (v: number) => (v <= 0 ? 0 : ((Math.log10(v) - minExp) / (maxExp - minExp)) * PANEL_WIDTH);
  const out: string[] = [`<text x="${x0 + LABEL_WIDTH}" y="${y0 + 10}">${escape(title)}</text>`];
  const top = y0 + 20;
  const bottom = top + e.comparisons.length * ROW_HEIGHT;
  for (let k = minExp; k <= maxExp; k++) {
    const x = x0 + LABEL_WIDTH + scale(10 ** k);
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" class="grid"/>`);
    out.push(`<text x="${x}" y="${bottom + 12}" text-anchor="middle">${k >= 3 ? `${10 ** (k - 3)}k` : 10 ** k}</text>`);
  }
  e.comparisons.forEach((c, i) => {
    const y = top + i * ROW_HEIGHT + 4;
    out.push(`<text x="${x0 + LABEL_WIDTH - 6}" y="${y + 15}" text-anchor="end">${escape(c.workload)}</text>`);
    out.push(bar(x0 + LABEL_WIDTH, y, scale(value(c.bankd)), "bankd", value(c.bankd), withRatio && c.ratio !== undefined ? `(${c.ratio.toFixed(2)} x)` : ""));
    if (c.baseline) out.push(bar(x0 + LABEL_WIDTH, y + BAR_HEIGHT + 2, scale(value(c.baseline)), "base", value(c.baseline), c.baselineName));
  });
  out.push(`<line x1="${x0 + LABEL_WIDTH}" y1="${top}" x2="${x0 + LABEL_WIDTH}" y2="${bottom}" class="axis"/>`);
  if (markAt !== undefined) {
    const x = x0 + LABEL_WIDTH + scale(markAt);
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#c53030" stroke-dasharray="4 3"/>`);
  }
  return out.join("\n");
}

function bar(x: number, y: number, w: number, cls: string, v: number, label = ""): string {
  const text = `${v >= 100 ? Math.round(v) : round(v, 1)}${label ? ` ${label}` : ""}`;
  return `<rect x="${x}" y="${y}" width="${Math.max(1, w).toFixed(1)}" height="${BAR_HEIGHT}" class="${cls}"><title>${escape(text)}</title></rect>` +
    `<text x="${(x + Math.max(1, w) + 4).toFixed(1)}" y="${y + 10}" class="val">${escape(text)}</text>`;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
