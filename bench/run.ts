// `npm run bench -- [--db postgres|sqlite|all] [--workload NAME|all] [--duration S]
//                    [--concurrency N] [--baseline-ref REF] [--quick] [--profile]`
//
// For each engine: a fresh database, bankd started from dist/ as its own process (logs at warn),
// seeded, then each workload beside its baseline measured in the same run (the machine is shared
// and noisy, so every figure is read as a ratio). Every call to bankd is wrk's (bench/wrk.ts:
// Connect JSON over HTTP/1.1, a warm-up run, then the measured run); the CPU of the server, the
// database backends and the client is followed around each measurement, bankd's /metrics is
// scraped before and after it (the posting engine's batch sizes), and the ledger is checked by
// SQL after every step (a broken ledger fails the run). After the workloads, the gRPC port's
// empty call and GetBalance are measured with h2load beside a bare @grpc/grpc-js server and the
// main port over gRPC (bench/grpc-port.ts). With --baseline-ref, the previous build's
// server runs beside this one on its own fresh database, and read, statement, login and their
// baselines are measured on it right after this build's, for the ratios' comparison. The report is printed and written to bench/results/ (JSON + SVG). See
// docs/performance.md.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { limits } from "../src/limits";
import { parseArgs, UsageError, PREVIOUS_BUILD_WORKLOADS, type BenchOptions, type Engine, type LoadWorkload, type Workload } from "./args";
import { batchDistribution, describeBatches, scrapeBatchCounters } from "./batch-metrics";
import { checkLedger } from "./ledger-check";
import { childPid, runChildJob, runPgbench, stopLoadGenerator } from "./jobs";
import { log, ProgressBar } from "./progress";
import { renderSummary, summarizeProfile } from "./profile-summary";
import { explainHotPaths } from "./explain";
import { preparePreviousBuild, type PreviousBuild } from "./previous-build";
import {
  baselineOf, compare, evaluateTargets, previousBuildRatios, renderBatches, renderCpuPerTransfer, renderErrors, renderPreviousBuild, renderSvg, renderTable, renderWatch,
  renderTargets, type Comparison, type EngineResult, type PreviousBuildResult, type RunReport,
} from "./report";
import { seed, writeFixture, type Fixture } from "./seed";
import { CpuSampler, parentPid, postgresBackendsOf } from "./cpu";
import { ROOT, startBankd, tail, type BankdProcess } from "./server";
import { connect, createBenchDatabase, type BenchDatabase, type SqlClient } from "./sql-client";
import { enableStatementStats, resetStatementStats, startProfileCluster, writeStatementStats } from "./pg-stat-statements";
import type { PgCluster } from "../test/system/support/pg-cluster";
import { round, type CpuSplit, type Measurement } from "./stats";
import { openWatchers } from "./watch";
import { measureWrk, warmUp, wrkProcessesOf, WRK_THREADS } from "./wrk";
import { measureGrpcPort, renderGrpcPort, type GrpcPortRow } from "./grpc-port";

const RESULTS = path.join(ROOT, "bench", "results");
/** HTTP/2 connections the seeding's API calls (Register, Login, a few reads) spread over. */
const SEED_CONNECTIONS = 4;

