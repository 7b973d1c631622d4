// The gRPC port's workloads (issue 23): what internal callers do, on BANK_GRPC_PORT, beside the
// bare references measured in the same run (bench/grpc-bare.ts: @grpc/grpc-js, Node's http2 core,
// connect-node's connectNodeAdapter), and the main port over gRPC for comparison. Load from h2load (Debian's nghttp2-client) with fixed bodies:
// -c 4 -m 8 (32 calls in flight), a warm-up run, then the measured run. Server CPU per call is
// read from /proc around the measured run; h2load's own CPU from this process's reaped children
// (/proc/self/stat cutime + cstime), printed beside every figure it drives. h2load counts HTTP
// statuses only (a gRPC error is HTTP 200 too), so each target is first called once with grpc-js
// and must answer OK.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { AccountService } from "../gen/bank/v1/account_service_pb";
import { Health } from "../gen/grpc/health/v1/health_pb";
import { processCpuMs } from "./cpu";
import { log } from "./progress";
import { DIST } from "./server";
import { spawnCollect } from "./spawn";

export const H2LOAD = process.env.BANK_BENCH_H2LOAD ?? "h2load";
const CONNECTIONS = 4;
const STREAMS = 8;

export interface GrpcPortRow {
  name: string;
  callsPerSecond: number;
  calls: number;
  failed: number;
  serverCpuMsPerCall: number;
  h2loadCpuMsPerCall: number;
  /** h2load's CPU in % of one core during the measured run. */
  h2loadCpuSharePercent: number;
  /** serverCpuMsPerCall over the bare grpc-js server's (the mean of its two runs). */
  ratioToBare?: number;
}

export interface GrpcPortTargets {
  /** bankd's gRPC port, host:port. */
  grpcTarget: string;
  /** bankd's main port, host:port (gRPC over h2c there too). */
  mainTarget: string;
  serverPid: number;
  token: string;
  accountId: string;
}

interface Job {
  name: string;
  target: string;
  pid: number;
  method: string;
  body: Uint8Array;
  token?: string;
}

export interface GrpcPortOptions {
  durationSeconds: number;
  warmupSeconds: number;
  workDir: string;
  label: string;
  /** Profiles bankd during each measured run on its gRPC port (--profile). */
  profile?: { start(): Promise<void>; stop(name: string): Promise<void> };
}

export async function measureGrpcPort(t: GrpcPortTargets, opts: GrpcPortOptions): Promise<GrpcPortRow[]> {
  const bare = await startBare("grpc-js");
  const http2Bare = await startBare("http2");
  const connectBare = await startBare("connect");
  try {
    const health = toBinary(Health.method.check.input, create(Health.method.check.input, { service: "" }));
    const balance = toBinary(AccountService.method.getBalance.input, create(AccountService.method.getBalance.input, { accountId: t.accountId }));
    const jobs: Job[] = [
      { name: "bare grpc-js, empty call", target: bare.target, pid: bare.pid, method: "/grpc.health.v1.Health/Check", body: health },
      { name: "bare http2 handler, fixed bytes", target: http2Bare.target, pid: http2Bare.pid, method: "/grpc.health.v1.Health/Check", body: health },
      { name: "bare connectNodeAdapter, Check", target: connectBare.target, pid: connectBare.pid, method: "/grpc.health.v1.Health/Check", body: health },
      { name: "gRPC port, Health.Check", target: t.grpcTarget, pid: t.serverPid, method: "/grpc.health.v1.Health/Check", body: health },
      { name: "gRPC port, GetBalance", target: t.grpcTarget, pid: t.serverPid, method: "/bank.v1.AccountService/GetBalance", body: balance, token: t.token },
      { name: "main port (gRPC), Health.Check", target: t.mainTarget, pid: t.serverPid, method: "/grpc.health.v1.Health/Check", body: health },
      { name: "main port (gRPC), GetBalance", target: t.mainTarget, pid: t.serverPid, method: "/bank.v1.AccountService/GetBalance", body: balance, token: t.token },
      // The bare reference again, last: the machine is shared, and its floor moves.
      { name: "bare grpc-js, empty call (again)", target: bare.target, pid: bare.pid, method: "/grpc.health.v1.Health/Check", body: health },
    ];
    const rows: GrpcPortRow[] = [];
    for (const job of jobs) {
      await callOnce(job);
      const profiled = opts.profile && job.target === t.grpcTarget ? opts.profile : undefined;
      rows.push(await measure(job, opts, profiled && { start: () => profiled.start(), stop: () => profiled.stop(job.method.slice(job.method.lastIndexOf("/") + 1)) }));
      log(`${opts.label} ${job.name.padEnd(34)} ${describe(rows[rows.length - 1]!)}`);
    }
    const bareRows = rows.filter((r) => r.name.startsWith("bare grpc-js"));
    const floor = bareRows.reduce((sum, r) => sum + r.serverCpuMsPerCall, 0) / bareRows.length;
    for (const row of rows) row.ratioToBare = floor > 0 ? Math.round((row.serverCpuMsPerCall / floor) * 100) / 100 : undefined;
    return rows;
  } finally {
    for (const b of [bare, http2Bare, connectBare]) b.child.kill("SIGTERM");
  }
}

