// Goal (issue 29): bankd on a pg_auto_failover formation (a monitor, a primary, a standby, all on
// this machine) follows the primary through (a) the primary node's death (SIGKILL to its keeper
// and postmaster together: an automatic failover) and (b) a planned `pg_autoctl perform
// switchover`, under 16 clients driving transfers and batch transfers through two bankd processes
// on the multi-host URL. After each: every acknowledged transfer is stored exactly once (by
// request_id and transaction id), every acknowledged refusal is absent, unacknowledged requests
// retried with the same request_id apply at most once, money is conserved per currency, no balance
// is below its floor, the audit chain verifies, no client saw INTERNAL, health went NOT_SERVING
// and came back SERVING, both processes' LISTEN connections moved to the new primary, and the
// synchronous-standby gauge says 1 while the survivor runs alone and 0 once the standby is back.
// Printed: the unavailability window (fault to the first successful call begun after it), the
// UNAVAILABLE answers, the phase's duration. Also: bankd refuses to start on a URL whose only
// reachable host is the standby.
//
// Skipped, with the reason printed, where pg_autoctl is missing or the test does not run as root.
import { spawnSync } from "node:child_process";
import { Code } from "@connectrpc/connect";
import { Client } from "pg";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { waitUntil } from "../support/wait";
import { BankdProcess, REPO_ROOT } from "./support/bankd-process";
import { api, attempt, setupBank, signInClients, type Bank, type ErrorView, type Session } from "./support/bank-api";
import { checkLedger, checkSnapshot } from "./support/invariants";
import { checkOutcomes, runTransferLoad, type TransferOp } from "./support/load";
import { formationUnavailableReason, PgFormation } from "./support/pg-formation";
import { freePort } from "./support/ports";
import { openProbe } from "./support/probe";
import { report, Rng, scenarioSeed, sleep } from "./support/rng";
import { leaks, LOAD, MINUTE, tempDir, unexpectedFailures, verifyAudit } from "./support/scenario";

const SCENARIO = "ha-failover";
const skipReason = formationUnavailableReason();
if (skipReason) process.stdout.write(`[system:${SCENARIO}] skipped: ${skipReason}\n`);
const describeWithFormation: jest.Describe = skipReason ? describe.skip : describe;

const DATABASE = "bankd_ha";
const CLIENTS = 16;
/** Pacing of the loops that run through a phase and stop with it: how often every process's
 * health is sampled, and the pause before a watch stream ended by a failover is opened again. */
const HEALTH_SAMPLE_EVERY_MS = 100;
const WATCH_REOPEN_PAUSE_MS = 200;

interface Attempt {
  startedAt: number;
  endedAt: number;
  ok: boolean;
  error?: ErrorView;
}

interface PhaseResult {
  name: string;
  /** From the fault to the end of the first successful call begun after it. */
  unavailableWindowMs: number;
  /** The longest stretch without a successful call ending, from the fault on. */
  longestGapMs: number;
  unavailableAnswers: number;
  clientErrors: number;
  ops: TransferOp[];
  durationMs: number;
  notServingSeen: boolean;
  problems: string[];
}

