// The report: each workload beside its same-run baseline as a ratio, the targets of issue 7 as met
// or not, one table on stdout, and the same data as JSON and as a hand-written SVG chart.
import type { Engine, Workload } from "./args";
import type { LedgerReport } from "./ledger-check";
import { errorCount, round, type Measurement } from "./stats";

/** Which baseline each workload is read against, per engine. Statement and mixed have no
 * baseline of their own; the empty RPC (the stack's ceiling) is shown for scale. */
export function baselineOf(workload: Workload, engine: Engine): string {
  const transfer = engine === "postgres" ? "pgbench" : "sqlite";
  switch (workload) {
    case "transfer-uniform":
      return `${transfer}-uniform`;
    case "transfer-hot":
      return `${transfer}-hot`;
    case "login":
      return "argon2";
    default:
      return "empty-rpc";
  }
}

/** Issue 7's first targets: minimum ratio to the baseline. */
const RATIO_TARGETS: Partial<Record<Workload, number>> = { "transfer-uniform": 0.5, "transfer-hot": 0.5, login: 0.9, read: 0.5 };
export const TRANSFER_P99_TARGET_MS = 50;
export const TRANSFER_P99_TARGET_CONCURRENCY = 32;

export interface Comparison {
  workload: Workload;
  bankd: Measurement;
  baselineName: string;
  baseline?: Measurement;
  ratio?: number;
  /** Baseline CPU per operation / bankd CPU per operation (server + database + client): the
   * ratio to expect when the machine's CPU is the bottleneck. */
  cpuRatio?: number;
}

export interface Target {
  name: string;
  /** "met", "not met", or "n/a" with the reason. */
  status: "met" | "not met" | "n/a";
  detail: string;
}

export interface EngineResult {
  engine: Engine;
  databaseVersion: string;
  seed: { users: number; accounts: number; seconds: number };
  comparisons: Comparison[];
  baselines: Measurement[];
  targets: Target[];
  ledgerChecks: ({ after: string } & LedgerReport)[];
  profiles: string[];
  serverExitCode: number | null;
}

export interface RunReport {
  startedAt: string;
  finishedAt: string;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  limits: { dbPoolMax: number; argon2ConcurrencyMax: number };
  engines: EngineResult[];
}

export function compare(workload: Workload, bankd: Measurement, baseline: Measurement | undefined, baselineName: string): Comparison {
  const ratio = baseline && baseline.opsPerSecond > 0 ? round(bankd.opsPerSecond / baseline.opsPerSecond, 3) : undefined;
  const cpu = (m: Measurement | undefined) => (m?.cpuMsPerOp ? (m.cpuMsPerOp.server ?? 0) + (m.cpuMsPerOp.db ?? 0) + (m.cpuMsPerOp.client ?? 0) : 0);
  const cpuRatio = cpu(baseline) > 0 && cpu(bankd) > 0 ? round(cpu(baseline) / cpu(bankd), 3) : undefined;
  return { workload, bankd, baselineName, baseline, ...(ratio !== undefined ? { ratio } : {}), ...(cpuRatio !== undefined ? { cpuRatio } : {}) };
}

export function evaluateTargets(comparisons: Comparison[], concurrency: number): Target[] {
  const targets: Target[] = [];
  for (const [workload, min] of Object.entries(RATIO_TARGETS) as [Workload, number][]) {
    const c = comparisons.find((x) => x.workload === workload);
    const name = `${workload} >= ${min} x ${c?.baselineName ?? "baseline"}`;
    if (!c || c.ratio === undefined) targets.push({ name, status: "n/a", detail: c ? "no baseline measured" : "workload not run" });
    else targets.push({ name, status: healthy(c) && c.ratio >= min ? "met" : "not met", detail: `ratio ${c.ratio.toFixed(3)}${healthy(c) ? "" : ` with ${errorCount(c.bankd)} errors`}` });
  }
  const transfer = comparisons.find((x) => x.workload === "transfer-uniform");
  const name = `transfer-uniform p99 <= ${TRANSFER_P99_TARGET_MS} ms at concurrency ${TRANSFER_P99_TARGET_CONCURRENCY}`;
  if (!transfer) targets.push({ name, status: "n/a", detail: "workload not run" });
  else if (concurrency !== TRANSFER_P99_TARGET_CONCURRENCY) targets.push({ name, status: "n/a", detail: `run at concurrency ${concurrency}` });
  else targets.push({ name, status: healthy(transfer) && transfer.bankd.latencyMs.p99 <= TRANSFER_P99_TARGET_MS ? "met" : "not met", detail: `p99 ${transfer.bankd.latencyMs.p99} ms` });
  return targets;
}

