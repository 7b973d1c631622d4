// `npm run bench -- [--db postgres|sqlite|all] [--workload NAME|all] [--duration S]
//                    [--concurrency N] [--quick] [--profile]`
//
// For each engine: a fresh database, bankd started from dist/ as its own process (logs at warn),
// seeded through its API, then each workload beside its baseline measured in the same run (the
// machine is shared and noisy, so every figure is read as a ratio), the ledger checked by SQL
// after every step (a broken ledger fails the run), and the report printed and written to
// bench/results/ (JSON + SVG). See docs/performance.md.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { limits } from "../src/limits";
import { parseArgs, UsageError, type BenchOptions, type Engine, type Workload } from "./args";
import { checkLedger } from "./ledger-check";
import { runChildJob, runPgbench, stopLoadGenerator } from "./jobs";
import { log, ProgressBar } from "./progress";
import { renderSummary, summarizeProfile } from "./profile-summary";
import { explainHotPaths } from "./explain";
import { baselineOf, compare, evaluateTargets, renderSvg, renderTable, renderTargets, type Comparison, type EngineResult, type RunReport } from "./report";
import { seed, writeFixture, type Fixture } from "./seed";
import { CpuSampler, postgresBackendsOf } from "./cpu";
import { ROOT, startBankd, tail, type BankdProcess } from "./server";
import { connect, createBenchDatabase, type BenchDatabase, type SqlClient } from "./sql-client";
import type { Measurement } from "./stats";

const RESULTS = path.join(ROOT, "bench", "results");