/** The table printed at the end of the run, with the issue's targets. */
export function renderGrpcPort(engine: string, rows: GrpcPortRow[]): string {
  const lines = [
    `gRPC port (${engine}; h2load -c ${CONNECTIONS} -m ${STREAMS}, fixed bodies; server CPU per call from /proc, as a ratio to the bare grpc-js server's empty call in this run):`,
    `  ${"".padEnd(34)} ${"calls/s".padStart(9)} ${"server ms/call".padStart(15)} ${"x bare".padStart(7)}   h2load ms/call (CPU share)`,
  ];
  for (const r of rows) {
    lines.push(`  ${r.name.padEnd(34)} ${String(r.callsPerSecond).padStart(9)} ${r.serverCpuMsPerCall.toFixed(4).padStart(15)} ${(r.ratioToBare?.toFixed(2) ?? "-").padStart(7)}   ${r.h2loadCpuMsPerCall.toFixed(4)} (${r.h2loadCpuSharePercent}%)${r.failed ? `  ${r.failed} FAILED` : ""}`);
  }
  const ratio = (name: string) => rows.find((r) => r.name === name)?.ratioToBare;
  const empty = ratio("gRPC port, Health.Check");
  const read = ratio("gRPC port, GetBalance");
  lines.push(`  targets: empty call <= 2x bare: ${empty === undefined ? "-" : `${empty}x ${empty <= 2 ? "met" : "MISSED"}`}; GetBalance <= 3x bare: ${read === undefined ? "-" : `${read}x ${read <= 3 ? "met" : "MISSED"}`}`);
  return lines.join("\n");
}

function describe(r: GrpcPortRow): string {
  return `${r.callsPerSecond} calls/s, server ${r.serverCpuMsPerCall.toFixed(4)} ms/call, h2load ${r.h2loadCpuMsPerCall.toFixed(4)} ms/call (${r.h2loadCpuSharePercent}% of a core)${r.failed ? `, ${r.failed} failed` : ""}`;
}

async function measure(job: Job, opts: GrpcPortOptions, profile?: { start(): Promise<void>; stop(): Promise<void> }): Promise<GrpcPortRow> {
  const bodyFile = path.join(opts.workDir, `h2load-${job.method.replace(/\W+/g, "-")}.bin`);
  fs.writeFileSync(bodyFile, frame(job.body));
  const args = (seconds: number) => [
    "-D", String(seconds), "-c", String(CONNECTIONS), "-m", String(STREAMS), "-d", bodyFile,
    "-H", "content-type: application/grpc", "-H", "te: trailers",
    ...(job.token ? ["-H", `authorization: Bearer ${job.token}`] : []),
    `http://${job.target}${job.method}`,
  ];
  await h2load(args(opts.warmupSeconds));
  await profile?.start();
  const serverBefore = processCpuMs(job.pid);
  const clientBefore = reapedChildrenCpuMs();
  const started = Date.now();
  const out = await h2load(args(opts.durationSeconds));
  const wallMs = Date.now() - started;
  const serverMs = processCpuMs(job.pid) - serverBefore;
  const clientMs = reapedChildrenCpuMs() - clientBefore;
  await profile?.stop();
  const counts = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(out);
  const rate = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  if (!counts || !rate) throw new Error(`h2load printed no summary for ${job.name}:\n${out.slice(-800)}`);
  const calls = Number(counts[2]);
  const per = (ms: number) => (calls > 0 ? Math.round((ms / calls) * 1e4) / 1e4 : NaN);
  return {
    name: job.name,
    callsPerSecond: Math.round(Number(rate[1])),
    calls,
    failed: Number(counts[3]),
    serverCpuMsPerCall: per(serverMs),
    h2loadCpuMsPerCall: per(clientMs),
    h2loadCpuSharePercent: Math.round((clientMs / wallMs) * 100),
  };
}

async function h2load(args: string[]): Promise<string> {
  const res = await spawnCollect(H2LOAD, args);
  if (res.code !== 0) throw new Error(`h2load exited with ${res.code}: ${res.stderr.slice(-400)}${res.stdout.slice(-400)}`);
  return res.stdout;
}

/** One call with grpc-js: h2load cannot tell a gRPC error (HTTP 200) from an answer. */
async function callOnce(job: Job): Promise<void> {
  const client = new grpc.Client(job.target, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (job.token) md.set("authorization", `Bearer ${job.token}`);
  try {
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(job.method, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(job.body), md, { deadline: Date.now() + 10_000 }, (err) => (err ? reject(new Error(`${job.name}: ${err.code} ${err.details}`)) : resolve())),
    );
  } finally {
    client.close();
  }
}

function frame(message: Uint8Array): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([prefix, Buffer.from(message)]);
}

/** CPU (utime + stime) of this process's children that have exited and been reaped, in ms. */
function reapedChildrenCpuMs(): number {
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

async function startBare(kind: "grpc-js" | "http2" | "connect"): Promise<{ child: ReturnType<typeof spawn>; pid: number; target: string }> {
  const child = spawn(process.execPath, [path.join(DIST, "bench", "grpc-bare.js"), kind], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`the bare ${kind} server exited (${code})`)));
  });
  return { child, pid: child.pid!, target: `127.0.0.1:${port}` };
}
