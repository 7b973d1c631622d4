// The crash scenario, shared by PostgreSQL (two processes, scenario 2) and SQLite (one process,
// scenario 9): the invariant load while one process is SIGKILLed twice at random moments and
// restarted on the same port. Clients retry with the same request_id on UNAVAILABLE or a broken
// connection (on the next process, as behind a balancer). Afterwards: every acknowledged
// transfer is stored exactly once and as acknowledged, every unacknowledged one at most once,
// the totals are unchanged, the ledger is consistent, and the audit chain verifies.
import { Code } from "@connectrpc/connect";
import { setupBank, signInClients } from "./bank-api";
import { checkLedger, startSnapshotReader } from "./invariants";
import { checkOutcomes, runTransferLoad, startBalanceReader } from "./load";
import { openProbe } from "./probe";
import { report, Rng, scenarioSeed, sleep } from "./rng";
import { faultSchedule, LOAD, startProcesses, verifyAudit } from "./scenario";

export interface CrashScenario {
  scenario: string;
  databaseUrl: string;
  dataDir: string;
  /** 2 on PostgreSQL, 1 on SQLite (a single writer). */
  processCount: number;
  kills: number;
}

export async function runCrashScenario(opts: CrashScenario): Promise<void> {
  const seed = scenarioSeed(opts.scenario);
  const rng = new Rng(seed);
  const processes = await startProcesses(opts.processCount, { databaseUrl: opts.databaseUrl, dataDir: opts.dataDir });
  const probe = await openProbe(opts.databaseUrl);
  try {
    const bank = await setupBank(processes[0]!.url, { ...LOAD, label: `s${seed}` });
    const sessions = await signInClients(bank.users, LOAD.clients, (c) => processes[c % processes.length]!.url);
    const endpoints = () => processes.map((p) => p.url);
    const snapshots = startSnapshotReader(probe, { accountIds: bank.accounts.map((a) => a.id), totals: bank.totals });
    const reader = startBalanceReader({ endpoints, sessions: bank.users, accounts: bank.accounts, rng: rng.fork(1_000) });

    const victim = rng.pick(processes);
    const schedule = faultSchedule(rng, LOAD.clients * LOAD.opsPerClient, opts.kills, async (atOp) => {
      const downMs = rng.int(100, 1_000);
      await victim.kill("SIGKILL");
      await sleep(downMs);
      const started = Date.now();
      await victim.start();
      return { atOp, downMs, restartMs: Date.now() - started };
    });
    const load = await runTransferLoad({
      endpoints,
      sessions,
      accounts: bank.accounts,
      opsPerClient: LOAD.opsPerClient,
      rng,
      tag: `s${seed}-t`,
      protocolFor: (c) => (c % 2 === 0 ? "connect" : "grpc"),
      maxAttempts: 120,
      onProgress: schedule.onProgress,
    });
    const kills = await schedule.settled();
    const snap = await snapshots.stop();
    const reads = await reader.stop();
    const outcome = await checkOutcomes(probe, load.ops, `s${seed}-t`);
    const ledger = await checkLedger(probe);
    const audit = await verifyAudit(opts.databaseUrl, opts.dataDir);
    report(opts.scenario, {
      seed,
      operations: load.ops.length,
      ok: outcome.acknowledgedOk,
      failed: outcome.failures,
      unackedApplied: outcome.unackedApplied,
      unackedAbsent: outcome.unackedAbsent,
      retries: load.stats.retries,
      errors: load.stats.errors,
      errorMessages: load.stats.messages,
      kills: kills.length,
      killSchedule: kills,
      victim: victim.name,
      snapshots: snap.snapshots,
      snapshotErrors: snap.errors,
      apiReads: reads.reads,
      loadMs: load.elapsedMs,
    });
    // All checks at once, so that a failing run names every problem.
    const problems: string[] = [];
    if (kills.length !== opts.kills || victim.starts !== opts.kills + 1) problems.push(`${kills.length} kills, ${victim.starts} starts of ${victim.name}`);
    // bankd never answers INTERNAL for a crash: clients saw UNAVAILABLE, ABORTED or a broken
    // connection (retried), and business failures.
    for (const key of Object.keys(load.stats.errors)) if (key.startsWith(Code[Code.Internal]) && !key.endsWith(" client")) problems.push(`bankd answered ${key}: ${load.stats.messages[key]}`);
    problems.push(...snap.violations, ...reads.violations, ...outcome.violations, ...ledger);
    if (audit.code !== 0) problems.push(`verify-audit exited ${audit.code}: ${audit.output}`);
    expect(problems).toEqual([]);
  } finally {
    await probe.close();
    for (const p of processes) await p.stop();
  }
}

