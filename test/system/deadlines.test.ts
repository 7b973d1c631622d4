// Goal (issue 6, scenario 5): clients with a 50 ms deadline against a deliberately slowed
// database (a trigger sleeps 100-300 ms inside every transfer's transaction, on a throwaway
// cluster) get DEADLINE_EXCEEDED, never INTERNAL; once the dust settles each timed-out transfer is
// either fully applied exactly once or absent, and retrying it with its request_id (no deadline,
// database fast again) applies the absent ones and replays the applied ones — never twice.
import { Code } from "@connectrpc/connect";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { BankdProcess } from "./support/bankd-process";
import { api, setupBank, viewError, type Bank, type ErrorView } from "./support/bank-api";
import { checkLedger } from "./support/invariants";
import { PgCluster } from "./support/pg-cluster";
import { big, openProbe, type Probe } from "./support/probe";
import { report, Rng, scenarioSeed } from "./support/rng";
import { waitUntil } from "../support/wait";
import { busyBackends, installSlowdown } from "./support/slow-db";
import { describeOnPostgres, releasedAfterAll, LOAD, MINUTE, tempDir, unexpectedFailures, verifyAudit } from "./support/scenario";

const SCENARIO = "deadlines";
const DEADLINE_MS = 50;
const CALLS_PER_CLIENT = 10;

interface Call {
  requestId: string;
  userIndex: number;
  request: Parameters<ReturnType<typeof api<typeof TransactionService>>["transfer"]>[0];
  first?: { ok: true; txId: string } | { ok: false; error: ErrorView };
}

describeOnPostgres("system: deadlines against a slowed database (throwaway PostgreSQL cluster)", () => {
  const held = releasedAfterAll();

  test(
    "50 ms deadline: DEADLINE_EXCEEDED, then each timed-out transfer applied once or absent",
    async () => {
      const seed = scenarioSeed(SCENARIO);
      const cluster = (held.cluster = await PgCluster.create());
      const databaseUrl = await cluster.createDatabase("bankd_deadlines");
      const dataDir = tempDir();
      const bankd = (held.bankd = await BankdProcess.start({ databaseUrl, dataDir }));
      const bank = await setupBank(bankd.url, { ...LOAD, label: `s${seed}` });
      const slowdown = await installSlowdown(databaseUrl, 100, 300);

      const calls = await transfersWithDeadline(bankd, bank, new Rng(seed), seed);
      await waitQuiet(bankd, databaseUrl);
      const probe = (held.probe = await openProbe(databaseUrl));
      const problems: string[] = [];
      const timedOut = calls.filter((c) => !c.first!.ok && c.first!.error.code === Code.DeadlineExceeded);
      for (const c of calls) {
        if (!c.first!.ok && ![Code.DeadlineExceeded, Code.FailedPrecondition].includes(c.first!.error.code)) {
          problems.push(`${c.requestId}: first answer ${c.first!.error.codeName} ${c.first!.error.reason}: ${c.first!.error.message}`);
        }
      }
      const storedBefore = await storedOnce(probe, timedOut, problems);
      problems.push(...(await checkLedger(probe)));

      await slowdown.set(0, 0);
      const retried = await retryAll(probe, bankd, bank, timedOut, storedBefore, problems);
      problems.push(...(await checkLedger(probe)));
      for (const line of unexpectedFailures(bankd.logLines())) problems.push(`bankd logged an INTERNAL: ${line}`);
      const audit = await verifyAudit(databaseUrl, dataDir);
      if (audit.code !== 0) problems.push(`verify-audit exited ${audit.code}: ${audit.output}`);
      report(SCENARIO, {
        seed,
        operations: calls.length,
        firstAnswers: countBy(calls.map((c) => (c.first!.ok ? "OK" : `${c.first!.error.codeName} ${c.first!.error.fromServer ? c.first!.error.reason : "client"}`))),
        timedOut: timedOut.length,
        storedBeforeRetry: storedBefore.size,
        absentBeforeRetry: timedOut.length - storedBefore.size,
        retries: timedOut.length,
        ...retried,
        kills: 0,
      });
      await slowdown.remove();
      expect(timedOut.length).toBeGreaterThan(0);
      expect(problems).toEqual([]);
    },
    6 * MINUTE,
  );
});