describeWithFormation("system: a pg_auto_failover formation loses its primary, then switches over, under load", () => {
  let formation: PgFormation | undefined;
  const processes: BankdProcess[] = [];

  const watchers: { stop(): Promise<number> }[] = [];

  afterAll(async () => {
    for (const w of watchers) await w.stop();
    for (const p of processes) await p.stop();
    await formation?.destroy();
  }, MINUTE);

  test(
    "failover and switchover: nothing acknowledged lost or doubled, money conserved, clients see UNAVAILABLE only",
    async () => {
      const started = Date.now();
      const seed = scenarioSeed(SCENARIO);
      const rng = new Rng(seed);
      formation = await PgFormation.create();
      const f = formation;
      const first = await f.waitStable(60_000);
      report(SCENARIO, { formationReadyMs: Date.now() - started, primary: first.name });
      await f.createDatabase(DATABASE);
      const databaseUrl = f.url(DATABASE);
      const dataDir = tempDir();
      const problems: string[] = [];

      // Bad input: a URL whose only reachable host is the standby (the other is a closed port).
      const standby = f.nodes.find((n) => n !== first)!;
      const closed = await freePort();
      const refused = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
        cwd: REPO_ROOT,
        env: { ...process.env, BANK_PORT: "0", BANK_GRPC_PORT: "off", BANK_DATA_DIR: dataDir, BANK_LOG_LEVEL: "warn", BANK_DATABASE_URL: `postgres://postgres@127.0.0.1:${standby.port},127.0.0.1:${closed}/${DATABASE}?target_session_attrs=read-write` },
        encoding: "utf8",
        timeout: 60_000,
      });
      if (refused.status === 0 || !refused.stderr.includes(`none of its 2 hosts accepts writes (127.0.0.1:${standby.port}: a standby (in recovery); 127.0.0.1:${closed}: unreachable`)) {
        problems.push(`a URL with only the standby reachable: exit ${refused.status}, stderr ${refused.stderr.trim()}`);
      }

      // Two bankd processes on the multi-host URL; the second also reads from the formation's
      // standby (BANK_DATABASE_REPLICA_URL in the multi-host form, target_session_attrs=standby).
      processes.push(await BankdProcess.start({ databaseUrl, dataDir, name: "bankd-0" }));
      processes.push(await BankdProcess.start({ databaseUrl, dataDir, name: "bankd-1", env: { BANK_DATABASE_REPLICA_URL: f.url(DATABASE, "standby") } }));
      const bank = await setupBank(processes[0]!.url, { ...LOAD, label: `s${seed}` });
      const sessions = await signInClients(bank.users, CLIENTS, (c) => processes[c % 2]!.url);
      // A watcher on each process keeps its change feed (LISTEN) open, re-opened when it ends.
      const owner = bank.users[0]!;
      const watched = bank.accounts.find((x) => x.ownerId === owner.userId)!;
      watchers.push(...processes.map((p) => keepWatching(p, owner.token, watched.id)));
      await waitListeners(f, 2);

      // (a) The primary node dies: keeper and postmaster, SIGKILL to its process group.
      let victim = "";
      const a = await phase("failover", rng.fork(1), bank, sessions, dataDir, async () => {
        const node = (await f.primary())!;
        victim = node.name;
        const at = Date.now();
        f.kill(node);
        return { at, detail: `SIGKILL to ${node.name}'s process group` };
      });
      // The survivor runs alone (wait_primary, synchronous_standby_names empty): bankd says so.
      await gauge("bankd_db_synchronous_standby_missing", 1, "the sync-standby gauge to say 1 while the survivor runs alone", problems);
      if (!processes.some((p) => p.logLines().some((l) => l.includes("synchronous_standby_names is empty")))) problems.push("no process warned that synchronous_standby_names is empty");
      await waitListeners(f, 2);
      problems.push(...a.problems);

      // The dead node comes back as the standby; the formation is whole again.
      const killed = f.node(victim);
      f.restart(killed);
      const rejoinedAt = Date.now();
      await f.waitStable(120_000);
      report(SCENARIO, { rejoinMs: Date.now() - rejoinedAt, rejoined: killed.name });
      await gauge("bankd_db_synchronous_standby_missing", 0, "the sync-standby gauge to say 0 once the standby is back", problems);

      // (b) A planned switchover.
      const b = await phase("switchover", rng.fork(2), bank, sessions, dataDir, async () => {
        const at = Date.now();
        await f.switchover();
        return { at, detail: "pg_autoctl perform switchover" };
      });
      await waitListeners(f, 2);
      problems.push(...b.problems);

      // Once more, with the whole formation settled: the ledger at rest, the audit chain.
      const primaryNow = await f.waitStable(60_000);
      const probe = await openProbe(f.nodeUrl(primaryNow, DATABASE));
      try {
        problems.push(...(await checkLedger(probe)).map((v) => `ledger: ${v}`));
        problems.push(...(await probe.snapshot((q) => checkSnapshot(q, { accountIds: bank.accounts.map((x) => x.id), totals: bank.totals }))).map((v) => `snapshot: ${v}`));
      } finally {
        await probe.close();
      }
      const audit = await verifyAudit(databaseUrl, dataDir);
      if (audit.code !== 0) problems.push(`verify-audit exited ${audit.code}: ${audit.output}`);
      for (const p of processes) {
        if (!p.running || p.starts !== 1) problems.push(`${p.name} died or was restarted`);
        for (const line of unexpectedFailures(p.logLines())) problems.push(`${p.name} INTERNAL: ${line}`);
      }
      const totalMs = Date.now() - started;
      for (const r of [a, b]) {
        report(SCENARIO, { phase: r.name, unavailableWindowMs: r.unavailableWindowMs, longestGapMs: r.longestGapMs, unavailableAnswers: r.unavailableAnswers, clientErrors: r.clientErrors, operations: r.ops.length, phaseMs: r.durationMs, notServingSeen: r.notServingSeen });
      }
      report(SCENARIO, { totalMs, problems: problems.length });
      if (problems.length > 0) report(SCENARIO, { formationLogs: f.logs(20) });
      expect(problems).toEqual([]);
      expect(totalMs).toBeLessThan(5 * MINUTE);
    },
    8 * MINUTE,
  );

  /** Load, fault, recovery, more load; then every check of the issue on what the phase did. */
  async function phase(name: string, rng: Rng, bank: Bank, sessions: Session[], dataDir: string, fault: () => Promise<{ at: number; detail: string }>): Promise<PhaseResult> {
    const f = formation!;
    const phaseStarted = Date.now();
    const tag = `${name}${rng.seed}`;
    const attempts: Attempt[] = [];
    let stop = false;
    let notServingSeen = false;
    const health = (async () => {
      while (!stop) {
        for (const p of processes) {
          const status = await p.health().catch(() => undefined);
          if (status === Status.NOT_SERVING) notServingSeen = true;
        }
        await sleep(HEALTH_SAMPLE_EVERY_MS);
      }
    })();
    const loading = runTransferLoad({
      endpoints: () => processes.map((p) => p.url),
      sessions,
      accounts: bank.accounts,
      opsPerClient: 100_000,
      rng,
      tag,
      protocolFor: (c) => (c % 2 === 0 ? "connect" : "grpc"),
      // About 6 s of retries, so that most operations are carried across the outage; every
      // fourth client gives up after 3 attempts, leaving operations unacknowledged (replayed
      // below with their request_id, as a client that comes back later would).
      maxAttemptsFor: (c) => (c % 4 === 3 ? 3 : 25),
      until: () => stop,
      pauseMs: 20,
      batchChance: 0.2,
      batchSize: 5,
      onAttempt: (x) => attempts.push(x),
    });
    const oks = () => attempts.filter((x) => x.ok).length;
    await waitUntil(`${name}: 100 successful calls before the fault`, () => oks() >= 100, { timeoutMs: 60_000, intervalMs: 50 });
    const { at, detail } = await fault();
    report(SCENARIO, { phase: name, fault: detail });
    await waitUntil(`${name}: a successful call begun after the fault`, () => attempts.some((x) => x.ok && x.startedAt >= at), { timeoutMs: 90_000, intervalMs: 20 });
    const firstOk = Math.min(...attempts.filter((x) => x.ok && x.startedAt >= at).map((x) => x.endedAt));
    // The longest time without a successful call ending, from the fault on (a switchover's
    // outage begins some seconds after the command, when the primary is demoted).
    const okEnds = [at, ...attempts.filter((x) => x.ok && x.endedAt >= at).map((x) => x.endedAt)].sort((x, y) => x - y);
    const longestGapMs = Math.max(...okEnds.slice(1).map((t, i) => t - okEnds[i]!));
    const afterRecovery = oks();
    await waitUntil(`${name}: 200 more successful calls after recovery`, () => oks() >= afterRecovery + 200, { timeoutMs: 60_000, intervalMs: 50 });
    stop = true;
    const load = await loading;
    await health;
    for (const p of processes) {
      await waitUntil(`${p.name} SERVING after ${name}`, async () => (await p.health().catch(() => undefined)) === Status.SERVING, { timeoutMs: 30_000, intervalMs: 100 });
    }

    const problems: string[] = [];
    // Clients saw UNAVAILABLE (or a broken connection) and business refusals (a balance too low:
    // FAILED_PRECONDITION), never INTERNAL or anything else, and no message leaks.
    const expected = [Code.Unavailable, Code.Aborted, Code.FailedPrecondition].map((c) => `${Code[c]} `);
    for (const [key, message] of Object.entries(load.stats.messages)) {
      if (key.endsWith(" client")) continue;
      if (!expected.some((prefix) => key.startsWith(prefix))) problems.push(`${name}: bankd answered ${key} (${load.stats.errors[key]} times), e.g. "${message}"`);
      const found = leaks(message);
      if (found.length > 0) problems.push(`${name}: ${key} message leaks ${found.join(",")}: ${message}`);
    }
    const unavailableAnswers = attempts.filter((x) => x.error?.fromServer && x.error.code === Code.Unavailable).length;
    const clientErrors = attempts.filter((x) => x.error && !x.error.fromServer).length;
    if (name === "failover" && !notServingSeen) problems.push(`${name}: no process said NOT_SERVING while no primary was reachable`);

    // Unacknowledged requests retried with the same request_id, once the formation has a
    // primary: each applies at most once (checkOutcomes counts the rows); acknowledged ones,
    // retried the same way, answer the same transaction.
    const money = (s: Session, i: number) => api(TransactionService, processes[i % 2]!.url, { token: s.token });
    const sessionOf = (op: TransferOp) => sessions.find((s) => s.userId === op.userId)!;
    const unacked = load.ops.filter((op) => op.outcome === "unacked");
    const sample = load.ops.filter((op) => op.outcome === "ok").slice(0, 20);
    for (const [i, op] of [...unacked, ...sample].entries()) {
      const res = await attempt(
        () => money(sessionOf(op), i).transfer({ requestId: op.requestId, fromAccountId: op.from, target: { case: "toAccountId", value: op.to }, amount: { currency: op.currency, minorUnits: op.amount }, description: op.description ?? "" }),
        { maxAttempts: 60 },
      );
      if (op.outcome === "ok") {
        if (!res.ok || res.value.transaction?.id !== op.tx?.id) problems.push(`${name}: ${op.requestId} replayed as ${res.ok ? res.value.transaction?.id : res.error.codeName} instead of ${op.tx?.id}`);
        continue;
      }
      if (res.ok) Object.assign(op, { outcome: "ok", tx: res.value.transaction });
      else if (res.acked) Object.assign(op, { outcome: "failed", error: res.error });
      else problems.push(`${name}: ${op.requestId} still unanswered after the formation recovered`);
    }

    let primary: Awaited<ReturnType<PgFormation["primary"]>>;
    await waitUntil(`${name}: the monitor names a primary`, async () => (primary = await f.primary().catch(() => undefined)) !== undefined, { timeoutMs: 60_000, intervalMs: 200 });
    const probe = await openProbe(f.nodeUrl(primary!, DATABASE));
    try {
      const outcome = await checkOutcomes(probe, load.ops, tag);
      problems.push(...outcome.violations.map((v) => `${name}: ${v}`));
      problems.push(...(await checkLedger(probe)).map((v) => `${name}: ledger: ${v}`));
      problems.push(...(await probe.snapshot((q) => checkSnapshot(q, { accountIds: bank.accounts.map((x) => x.id), totals: bank.totals }))).map((v) => `${name}: snapshot: ${v}`));
      report(SCENARIO, { phase: name, ok: outcome.acknowledgedOk, failed: outcome.failures, unackedReplayed: unacked.length, batches: load.ops.filter((o) => o.batch).length, retries: load.stats.retries, errors: load.stats.errors });
    } finally {
      await probe.close();
    }
    const audit = await verifyAudit(f.url(DATABASE), dataDir);
    if (audit.code !== 0) problems.push(`${name}: verify-audit exited ${audit.code}: ${audit.output}`);
    return { name, unavailableWindowMs: firstOk - at, longestGapMs, unavailableAnswers, clientErrors, ops: load.ops, durationMs: Date.now() - phaseStarted, notServingSeen, problems };
  }

  /** Waits until a gauge of every process reads `want`. */
  async function gauge(metric: string, want: number, what: string, problems: string[]): Promise<void> {
    const read = async (p: BankdProcess) => Number(new RegExp(`^${metric} (-?\\d+)$`, "m").exec(await p.metricsText())?.[1]);
    try {
      await waitUntil(what, async () => (await Promise.all(processes.map(read))).every((v) => v === want), { timeoutMs: 30_000, intervalMs: 200 });
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
});

