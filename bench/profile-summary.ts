// Summarizes a V8 .cpuprofile (from `--profile` or `node --cpu-prof`): where the samples fall,
// by self time per function and by area (bankd's src/, each dependency, node internals, GC,
// idle), so a profile can be read without a browser.
//   node dist/bench/profile-summary.js FILE.cpuprofile [--top N]
import * as fs from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of non-idle time per area, descending. */
  areas: { area: string; ms: number; percent: number }[];
  /** Functions by self time, descending. */
  functions: { name: string; where: string; ms: number; percent: number }[];
  /** Inclusive time of bankd's own functions (src/), descending. */
  bankdInclusive: { name: string; where: string; ms: number; percent: number }[];
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const areas = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const inclusive = new Map<string, { name: string; where: string; us: number }>();
  let busyUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    totalUs += us;
    const area = areaOf(node.callFrame);
    if (area === "(idle)") continue;
    busyUs += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = `${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
    const name = node.callFrame.functionName || "(anonymous)";
    const key = `${name} ${where}`;
    const f = functions.get(key) ?? { name, where, us: 0 };
    f.us += us;
    functions.set(key, f);
    // Inclusive time of bankd frames: each sample counts once per distinct src/ frame above it.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      if (!/\/dist\/src\//.test(frame.url)) continue;
      const k = `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const e = inclusive.get(k) ?? { name: frame.functionName || "(anonymous)", where: `${shortUrl(frame.url)}:${frame.lineNumber + 1}`, us: 0 };
      e.us += us;
      inclusive.set(k, e);
    }
  }
  const pct = (us: number) => Math.round((us / Math.max(1, busyUs)) * 1000) / 10;
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    totalMs: ms(totalUs),
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, ms: ms(us), percent: pct(us) })),
    functions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ name: f.name, where: f.where, ms: ms(f.us), percent: pct(f.us) })),
    bankdInclusive: [...inclusive.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ name: f.name, where: f.where, ms: ms(f.us), percent: pct(f.us) })),
  };
}

function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === "(idle)") return "(idle)";
  if (functionName === "(garbage collector)") return "(gc)";
  if (functionName === "(program)" || functionName === "(root)") return "(program: native, not attributed)";
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1]!;
  if (/\/dist\/src\//.test(url)) return "bankd src/";
  if (/\/dist\/gen\//.test(url)) return "bankd gen/";
  if (url.startsWith("node:") || url === "") return "node internals";
  return "other";
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "").replace(/^.*\/dist\//, "dist/");
}

export function renderSummary(s: ProfileSummary): string {
  const lines = [`profile: ${s.totalMs} ms sampled; shares are of non-idle time`, "", "by area:"];
  for (const a of s.areas) lines.push(`  ${a.percent.toFixed(1).padStart(5)}%  ${String(a.ms).padStart(8)} ms  ${a.area}`);
  lines.push("", "by function (self time):");
  for (const f of s.functions) lines.push(`  ${f.percent.toFixed(1).padStart(5)}%  ${String(f.ms).padStart(8)} ms  ${f.name}  ${f.where}`);
  lines.push("", "bankd functions (inclusive time):");
  for (const f of s.bankdInclusive) lines.push(`  ${f.percent.toFixed(1).padStart(5)}%  ${String(f.ms).padStart(8)} ms  ${f.name}  ${f.where}`);
  return lines.join("\n");
}

if (require.main === module) {
  const [file, flag, n] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top N]");
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  console.log(renderSummary(summarizeProfile(profile, flag === "--top" ? Number(n) : 25)));
}
