// Goal (issue 6, scenario 1): with two bankd processes on one PostgreSQL database and 16 clients
// x 300 random transfers among 20 accounts spread over both, every consistent snapshot of all
// balances (taken in SQL, REPEATABLE READ) sums to the money deposited with no balance below its
// floor, API reads never see a negative available balance, every transfer is acknowledged and
// stored exactly as acknowledged, and at rest every balance equals the sum of its entries and all
// entries sum to zero per currency. The audit chain verifies.
import { BankdProcess } from "./support/bankd-process";
import { setupBank, signInClients, type Bank } from "./support/bank-api";
import { checkLedger, startSnapshotReader } from "./support/invariants";
import { checkOutcomes, runTransferLoad, startBalanceReader } from "./support/load";
import { openProbe, type Probe } from "./support/probe";
import { report, Rng, scenarioSeed } from "./support/rng";
import { describeOnPostgres, LOAD, mainClusterDatabase, MINUTE, startProcesses, verifyAudit } from "./support/scenario";
import type { TestDatabase } from "../support/db";

const SCENARIO = "invariant-two-processes";

describeOnPostgres("system: bank invariant under load, two processes (PostgreSQL)", () => {
  let db: TestDatabase;
  let processes: BankdProcess[] = [];
  let probe: Probe | undefined;

  beforeAll(async () => {
    db = await mainClusterDatabase();
    processes = await startProcesses(2, { databaseUrl: db.url, dataDir: db.dataDir });
  }, 2 * MINUTE);

  afterAll(async () => {
    await probe?.close();
    for (const p of processes) await p.stop();
    await db?.drop();
  }, MINUTE);

  test(
    "16 clients x 300 transfers over two processes: snapshots conserve money, nothing lost or doubled",
    async () => {
      const seed = scenarioSeed(SCENARIO);
      const rng = new Rng(seed);
      const [a, b] = processes as [BankdProcess, BankdProcess];
      const bank: Bank = await setupBank(a.url, { ...LOAD, label: `s${seed}` });
      // One session per client, signed in half on each process.
      const sessions = await signInClients(bank.users, LOAD.clients, (c) => processes[c % 2]!.url);
      probe = await openProbe(db.url);
      const endpoints = () => [a.url, b.url];
      const snapshots = startSnapshotReader(probe, { accountIds: bank.accounts.map((x) => x.id), totals: bank.totals });
      const reader = startBalanceReader({ endpoints, sessions: bank.users, accounts: bank.accounts, rng: rng.fork(1_000) });

      const load = await runTransferLoad({
        endpoints,
        sessions,
        accounts: bank.accounts,
        opsPerClient: LOAD.opsPerClient,
        rng,
        tag: `s${seed}-t`,
        protocolFor: (c) => (c % 2 === 0 ? "connect" : "grpc"),
      });
      const snap = await snapshots.stop();
      const reads = await reader.stop();
      const outcome = await checkOutcomes(probe, load.ops, `s${seed}-t`);
      const ledger = await checkLedger(probe);
      const audit = await verifyAudit(db.url, db.dataDir);
      report(SCENARIO, {
        seed,
        operations: load.ops.length,
        ok: outcome.acknowledgedOk,
        failed: outcome.failures,
        unacked: outcome.unackedApplied + outcome.unackedAbsent,
        retries: load.stats.retries,
        errors: load.stats.errors,
      errorMessages: load.stats.messages,
        kills: 0,
        snapshots: snap.snapshots,
        apiReads: reads.reads,
        loadMs: load.elapsedMs,
        transfersPerSecond: Math.round((load.ops.length / load.elapsedMs) * 1000),
      });

      expect(snap.violations).toEqual([]);
      expect(snap.snapshots).toBeGreaterThan(0);
      expect(reads.violations).toEqual([]);
      expect(reads.reads).toBeGreaterThan(0);
      expect(outcome.violations).toEqual([]);
      // Nothing was done to the processes: every transfer gets a final answer.
      expect(outcome.unackedApplied + outcome.unackedAbsent).toBe(0);
      expect(outcome.acknowledgedOk).toBeGreaterThan(load.ops.length / 2);
      expect(ledger).toEqual([]);
      expect(audit.output).toMatch(/audit chain OK/);
      expect(audit.code).toBe(0);
    },
    8 * MINUTE,
  );
});
