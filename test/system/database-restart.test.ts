// Goal (issue 6, scenario 3): PostgreSQL restarted in immediate mode (a crash of the database
// server, recovered from its WAL) twice under load, on a throwaway cluster: clients get
// UNAVAILABLE with a generic message (never INTERNAL), both bankd processes reconnect by
// themselves without a restart, and afterwards every acknowledged transfer is stored exactly once,
// the ledger invariants hold and the audit chain verifies.
import { Code } from "@connectrpc/connect";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { BankdProcess } from "./support/bankd-process";
import { api, setupBank, signInClients, viewError } from "./support/bank-api";
import { checkLedger, startSnapshotReader } from "./support/invariants";
import { checkOutcomes, runTransferLoad } from "./support/load";
import { PgCluster } from "./support/pg-cluster";
import { openProbe, type Probe } from "./support/probe";
import { report, Rng, scenarioSeed } from "./support/rng";
import { describeOnPostgres, faultSchedule, leaks, LOAD, MINUTE, startProcesses, tempDir, unexpectedFailures, verifyAudit } from "./support/scenario";

const SCENARIO = "database-restart";

describeOnPostgres("system: database restart under load (throwaway PostgreSQL cluster)", () => {
  let cluster: PgCluster | undefined;
  let processes: BankdProcess[] = [];
  let probe: Probe | undefined;

  afterAll(async () => {
    await probe?.close();
    for (const p of processes) await p.stop();
    await cluster?.destroy();
  }, MINUTE);

  test(
    "two immediate restarts: UNAVAILABLE with a generic message, bankd reconnects, invariants hold",
    async () => {
      const seed = scenarioSeed(SCENARIO);
      const rng = new Rng(seed);
      cluster = await PgCluster.create();
      const databaseUrl = await cluster.createDatabase("bankd_restart");
      const dataDir = tempDir();
      processes = await startProcesses(2, { databaseUrl, dataDir });
      const pids = processes.map((p) => p.pid);
      const bank = await setupBank(processes[0]!.url, { ...LOAD, label: `s${seed}` });
      const clients = Math.max(2, LOAD.clients / 2);
      const sessions = await signInClients(bank.users, clients, (c) => processes[c % 2]!.url);
      probe = await openProbe(databaseUrl);
      const snapshots = startSnapshotReader(probe, { accountIds: bank.accounts.map((a) => a.id), totals: bank.totals });
      const opsPerClient = Math.max(20, LOAD.opsPerClient / 2);
      const total = clients * opsPerClient;
      const schedule = faultSchedule(rng, total, 2, async (atOp) => {
        const pauseMs = rng.int(200, 1_500);
        await cluster!.restartImmediate(pauseMs);
        return { atOp, pauseMs };
      });
      const load = await runTransferLoad({
        endpoints: () => processes.map((p) => p.url),
        sessions,
        accounts: bank.accounts,
        opsPerClient,
        rng,
        tag: `s${seed}-t`,
        protocolFor: (c) => (c % 2 === 0 ? "connect" : "grpc"),
        maxAttempts: 120,
        onProgress: schedule.onProgress,
      });
      const restarts = await schedule.settled();
      const snap = await snapshots.stop();

      // Both processes are the original ones and serve a new transfer straight away.
      const problems: string[] = [];
      if (processes.some((p, i) => p.pid !== pids[i] || !p.running || p.starts !== 1)) problems.push("a bankd process was restarted or died");
      const [from, to] = bank.accounts.filter((a) => a.ownerId === bank.users[0]!.userId && a.currency === "USD");
      for (const [i, p] of processes.entries()) {
        await api(TransactionService, p.url, { token: bank.users[0]!.token })
          .transfer({ requestId: `s${seed}-after-${i}`, fromAccountId: from!.id, target: { case: "toAccountId", value: to!.id }, amount: { currency: "USD", minorUnits: 1n }, description: "after restarts" })
          .catch((err: unknown) => problems.push(`${p.name}: the first transfer after the restarts failed: ${viewError(err).codeName} ${viewError(err).message}`));
      }

      const outcome = await checkOutcomes(probe, load.ops, `s${seed}-t`);
      const ledger = await checkLedger(probe);
      const audit = await verifyAudit(databaseUrl, dataDir);
      report(SCENARIO, {
        seed,
        operations: load.ops.length,
        ok: outcome.acknowledgedOk,
        failed: outcome.failures,
        unackedApplied: outcome.unackedApplied,
        unackedAbsent: outcome.unackedAbsent,
        retries: load.stats.retries,
        errors: load.stats.errors,
        errorMessages: load.stats.messages,
        restarts,
        kills: 0,
        snapshots: snap.snapshots,
        snapshotErrors: snap.errors,
        loadMs: load.elapsedMs,
      });
      for (const p of processes) for (const line of unexpectedFailures(p.logLines())) report(SCENARIO, { process: p.name, internal: line });
      // All checks at once, so that a failing run names every problem.
      if (restarts.length !== 2) problems.push(`${restarts.length} restarts instead of 2`);
      // Clients saw the outage as UNAVAILABLE from bankd, with a generic message, never INTERNAL.
      if (!load.stats.errors[`${Code[Code.Unavailable]} DATABASE_UNAVAILABLE`]) problems.push("no client saw UNAVAILABLE DATABASE_UNAVAILABLE");
      const fromServer = Object.entries(load.stats.messages).filter(([key]) => !key.endsWith(" client"));
      for (const [key, message] of fromServer) {
        if (key.startsWith(Code[Code.Internal])) problems.push(`bankd answered ${key} (${load.stats.errors[key]} times), e.g. "${message}"`);
        const found = leaks(message);
        if (found.length > 0) problems.push(`${key} message leaks ${found.join(",")}: ${message}`);
      }
      problems.push(...snap.violations, ...outcome.violations, ...ledger);
      if (audit.code !== 0) problems.push(`verify-audit exited ${audit.code}: ${audit.output}`);
      expect(problems).toEqual([]);
    },
    8 * MINUTE,
  );
});