/** Watches `accountId` on `p` until stopped, re-opening the stream from its last cursor whenever
 * it ends (a failover ends it with UNAVAILABLE); returns the entries seen. */
function keepWatching(p: BankdProcess, token: string, accountId: string): { stop(): Promise<number> } {
  const abort = new AbortController();
  let entries = 0;
  let cursor = "";
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        for await (const m of api(AccountService, p.url, { token }).watchAccount({ accountId, startAfter: cursor }, { signal: abort.signal, timeoutMs: 10 * MINUTE })) {
          if (m.entry) entries++;
          if (m.cursor) cursor = m.cursor;
        }
      } catch {
        // Re-opened below (after a failover, or when stopped).
      }
      if (!abort.signal.aborted) await sleep(WATCH_REOPEN_PAUSE_MS);
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      await loop;
      return entries;
    },
  };
}

/** Waits until `count` change-feed connections (application_name bankd-listen) are open on the
 * formation's primary: LISTEN follows the primary. */
async function waitListeners(f: PgFormation, count: number): Promise<void> {
  await waitUntil(`${count} LISTEN connections on the primary`, async () => {
    const p = await f.primary();
    if (!p) return false;
    const rows = await queryNode(f, p.name, `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = 'bankd-listen' AND datname = '${DATABASE}'`).catch(() => []);
    return Number(rows[0]?.n ?? 0) === count;
  }, { timeoutMs: 30_000, intervalMs: 200 });
}

async function queryNode(f: PgFormation, node: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: f.nodeUrl(node), connectionTimeoutMillis: 2_000 });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return (await c.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await c.end().catch(() => undefined);
  }
}