class LedgerBroken extends Error {}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-").replace(/Z$/, "");
  const runDir = path.join(RESULTS, stamp);
  fs.mkdirSync(runDir, { recursive: true });
  log(`bankd bench: ${opts.engines.join(" + ")}, workloads ${opts.workloads.join(", ")}, ${opts.durationSeconds} s each (+${opts.warmupSeconds} s warm-up), concurrency ${opts.concurrency} over ${opts.connections} connections; logs in ${path.relative(ROOT, runDir)}`);

  const report: RunReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: "",
    machine: machine(),
    options: { ...opts, postgresAdminUrl: redact(opts.postgresAdminUrl) },
    limits: { dbPoolMax: limits.dbPoolMax, argon2ConcurrencyMax: limits.argon2ConcurrencyMax },
    engines: [],
  };
  let failed = false;
  for (const engine of opts.engines) {
    try {
      report.engines.push(await benchEngine(engine, opts, runDir));
    } catch (err) {
      failed = true;
      log(`\n${engine}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
      if (err instanceof LedgerBroken) break;
    }
  }
  stopLoadGenerator();
  report.finishedAt = new Date().toISOString();
  const json = path.join(RESULTS, `bench-${stamp}.json`);
  const svg = path.join(RESULTS, `bench-${stamp}.svg`);
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(svg, renderSvg(report));
  fs.copyFileSync(json, path.join(RESULTS, "latest.json"));
  fs.copyFileSync(svg, path.join(RESULTS, "latest.svg"));
  console.log(renderTable(report));
  console.log(`\ntargets (issue 7; the PostgreSQL ones are the product's):\n${renderTargets(report)}`);
  console.log(`\n${path.relative(ROOT, json)}, ${path.relative(ROOT, svg)} (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)`);
  return failed ? 1 : 0;
}

async function benchEngine(engine: Engine, opts: BenchOptions, runDir: string): Promise<EngineResult> {
  log(`\n== ${engine}`);
  const database = await createBenchDatabase(engine, opts.postgresAdminUrl);
  let server: BankdProcess | undefined;
  let sql: SqlClient | undefined;
  const logFile = path.join(runDir, `bankd-${engine}.log`);
  try {
    server = await startBankd({ databaseUrl: database.url, dataDir: database.dataDir, logFile, profile: opts.profile });
    sql = await connect(engine, database.url);
    const databaseVersion = await versionOf(sql);
    const seedStarted = Date.now();
    const fixture = await seedWithProgress(server.baseUrl, opts, sql);
    const seedSeconds = (Date.now() - seedStarted) / 1000;
    // The fixture holds the bench users' passwords and tokens: it lives in the temporary data
    // directory and goes with it.
    const fixtureFile = path.join(database.dataDir, "fixture.json");
    writeFixture(fixtureFile, fixture);
    if (engine === "postgres") await preparePgbench(sql, fixture);

    const ledgerChecks: EngineResult["ledgerChecks"] = [];
    const check = async (after: string) => {
      const result = await checkLedger(sql!);
      ledgerChecks.push({ after, ...result });
      if (!result.ok) throw new LedgerBroken(`LEDGER BROKEN after ${after}:\n  ${result.problems.join("\n  ")}`);
    };
    await check("seed");
    await settle(sql, engine);
    // Fresh planner statistics for the seeded tables, taken after the sealer has sealed the
    // seeding's audit events: statistics taken while every event is unsealed make the planner
    // scan the whole audit_events table for the sealer's `WHERE seq IS NULL` queries. (Left to
    // itself, autovacuum would analyze within a minute or so, at an arbitrary moment.)
    if (engine === "postgres") await sql.exec("ANALYZE");

    const ctx: StepContext = { engine, opts, database, server, fixtureFile, fixture, runDir, sql, check, baselines: new Map(), profiles: [] };
    const comparisons: Comparison[] = [];
    for (const workload of opts.workloads) {
      const baselineName = baselineOf(workload, engine);
      const baseline = opts.baselines ? await baselineFor(ctx, baselineName) : undefined;
      const bankd = await measureWorkload(ctx, workload);
      comparisons.push(compare(workload, bankd, baseline, baselineName));
    }
    if (opts.profile && engine === "postgres") {
      const file = path.join(runDir, "explain-postgres.txt");
      fs.writeFileSync(file, `${await explainHotPaths(sql, fixture)}\n`);
      ctx.profiles.push(path.relative(ROOT, file));
    }
    const serverExitCode = await server.stop();
    if (serverExitCode !== 0) log(`${engine}: bankd exited with code ${serverExitCode}; see ${logFile}:\n${tail(logFile)}`);
    await check("server shutdown");
    return {
      engine,
      databaseVersion,
      seed: { users: opts.users, accounts: opts.accounts, seconds: seedSeconds },
      comparisons,
      baselines: [...ctx.baselines.values()],
      targets: evaluateTargets(comparisons, opts.concurrency),
      ledgerChecks,
      profiles: ctx.profiles,
      serverExitCode,
    };
  } finally {
    await server?.stop().catch(() => undefined);
    await sql?.close().catch(() => undefined);
    await database.drop().catch((err: unknown) => log(`${engine}: could not drop the bench database: ${String(err)}`));
  }
}

interface StepContext {
  engine: Engine;
  opts: BenchOptions;
  database: BenchDatabase;
  server: BankdProcess;
  fixtureFile: string;
  fixture: Fixture;
  runDir: string;
  sql: SqlClient;
  check: (after: string) => Promise<void>;
  /** Baselines measured so far in this engine's run (each once). */
  baselines: Map<string, Measurement>;
  profiles: string[];
}

async function measureWorkload(ctx: StepContext, workload: Workload): Promise<Measurement> {
  const { opts } = ctx;
  await settle(ctx.sql, ctx.engine);
  await ctx.server.startProfile();
  const m = await withCpu(ctx, () => runChildJob(`${ctx.engine} ${workload}`, {
    type: "load", fixtureFile: ctx.fixtureFile, workload, concurrency: opts.concurrency, connections: opts.connections,
    warmupMs: opts.warmupSeconds * 1000, durationMs: opts.durationSeconds * 1000,
  }));
  if (opts.profile) {
    const file = path.join(ctx.runDir, `bankd-${ctx.engine}-${workload}.cpuprofile`);
    await ctx.server.stopProfile(file);
    const summary = `${file.replace(/\.cpuprofile$/, "")}.txt`;
    fs.writeFileSync(summary, `${renderSummary(summarizeProfile(JSON.parse(fs.readFileSync(file, "utf8"))))}\n`);
    ctx.profiles.push(path.relative(ROOT, file), path.relative(ROOT, summary));
  }
  await ctx.check(workload);
  return m;
}

/** Runs a measurement while following the CPU time of the bankd server, the PostgreSQL
 * backends of the bench database and the client (load generator or pgbench), and adds each per
 * operation to the measurement. */
async function withCpu(ctx: StepContext, run: () => Promise<Measurement>): Promise<Measurement> {
  const serverPid = ctx.server.child.pid;
  const dbName = ctx.engine === "postgres" ? new URL(ctx.database.url).pathname.slice(1) : "";
  const samplers = {
    server: new CpuSampler((_cmd, pid) => pid === serverPid),
    db: new CpuSampler(dbName ? postgresBackendsOf(dbName) : () => false),
    client: new CpuSampler((cmd) => cmd.includes(path.join("dist", "bench", "child.js")) || (dbName !== "" && /^\S*pgbench /.test(cmd) && cmd.includes(dbName))),
  };
  for (const s of Object.values(samplers)) s.start();
  let m: Measurement;
  try {
    m = await run();
  } catch (err) {
    for (const s of Object.values(samplers)) s.stop();
    throw err;
  }
  const per = (ms: number) => (m.opsTotal && ms > 0 ? Math.round((ms / m.opsTotal) * 1000) / 1000 : undefined);
  const server = per(samplers.server.stop());
  const db = per(samplers.db.stop());
  const client = per(samplers.client.stop());
  m.cpuMsPerOp = { ...(server !== undefined ? { server } : {}), ...(db !== undefined ? { db } : {}), ...(client !== undefined ? { client } : {}) };
  return m;
}

async function baselineFor(ctx: StepContext, name: string): Promise<Measurement> {
  const known = ctx.baselines.get(name);
  if (known) return known;
  const { opts } = ctx;
  const timing = { warmupMs: opts.warmupSeconds * 1000, durationMs: opts.durationSeconds * 1000 };
  const label = `${ctx.engine} (baseline) ${name}`;
  let m: Measurement;
  if (name === "empty-rpc") {
    m = await withCpu(ctx, () => runChildJob(label, { type: "load", fixtureFile: ctx.fixtureFile, workload: "empty", concurrency: opts.concurrency, connections: opts.connections, ...timing }));
    m.name = name;
  } else if (name === "argon2") {
    m = await withCpu(ctx, () => runChildJob(label, { type: "argon2", concurrency: limits.argon2ConcurrencyMax, memoryCostKib: 19456, timeCost: 2, parallelism: 1, ...timing }));
  } else if (name.startsWith("pgbench-")) {
    m = await withCpu(ctx, () => runPgbench({
      label, name, url: ctx.database.url, clients: limits.dbPoolMax, threads: Math.min(os.cpus().length, limits.dbPoolMax),
      warmupSeconds: opts.warmupSeconds, durationSeconds: opts.durationSeconds, workDir: ctx.runDir,
      variables: { naccounts: ctx.fixture.accounts.length, hot: name === "pgbench-hot" ? 1 : 0, caller: ctx.fixture.users[0]!.id },
    }));
    await ctx.check(name);
  } else {
    m = await withCpu(ctx, () => runChildJob(label, { type: "sqlite-transfer", file: ctx.database.url.replace(/^sqlite:/, ""), fixtureFile: ctx.fixtureFile, hot: name === "sqlite-hot", ...timing }));
    await ctx.check(name);
  }
  ctx.baselines.set(name, m);
  return m;
}

/**
 * Waits until bankd's background audit sealer has sealed every committed event, so that the
 * sealing of one step's events does not run during the next step's measurement. Within a step
 * the sealer runs as in production (every auditSealIntervalMs), so its cost stays in the
 * figures of the writes that cause it.
 */
async function settle(sql: SqlClient, engine: Engine): Promise<void> {
  const deadline = Date.now() + 120_000;
  const bar = new ProgressBar(`${engine} audit sealer catching up`);
  let first: number | undefined;
  for (;;) {
    const [row] = await sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM audit_events WHERE seq IS NULL");
    const n = Number(row?.n ?? 0);
    first ??= n;
    if (n === 0) break;
    if (Date.now() > deadline) {
      log(`${engine}: ${n} audit events still unsealed after 120 s; measuring anyway`);
      break;
    }
    bar.update(1 - n / Math.max(1, first), `${n} unsealed`);
    await new Promise((r) => setTimeout(r, 250));
  }
  if (first !== undefined && first > 0) bar.done(`${first} events sealed`);
}

async function seedWithProgress(baseUrl: string, opts: BenchOptions, sql: SqlClient): Promise<Fixture> {
  const bar = new ProgressBar(`seed (${opts.seed})`);
  const started = Date.now();
  const fixture = await seed({
    baseUrl, users: opts.users, accounts: opts.accounts, concurrency: opts.concurrency, connections: opts.connections, mode: opts.seed, sql,
    onProgress: (done, total, phase) => bar.update(done / total, `${phase} ${done}/${total}`),
  });
  bar.done(`${opts.users} customers + house, ${opts.accounts} funded accounts in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return fixture;
}

/** The pgbench helper table: account number n -> id; n = 0 is the house account. */
async function preparePgbench(sql: SqlClient, fixture: Fixture): Promise<void> {
  await sql.exec("CREATE TABLE bench_accounts (n INTEGER PRIMARY KEY, id TEXT NOT NULL)");
  const ids = [fixture.house.accountId, ...fixture.accounts.map((a) => a.id)];
  await sql.all("INSERT INTO bench_accounts (n, id) SELECT * FROM unnest(?::int[], ?::text[])", [ids.map((_, i) => i), ids]);
}

async function versionOf(sql: SqlClient): Promise<string> {
  const [row] = await sql.all<{ v: string }>(sql.engine === "postgres" ? "SELECT version() AS v" : "SELECT 'SQLite ' || sqlite_version() AS v");
  return row?.v ?? "unknown";
}

function machine(): Record<string, string | number> {
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    cpus: os.cpus().length,
    nproc: sh("nproc", []),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memory: sh("free", ["-h"]).split("\n")[1]?.replace(/\s+/g, " ") ?? "unknown",
    loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(" "),
    node: process.version,
    pgbench: sh(process.env.BANK_BENCH_PGBENCH ?? "pgbench", ["--version"]),
    platform: `${os.platform()} ${os.release()}`,
  };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}

// Workers and open HTTP/2 sessions would keep the process alive: exit explicitly.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("bench: fatal:", err);
    process.exit(1);
  },
);