/** Each user fires CALLS_PER_CLIENT transfers, one after the other, each with the 50 ms deadline. */
async function transfersWithDeadline(bankd: BankdProcess, bank: Bank, rng: Rng, seed: number): Promise<Call[]> {
  const calls: Call[] = [];
  await Promise.all(
    bank.users.map(async (user, u) => {
      const crng = rng.fork(u);
      const own = bank.accounts.filter((a) => a.ownerId === user.userId);
      const client = api(TransactionService, bankd.url, { token: user.token, protocol: u % 2 === 0 ? "connect" : "grpc" });
      for (let i = 0; i < CALLS_PER_CLIENT; i++) {
        const from = crng.pick(own);
        const to = crng.pick(bank.accounts.filter((a) => a.currency === from.currency && a.id !== from.id));
        const requestId = `s${seed}-dl-u${u}-i${i}`;
        const call: Call = {
          requestId,
          userIndex: u,
          request: { requestId, fromAccountId: from.id, target: { case: "toAccountId", value: to.id }, amount: { currency: from.currency, minorUnits: BigInt(crng.int(1, 3_000)) }, description: "deadline" },
        };
        try {
          const res = await client.transfer(call.request, { timeoutMs: DEADLINE_MS });
          call.first = { ok: true, txId: res.transaction!.id };
        } catch (err) {
          call.first = { ok: false, error: viewError(err) };
        }
        calls.push(call);
      }
    }),
  );
  return calls;
}

/** Before any retry: each timed-out transfer is stored zero or one time, with its amount. Returns
 * the stored ones' transaction ids by request id. */
async function storedOnce(probe: Probe, timedOut: readonly Call[], problems: string[]): Promise<Map<string, string>> {
  const stored = new Map<string, string>();
  for (const c of timedOut) {
    const rows = await probe.all<{ id: string; amount: unknown }>(`SELECT id, CAST(amount AS TEXT) AS amount FROM transactions WHERE request_id = ?`, [c.requestId]);
    if (rows.length > 1) problems.push(`${c.requestId}: timed out, then stored ${rows.length} times`);
    if (rows.length === 1) {
      stored.set(c.requestId, rows[0]!.id);
      if (big(rows[0]!.amount) !== c.request.amount!.minorUnits) problems.push(`${c.requestId}: stored with another amount`);
    }
  }
  return stored;
}

/** The retry, database fast again: a stored transfer replays (same transaction), an absent one is
 * applied; none is stored twice. */
async function retryAll(probe: Probe, bankd: BankdProcess, bank: Bank, timedOut: readonly Call[], storedBefore: ReadonlyMap<string, string>, problems: string[]): Promise<{ replayed: number; appliedByRetry: number }> {
  let replayed = 0;
  let appliedByRetry = 0;
  for (const c of timedOut) {
    const before = storedBefore.get(c.requestId);
    try {
      const res = await api(TransactionService, bankd.url, { token: bank.users[c.userIndex]!.token }).transfer(c.request);
      if (before !== undefined && res.transaction!.id !== before) problems.push(`${c.requestId}: retry created ${res.transaction!.id} although ${before} was stored`);
      if (before !== undefined) replayed++;
      else appliedByRetry++;
    } catch (err) {
      const e = viewError(err);
      if (e.code !== Code.FailedPrecondition) problems.push(`${c.requestId}: retry answered ${e.codeName} ${e.reason}: ${e.message}`);
      if (before !== undefined) problems.push(`${c.requestId}: stored, but its retry failed with ${e.reason}`);
    }
    const rows = await probe.all(`SELECT id FROM transactions WHERE request_id = ?`, [c.requestId]);
    if (rows.length > 1) problems.push(`${c.requestId}: stored ${rows.length} times after the retry`);
  }
  return { replayed, appliedByRetry };
}

/** Waits until every abandoned call has finished (committed or rolled back): nothing in flight in
 * bankd and nothing working in the database, three readings in a row. */
async function waitQuiet(bankd: BankdProcess, databaseUrl: string): Promise<void> {
  let quiet = 0;
  await waitUntil("no call in flight in bankd and no backend working in the database, three readings in a row", async () => {
    const busy = (await bankd.rpcInFlight()) + (await busyBackends(databaseUrl));
    quiet = busy === 0 ? quiet + 1 : 0;
    return quiet >= 3;
  }, { timeoutMs: 2 * MINUTE, intervalMs: 150 });
}

function countBy(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of keys) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}