class LedgerBroken extends Error {}
class WorkloadBroken extends Error {}

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
  log(`bankd bench: ${opts.engines.join(" + ")}, workloads ${opts.workloads.join(", ")}, ${opts.durationSeconds} s each (after a ${opts.warmupSeconds} s warm-up run), ` +
    `concurrency ${opts.concurrency} (wrk -t ${Math.min(WRK_THREADS, opts.concurrency)} -c ${opts.concurrency}; pgbench -c ${opts.concurrency})` +
    `${opts.workers > 1 ? `, bankd with ${opts.workers} worker processes` : ""}${opts.baselineRef ? `, previous build ${opts.baselineRef}${opts.baselineNode ? ` on ${opts.baselineNode}` : ""}` : ""}; node ${process.version}; load average ${loadAverage()}; logs in ${path.relative(ROOT, runDir)}`);

  const report: RunReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: "",
    machine: machine(),
    options: { ...opts, postgresAdminUrl: redact(opts.postgresAdminUrl) },
    limits: { dbPoolMax: limits.dbPoolMax, argon2ConcurrencyMax: limits.argon2ConcurrencyMax, postingBatchMax: limits.postingBatchMax },
    engines: [],
  };
  let failed = false;
  let previous: PreviousBuild | undefined;
  let profileCluster: PgCluster | undefined;
  try {
    if (opts.profile && opts.engines.includes("postgres")) {
      // pg_stat_statements needs a preloaded library: a cluster of the bench's own for this run.
      profileCluster = await startProfileCluster();
      opts = { ...opts, postgresAdminUrl: profileCluster.url() };
      log(`--profile: PostgreSQL runs on a throwaway cluster with pg_stat_statements (127.0.0.1:${profileCluster.port}, ${profileCluster.dir})`);
    }
    if (opts.baselineRef) previous = await preparePreviousBuild(opts.baselineRef, opts.baselineNode);
    for (const engine of opts.engines) {
      try {
        const result = await benchEngine(engine, opts, runDir, previous);
        report.engines.push(result);
        if (result.broken.length > 0) failed = true;
      } catch (err) {
        failed = true;
        log(`\n${engine}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
        if (err instanceof LedgerBroken) break;
      }
    }
  } finally {
    stopLoadGenerator();
    await previous?.remove();
    await profileCluster?.destroy();
  }
  report.finishedAt = new Date().toISOString();
  report.machine.loadAverageAtEnd = loadAverage();
  const json = path.join(RESULTS, `bench-${stamp}.json`);
  const svg = path.join(RESULTS, `bench-${stamp}.svg`);
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(svg, renderSvg(report));
  fs.copyFileSync(json, path.join(RESULTS, "latest.json"));
  fs.copyFileSync(svg, path.join(RESULTS, "latest.svg"));
  console.log(renderTable(report));
  console.log(`\nCPU per transfer by process (batch-transfer: per transfer; % of one core while measured):\n${renderCpuPerTransfer(report)}`);
  console.log(`\nposting-engine batches (postings per committed batch, from bankd's /metrics):\n${renderBatches(report)}`);
  const watch = renderWatch(report);
  if (watch) console.log(`\nWatchAccount event latency while transfer-uniform runs (issue 19):\n${watch}`);
  const prev = renderPreviousBuild(report);
  if (prev) console.log(`\nratios of this build and the previous build:\n${prev}`);
  const errors = renderErrors(report);
  if (errors) console.log(`\nfailed calls:\n${errors}`);
  for (const e of report.engines) if (e.grpcPort) console.log(`\n${renderGrpcPort(e.engine, e.grpcPort)}`);
  console.log(`\ntargets (issue 24's step now, the long-term goal of issue 12, and issue 24's CPU budget; the PostgreSQL ones are the product's):\n${renderTargets(report)}`);
  for (const e of report.engines) if (e.broken.length > 0) console.log(`${e.engine}: BROKEN workloads (no successful call, or the generator failed): ${e.broken.join(", ")}`);
  console.log(`\nload average: ${report.machine.loadAverage} at the start, ${report.machine.loadAverageAtEnd} at the end`);
  console.log(`${path.relative(ROOT, json)}, ${path.relative(ROOT, svg)} (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)`);
  return failed ? 1 : 0;
}

/** A running bankd on a fresh, seeded database. */
interface Session {
  /** The engine, and the previous build's commit for its session ("postgres-7c88e59"). */
  name: string;
  engine: Engine;
  opts: BenchOptions;
  database: BenchDatabase;
  server: BankdProcess;
  fixture: Fixture;
  runDir: string;
  sql: SqlClient;
  databaseVersion: string;
  seedSeconds: number;
  ledgerChecks: EngineResult["ledgerChecks"];
  check: (after: string) => Promise<void>;
  /** Baselines measured so far in this session (each once). */
  baselines: Map<string, Measurement>;
  profiles: string[];
  /** Stops the server (checks the ledger once more); returns its exit code. */
  stopServer(): Promise<number | null>;
  close(): Promise<void>;
}

async function openSession(engine: Engine, opts: BenchOptions, runDir: string, build: { tag: string; root?: string; node?: string }): Promise<Session> {
  const name = `${engine}${build.tag}`;
  const database = await createBenchDatabase(engine, opts.postgresAdminUrl);
  let server: BankdProcess | undefined;
  let sql: SqlClient | undefined;
  const logFile = path.join(runDir, `bankd-${name}.log`);
  try {
    server = await startBankd({ databaseUrl: database.url, dataDir: database.dataDir, logFile, profile: opts.profile && !build.root, ...(build.root ? { root: build.root } : { workers: opts.workers }), ...(build.node ? { node: build.node } : {}) });
    sql = await connect(engine, database.url);
    const databaseVersion = await versionOf(sql);
    const seedStarted = Date.now();
    const fixture = await seedWithProgress(server.baseUrl, opts, sql, name);
    const seedSeconds = (Date.now() - seedStarted) / 1000;
    // The fixture holds the bench users' passwords and tokens: it lives in the temporary data
    // directory (as do wrk's scripts, made from it) and goes with it.
    writeFixture(path.join(database.dataDir, "fixture.json"), fixture);
    if (engine === "postgres") await preparePgbench(sql, fixture);
    if (engine === "postgres" && opts.profile) await enableStatementStats(sql);
    const ledgerChecks: EngineResult["ledgerChecks"] = [];
    const s: Session = {
      name, engine, opts, database, server, fixture, runDir, sql, databaseVersion, seedSeconds, ledgerChecks, baselines: new Map(), profiles: [],
      check: async (after) => {
        const result = await checkLedger(sql!);
        ledgerChecks.push({ after, ...result });
        if (!result.ok) throw new LedgerBroken(`LEDGER BROKEN (${name}) after ${after}:\n  ${result.problems.join("\n  ")}`);
      },
      stopServer: async () => {
        const code = await server!.stop();
        if (code !== 0) log(`${name}: bankd exited with code ${code}; see ${logFile}:\n${tail(logFile)}`);
        await s.check("server shutdown");
        return code;
      },
      close: async () => {
        await server?.stop().catch(() => undefined);
        await sql?.close().catch(() => undefined);
        await database.drop().catch((err: unknown) => log(`${name}: could not drop the bench database: ${String(err)}`));
      },
    };
    await s.check("seed");
    await settle(sql, name);
    // Fresh planner statistics for the seeded tables, taken after the sealer has sealed the
    // seeding's audit events: statistics taken while every event is unsealed make the planner
    // scan the whole audit_events table for the sealer's `WHERE seq IS NULL` queries. (Left to
    // itself, autovacuum would analyze within a minute or so, at an arbitrary moment.)
    if (engine === "postgres") await sql.exec("ANALYZE");
    return s;
  } catch (err) {
    await server?.stop().catch(() => undefined);
    await sql?.close().catch(() => undefined);
    await database.drop().catch(() => undefined);
    throw err;
  }
}

async function benchEngine(engine: Engine, opts: BenchOptions, runDir: string, previous: PreviousBuild | undefined): Promise<EngineResult> {
  log(`\n== ${engine}${previous ? ` (and the previous build ${previous.ref} = ${previous.commit.slice(0, 12)} on node ${previous.nodeVersion}, interleaved for ${previous.node ? "every workload" : "read, statement and login"})` : ""}`);
  const s = await openSession(engine, opts, runDir, { tag: "" });
  let p: Session | undefined;
  const comparisons: Comparison[] = [];
  const previousMeasurements: Measurement[] = [];
  let previousChecks: EngineResult["ledgerChecks"] = [];
  const broken: string[] = [];
  let grpcPort: GrpcPortRow[] | undefined;
  let serverExitCode: number | null;
  try {
    // The previous build's server runs beside this one while the workloads it is compared on
    // are measured: each of its measurements right after this build's, so that both see the
    // same machine (a shared machine's load moves within minutes).
    if (previous) {
      p = await openSession(engine, opts, runDir, { tag: `-${previous.commit.slice(0, 7)}`, root: previous.root, ...(previous.node ? { node: previous.node } : {}) });
      previousChecks = p.ledgerChecks;
    }
    // The ratio comparison covers read, statement and login; with --baseline-node (the runtime
    // comparison) every workload runs on both builds, each right after this build's.
    const compared = opts.baselineNode ? [...opts.workloads] : opts.workloads.filter((w) => (PREVIOUS_BUILD_WORKLOADS as readonly Workload[]).includes(w));
    for (const workload of opts.workloads) {
      try {
        const baselineName = baselineOf(workload, engine);
        const baseline = opts.baselines ? await baselineFor(s, baselineName) : undefined;
        comparisons.push(compare(workload, await measureWorkload(s, workload), baseline, baselineName));
        if (p && compared.includes(workload)) {
          const theirs = await baselineFor(p, baselineName);
          if (!previousMeasurements.includes(theirs)) previousMeasurements.push(theirs);
          previousMeasurements.push(await measureWorkload(p, workload));
        }
      } catch (err) {
        // A broken ledger ends the run; anything else (no call succeeded, wrk or pgbench failed)
        // breaks this workload only: the others still run, and the run exits 1.
        if (err instanceof LedgerBroken) throw err;
        broken.push(workload);
        log(`${engine} ${workload}: BROKEN: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (p && workload === compared[compared.length - 1]) {
        await p.stopServer();
        await p.close();
        p = undefined;
      }
    }
    // The gRPC port (issue 23), on this build only: the empty call and a read beside the bare
    // grpc-js server, and the main port over gRPC.
    try {
      await quiesce(s);
      const owner = s.fixture.users[s.fixture.accounts[0]!.owner]!;
      grpcPort = await measureGrpcPort(
        { grpcTarget: s.server.grpcTarget, mainTarget: new URL(s.server.baseUrl).host, serverPid: s.server.child.pid!, token: owner.token, accountId: s.fixture.accounts[0]!.id },
        {
          durationSeconds: opts.durationSeconds,
          warmupSeconds: opts.warmupSeconds,
          workDir: s.database.dataDir,
          label: engine,
          // --profile: bankd's measured runs on its gRPC port, one profile each.
          ...(opts.profile ? { profile: { start: () => s.server.startProfile(), stop: (name: string) => writeProfile(s, `grpc-port-${name}`) } } : {}),
        },
      );
    } catch (err) {
      broken.push("grpc-port");
      log(`${engine} grpc-port: BROKEN: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (opts.profile && engine === "postgres") {
      await quiesce(s);
      const file = path.join(runDir, "explain-postgres.txt");
      fs.writeFileSync(file, `${await explainHotPaths(s.sql, s.fixture)}\n`);
      s.profiles.push(path.relative(ROOT, file));
    }
    serverExitCode = await s.stopServer();
  } finally {
    await p?.close();
    await s.close();
  }
  const previousBuild: PreviousBuildResult | undefined = previous
    ? { ref: previous.ref, commit: previous.commit, nodeVersion: previous.nodeVersion, dependencies: previous.dependencies, measurements: previousMeasurements, ratios: previousBuildRatios(comparisons, [...s.baselines.values()], previousMeasurements) }
    : undefined;
  return {
    engine,
    databaseVersion: s.databaseVersion,
    seed: { users: opts.users, accounts: opts.accounts, seconds: s.seedSeconds },
    comparisons,
    baselines: [...s.baselines.values()],
    ...(previousBuild ? { previousBuild } : {}),
    targets: evaluateTargets(engine, comparisons, opts.concurrency, previousBuild),
    ledgerChecks: [...s.ledgerChecks, ...previousChecks.map((x) => ({ ...x, after: `previous build: ${x.after}` }))],
    profiles: s.profiles,
    broken,
    serverExitCode,
    ...(grpcPort ? { grpcPort } : {}),
  };
}

function wrkRun(s: Session, workload: LoadWorkload, name: string, label: string) {
  return { label, workload, name, baseUrl: s.server.baseUrl, fixture: s.fixture, concurrency: s.opts.concurrency, durationSeconds: s.opts.durationSeconds, workDir: s.database.dataDir };
}

/** Warm-up run, then the measured wrk run with CPU followed and /metrics scraped around it. */
async function measureWithWrk(s: Session, workload: LoadWorkload, name: string): Promise<Measurement> {
  const run = wrkRun(s, workload, name, `${s.name} ${name}`);
  await warmUp(run, s.opts.warmupSeconds);
  const before = await scrapeBatchCounters(s.server.baseUrl, s.server.workers);
  const m = await withCpu(s, wrkProcessesOf(s.database.dataDir), () => measureWrk(run));
  const after = await scrapeBatchCounters(s.server.baseUrl, s.server.workers);
  if (before && after) {
    m.batches = batchDistribution(before, after);
    if (m.batches.batches > 0) log(`${"".padEnd(35)}posting batches: ${describeBatches(m.batches)}`);
  }
  if (m.ops === 0) throw new WorkloadBroken(`no call succeeded: ${(m.sampleErrors ?? []).join(" | ").slice(0, 600)}`);
  return m;
}

async function measureWorkload(s: Session, workload: Workload): Promise<Measurement> {
  await quiesce(s);
  await s.server.startProfile();
  const statementStats = s.opts.profile && s.engine === "postgres";
  if (statementStats) await resetStatementStats(s.sql);
  let m: Measurement;
  try {
    if (workload === "watch") {
      // transfer-uniform's load with WatchAccount streams open on bench accounts.
      const watchers = await openWatchers(s.fixture, s.server.baseUrl);
      let measured: Measurement | undefined;
      try {
        measured = await measureWithWrk(s, "transfer-uniform", workload);
      } finally {
        const w = await watchers.stop();
        if (measured) measured.watch = w;
        log(`${"".padEnd(35)}${w.watchers} streams: ${w.events} events, p50 ${w.latencyMs.p50} ms, p99 ${w.latencyMs.p99} ms${w.failed ? `, ${w.failed} failed` : ""}`);
      }
      m = measured;
    } else {
      m = await measureWithWrk(s, workload, workload);
    }
  } finally {
    // (The previous build's server runs without the profiler: stopProfile writes nothing.)
    if (s.opts.profile) await writeProfile(s, workload);
  }
  if (statementStats) {
    const file = path.join(s.runDir, `statements-${s.name}-${workload}.md`);
    const top = await writeStatementStats(s.sql, file, `${s.name} ${workload}`, m.batches?.batches, m.ops);
    log(`${"".padEnd(35)}pg_stat_statements (${path.relative(ROOT, file)}):\n${top}`);
    s.profiles.push(path.relative(ROOT, file));
  }
  await s.check(workload);
  return m;
}

async function writeProfile(s: Session, workload: string): Promise<void> {
  const file = path.join(s.runDir, `bankd-${s.engine}-${workload}.cpuprofile`);
  await s.server.stopProfile(file);
  if (!fs.existsSync(file)) return;
  const summary = `${file.replace(/\.cpuprofile$/, "")}.txt`;
  fs.writeFileSync(summary, `${renderSummary(summarizeProfile(JSON.parse(fs.readFileSync(file, "utf8"))))}\n`);
  s.profiles.push(path.relative(ROOT, file), path.relative(ROOT, summary));
}

/**
 * Runs a measurement while following the CPU time of the bankd server, the PostgreSQL backends of
 * the bench database and the client (wrk, pgbench, or the in-process baseline's process), and
 * adds each per operation (per transfer for BatchTransfer) and as a share of one core.
 */
async function withCpu(s: Session, client: (cmdline: string, pid: number) => boolean, run: () => Promise<Measurement>): Promise<Measurement> {
  const serverPid = s.server.child.pid;
  const dbName = s.engine === "postgres" ? new URL(s.database.url).pathname.slice(1) : "";
  const samplers = {
    // The server process, and its workers (BANK_WORKERS: the primary's children).
    server: new CpuSampler((_cmd, pid) => pid === serverPid || parentPid(pid) === serverPid),
    db: new CpuSampler(dbName ? postgresBackendsOf(dbName) : () => false),
    client: new CpuSampler(client),
  };
  for (const sampler of Object.values(samplers)) sampler.start();
  let m: Measurement;
  try {
    m = await run();
  } catch (err) {
    for (const sampler of Object.values(samplers)) sampler.stop();
    throw err;
  }
  const used = { server: samplers.server.stop(), db: samplers.db.stop(), client: samplers.client.stop() };
  const wallMs = samplers.server.wallMs;
  const split = (divisor: number | undefined, digits: number): CpuSplit | undefined => {
    if (!divisor) return undefined;
    const out: CpuSplit = {};
    for (const [k, ms] of Object.entries(used) as [keyof CpuSplit, number][]) if (ms > 0) out[k] = round(ms / divisor, digits);
    return out;
  };
  m.cpuMsPerOp = split(m.opsTotal, 3);
  if (m.transfers !== undefined) m.cpuMsPerTransfer = split(m.transfers, 4);
  m.cpuSharePercent = split(wallMs / 100, 0);
  return m;
}

async function baselineFor(s: Session, name: string): Promise<Measurement> {
  const known = s.baselines.get(name);
  if (known) return known;
  const { opts } = s;
  const timing = { warmupMs: opts.warmupSeconds * 1000, durationMs: opts.durationSeconds * 1000 };
  const label = `${s.name} (baseline) ${name}`;
  const child = (_cmd: string, pid: number) => pid === childPid();
  let m: Measurement;
  if (name === "empty-rpc") {
    m = await measureWithWrk(s, "empty", name);
  } else if (name === "argon2") {
    m = await withCpu(s, child, () => runChildJob(label, { type: "argon2", concurrency: limits.argon2ConcurrencyMax, memoryCostKib: 19456, timeCost: 2, parallelism: 1, ...timing }));
  } else if (name.startsWith("pgbench-")) {
    const dbName = new URL(s.database.url).pathname.slice(1);
    m = await withCpu(s, (cmd) => /^\S*pgbench /.test(cmd) && cmd.includes(dbName), () => runPgbench({
      label, name, url: s.database.url, clients: opts.concurrency, threads: Math.min(2, opts.concurrency),
      warmupSeconds: opts.warmupSeconds, durationSeconds: opts.durationSeconds, workDir: s.runDir,
      variables: { naccounts: s.fixture.accounts.length, hot: name === "pgbench-hot" ? 1 : 0, caller: s.fixture.users[0]!.id },
    }));
    await s.check(name);
  } else {
    m = await withCpu(s, child, () => runChildJob(label, { type: "sqlite-transfer", file: s.database.url.replace(/^sqlite:/, ""), fixtureFile: path.join(s.database.dataDir, "fixture.json"), hot: name === "sqlite-hot", ...timing }));
    await s.check(name);
  }
  s.baselines.set(name, m);
  return m;
}

/**
 * Waits until the server is idle: the batch that was committing when the last wrk run closed its
 * connections has committed (bankd_posting_batches_total stays put for 300 ms; queued requests
 * of closed calls are dropped by the engine), and the sealer has sealed every event.
 */
async function quiesce(s: Session): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const before = await scrapeBatchCounters(s.server.baseUrl, s.server.workers);
    await new Promise((r) => setTimeout(r, 300));
    const after = await scrapeBatchCounters(s.server.baseUrl, s.server.workers);
    const total = (c: typeof before) => (c ? c.sizeCount + (c.batches.failed ?? 0) : 0);
    if (total(before) === total(after)) break;
    if (Date.now() > deadline) {
      log(`${s.name}: the posting engine is still committing batches after 60 s; measuring anyway`);
      break;
    }
  }
  await settle(s.sql, s.name);
}

/**
 * Waits until bankd's background audit sealer has sealed every committed event, so that the
 * sealing of one step's events does not run during the next step's measurement. Within a step
 * the sealer runs as in production (every auditSealIntervalMs), so its cost stays in the
 * figures of the writes that cause it.
 */
async function settle(sql: SqlClient, name: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  const bar = new ProgressBar(`${name} audit sealer catching up`);
  let first: number | undefined;
  for (;;) {
    const [row] = await sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM audit_events WHERE seq IS NULL");
    const n = Number(row?.n ?? 0);
    first ??= n;
    if (n === 0) break;
    if (Date.now() > deadline) {
      log(`${name}: ${n} audit events still unsealed after 180 s; measuring anyway`);
      break;
    }
    bar.update(1 - n / Math.max(1, first), `${n} unsealed`);
    await new Promise((r) => setTimeout(r, 250));
  }
  if (first !== undefined && first > 0) bar.done(`${first} events sealed`);
}

async function seedWithProgress(baseUrl: string, opts: BenchOptions, sql: SqlClient, name: string): Promise<Fixture> {
  const bar = new ProgressBar(`${name} seed (${opts.seed})`);
  const started = Date.now();
  const fixture = await seed({
    baseUrl, users: opts.users, accounts: opts.accounts, concurrency: opts.concurrency, connections: SEED_CONNECTIONS, mode: opts.seed, sql,
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

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(" ");
}

function machine(): Record<string, string | number> {
  // Output whatever the exit code (`wrk -v` prints its version and exits 1).
  const sh = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return r.error ? "unknown" : `${r.stdout}${r.stderr}`.trim();
  };
  return {
    cpus: os.cpus().length,
    nproc: sh("nproc", []),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memory: sh("free", ["-h"]).split("\n")[1]?.replace(/\s+/g, " ") ?? "unknown",
    loadAverage: loadAverage(),
    node: process.version,
    pgbench: sh(process.env.BANK_BENCH_PGBENCH ?? "pgbench", ["--version"]),
    wrk: sh(process.env.BANK_BENCH_WRK ?? "wrk", ["-v"]).split("\n")[0] ?? "unknown",
    commit: sh("git", ["-C", ROOT, "rev-parse", "HEAD"]),
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