/** A workload with more than 1% failed calls does not meet a target, however fast. */
function healthy(c: Comparison): boolean {
  return errorCount(c.bankd) <= c.bankd.ops * 0.01;
}

function targetCell(c: Comparison, targets: Target[]): string {
  const mine = targets.filter((t) => t.name.startsWith(`${c.workload} `));
  return mine.map((t) => `${t.name.replace(`${c.workload} `, "").replace(/ x \S+$/, "").replace(/ at concurrency \d+/, "")} ${t.status}`).join("; ");
}

/** One table for all engines: workloads with their baseline and ratio, then the baselines. */
export function renderTable(report: RunReport): string {
  const header = ["engine", "workload", "ops/s", "p50 ms", "p95 ms", "p99 ms", "errors", "cpu ms/op srv+db+cli", "baseline", "base ops/s", "ratio", "target"];
  const part = (v: number | undefined) => (v === undefined ? "-" : fmt(v));
  const cpu = (m: Measurement) => (m.cpuMsPerOp ? `${part(m.cpuMsPerOp.server)}+${part(m.cpuMsPerOp.db)}+${part(m.cpuMsPerOp.client)}` : "");
  const rows: string[][] = [];
  for (const e of report.engines) {
    for (const c of e.comparisons) {
      const m = c.bankd;
      rows.push([e.engine, c.workload, fmt(m.opsPerSecond), fmt(m.latencyMs.p50), fmt(m.latencyMs.p95), fmt(m.latencyMs.p99), String(errorCount(m)), cpu(m),
        c.baselineName, c.baseline ? fmt(c.baseline.opsPerSecond) : "n/a", c.ratio !== undefined ? c.ratio.toFixed(2) : "n/a", targetCell(c, e.targets)]);
    }
    for (const b of e.baselines) {
      rows.push([e.engine, `(baseline) ${b.name}`, fmt(b.opsPerSecond), fmt(b.latencyMs.p50), fmt(b.latencyMs.p95), fmt(b.latencyMs.p99), String(errorCount(b)), cpu(b), "", "", "", ""]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = (i: number) => (i >= 2 && i <= 7) || i === 9 || i === 10;
  const line = (cells: string[]) => `| ${cells.map((c, i) => (numeric(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  return [line(header), `|${widths.map((w, i) => (numeric(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`, ...rows.map(line)].join("\n");
}

export function renderTargets(report: RunReport): string {
  const lines: string[] = [];
  for (const e of report.engines) {
    for (const t of e.targets) lines.push(`${e.engine.padEnd(8)} ${t.status.padEnd(7)} ${t.name} (${t.detail})`);
  }
  return lines.join("\n");
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
    parts.push(panel(e, "throughput (ops/s, log scale; ratio to the baseline)", (m) => m.opsPerSecond, 20, y + 30, true));
    parts.push(panel(e, `p99 latency (ms, log scale; dashed: the ${TRANSFER_P99_TARGET_MS} ms transfer target)`, (m) => m.latencyMs.p99, 20 + LABEL_WIDTH + PANEL_WIDTH + 40, y + 30, false, TRANSFER_P99_TARGET_MS));
    y += h;
  }
  const legend = `<rect x="20" y="${y}" width="12" height="12" class="bankd"/><text x="38" y="${y + 11}">bankd</text>` +
    `<rect x="100" y="${y}" width="12" height="12" class="base"/><text x="118" y="${y + 11}">same-run baseline (pgbench / SQLite SQL, raw argon2, empty RPC)</text>`;
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
