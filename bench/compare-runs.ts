// Runtime or build comparison over several bench runs: `node dist/bench/compare-runs.js
// bench/results/bench-A.json bench/results/bench-B.json ...`, each a run with --baseline-ref
// (and --baseline-node) in which every workload was measured on this build and, right after, on
// the previous one. Per engine and workload it prints each build's rates over the runs, the
// spread of each (max - min), and whether this build is slower than the previous by more than the
// larger of the two spreads (the noise one build shows against itself on this machine).
import * as fs from "node:fs";
import { rateOf, type RunReport } from "./report";

interface Row {
  engine: string;
  workload: string;
  mine: number[];
  theirs: number[];
}

function rowsOf(reports: RunReport[]): Row[] {
  const rows = new Map<string, Row>();
  for (const report of reports) {
    for (const e of report.engines) {
      for (const c of e.comparisons) {
        const theirs = e.previousBuild?.measurements.find((m) => m.name === c.workload);
        if (!theirs) continue;
        const key = `${e.engine} ${c.workload}`;
        const row = rows.get(key) ?? { engine: e.engine, workload: c.workload, mine: [], theirs: [] };
        row.mine.push(rateOf(c.bankd));
        row.theirs.push(rateOf(theirs));
        rows.set(key, row);
      }
    }
  }
  return [...rows.values()];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

export function compareRuns(reports: RunReport[]): { table: string; slower: string[] } {
  const lines = ["| engine | workload | this build, per run (/s) | previous build, per run (/s) | mean this / previous | spread this / previous | slower by more than the spread? |", "|---|---|---|---|--:|---|---|"];
  const slower: string[] = [];
  for (const r of rowsOf(reports)) {
    const gap = mean(r.theirs) - mean(r.mine);
    const noise = Math.max(spread(r.mine), spread(r.theirs));
    const worse = gap > noise;
    if (worse) slower.push(`${r.engine} ${r.workload}`);
    lines.push(`| ${r.engine} | ${r.workload} | ${r.mine.map(fmt).join(", ")} | ${r.theirs.map(fmt).join(", ")} | ${(mean(r.mine) / mean(r.theirs)).toFixed(2)} | ${fmt(spread(r.mine))} / ${fmt(spread(r.theirs))} | ${worse ? `YES (by ${fmt(gap)}/s)` : "no"} |`);
  }
  return { table: lines.join("\n"), slower };
}

if (require.main === module) {
  const files = process.argv.slice(2);
  if (files.length < 2) {
    console.error("usage: node dist/bench/compare-runs.js REPORT.json REPORT.json [...] (bench runs with --baseline-ref)");
    process.exit(2);
  }
  const { table, slower } = compareRuns(files.map((f) => JSON.parse(fs.readFileSync(f, "utf8")) as RunReport));
  console.log(table);
  console.log(slower.length === 0 ? "\nno workload slower than the previous build by more than one build's spread" : `\nslower by more than the spread: ${slower.join(", ")}`);
  process.exit(slower.length === 0 ? 0 : 1);
}
