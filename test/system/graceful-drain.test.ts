// Goal (issue 6, scenario 8): SIGTERM while transfers are in flight against a slowed database
// (each batch's transaction sleeps 1.5-2.5 s, throwaway cluster): the transfers in flight
// complete and are acknowledged, new calls get UNAVAILABLE, health says NOT_SERVING, and the
// process exits 0 within its limit (drain + close grace + final audit sealing, src/limits.ts).
import { Code } from "@connectrpc/connect";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { limits } from "../../src/limits";
import { BankdProcess } from "./support/bankd-process";
import { api, setupBank, viewError, type ErrorView } from "./support/bank-api";
import { checkLedger } from "./support/invariants";
import { PgCluster } from "./support/pg-cluster";
import { openProbe, type Probe } from "./support/probe";
import { report, Rng, scenarioSeed } from "./support/rng";
import { waitUntil } from "../support/wait";
import { installSlowdown, sleepingTransactions } from "./support/slow-db";
import { describeOnPostgres, releasedAfterAll, LOAD, MINUTE, tempDir, verifyAudit } from "./support/scenario";

const SCENARIO = "graceful-drain";
/** The longest a drain may take: in-flight calls, then closing connections, then sealing the
 * audit events left (each bounded in src/limits.ts). */
const EXIT_LIMIT_MS = limits.shutdownDrainMs + 1_000 + limits.auditShutdownSealMs;

describeOnPostgres("system: graceful drain with transfers in flight (throwaway PostgreSQL cluster)", () => {
  const held = releasedAfterAll();

  test(
    "SIGTERM: in-flight transfers acknowledged, new calls UNAVAILABLE, NOT_SERVING, exit 0 in time",
    async () => {
      const seed = scenarioSeed(SCENARIO);
      const rng = new Rng(seed);
      const cluster = (held.cluster = await PgCluster.create());
      const databaseUrl = await cluster.createDatabase("bankd_drain");
      const dataDir = tempDir();
      const bankd = (held.bankd = await BankdProcess.start({ databaseUrl, dataDir }));
      const bank = await setupBank(bankd.url, { ...LOAD, label: `s${seed}` });
      await installSlowdown(databaseUrl, 1_500, 2_500);

      // Disjoint account pairs, so the transfers run side by side instead of queueing on locks.
      const inFlight = bank.users.flatMap((user, u) => {
        const usd = bank.accounts.filter((a) => a.ownerId === user.userId && a.currency === "USD");
        return [0, 2].map((k) => ({
          requestId: `s${seed}-drain-u${u}-k${k}`,
          token: user.token,
          protocol: rng.pick(["connect", "grpc"] as const),
          request: { requestId: `s${seed}-drain-u${u}-k${k}`, fromAccountId: usd[k]!.id, target: { case: "toAccountId" as const, value: usd[k + 1]!.id }, amount: { currency: "USD", minorUnits: BigInt(rng.int(1, 5_000)) }, description: "in flight at SIGTERM" },
        }));
      });
      const results = inFlight.map((f) =>
        api(TransactionService, bankd!.url, { token: f.token, protocol: f.protocol })
          .transfer(f.request)
          .then((res) => ({ ok: true as const, txId: res.transaction!.id }), (err: unknown) => ({ ok: false as const, error: viewError(err) })),
      );
      // The posting engine batches the transfers: SIGTERM comes once every call is in the process
      // and a batch holding some of them sleeps inside its database transaction (the rest wait
      // for the next batch).
      await waitUntil(
        `all ${inFlight.length} transfers are in flight in bankd and a batch sleeps inside its database transaction`,
        async () => (await bankd!.rpcInFlight()) >= inFlight.length && (await sleepingTransactions(databaseUrl)) >= 1,
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      const callsAtSigterm = await bankd.rpcInFlight();
      const sleepingAtSigterm = await sleepingTransactions(databaseUrl);

      const sigtermAt = Date.now();
      const exit = bankd.terminate();
      // The drain begins when bankd handles the signal: health turns NOT_SERVING (the batches in
      // flight sleep 1.5 s or more in the database, so it still answers then). Past the deadline,
      // the last answer is what the check below reports as the problem.
      let lastHealth: Status | string = "not asked";
      const health = await waitUntil("health answers NOT_SERVING after SIGTERM", async () => {
        lastHealth = await bankd.health().catch((err: unknown) => `error ${viewError(err).codeName}`);
        return lastHealth === Status.NOT_SERVING;
      }, { timeoutMs: 1_000, intervalMs: 20 }).then((): Status | string => Status.NOT_SERVING, () => lastHealth);
      const user = bank.users[0]!;
      const usd = bank.accounts.filter((a) => a.ownerId === user.userId && a.currency === "USD");
      const refused: ErrorView | "accepted" = await api(TransactionService, bankd.url, { token: user.token })
        .transfer({ requestId: `s${seed}-drain-new`, fromAccountId: usd[0]!.id, target: { case: "toAccountId", value: usd[3]!.id }, amount: { currency: "USD", minorUnits: 1n }, description: "after SIGTERM" })
        .then(() => "accepted" as const, (err: unknown) => viewError(err));
      const answers = await Promise.all(results);
      const exited = await exit;
      const exitMs = Date.now() - sigtermAt;

      const probe = (held.probe = await openProbe(databaseUrl));
      const problems: string[] = [];
      if (callsAtSigterm < inFlight.length) problems.push(`only ${callsAtSigterm} of ${inFlight.length} transfers were in flight at SIGTERM`);
      if (sleepingAtSigterm < 1) problems.push("no batch was inside its database transaction at SIGTERM");
      if (health !== Status.NOT_SERVING) problems.push(`health during the drain: ${typeof health === "string" ? health : Status[health]}`);
      if (refused === "accepted") problems.push("a new transfer was accepted during the drain");
      else if (refused.code !== Code.Unavailable) problems.push(`a new transfer during the drain got ${refused.codeName} ${refused.reason}`);
      for (const [i, a] of answers.entries()) {
        const f = inFlight[i]!;
        if (!a.ok) {
          problems.push(`${f.requestId}: in flight at SIGTERM, answered ${a.error.codeName} ${a.error.reason}: ${a.error.message}`);
          continue;
        }
        const rows = await probe.all<{ id: string }>(`SELECT id FROM transactions WHERE request_id = ?`, [f.requestId]);
        if (rows.length !== 1 || rows[0]!.id !== a.txId) problems.push(`${f.requestId}: acknowledged as ${a.txId}, stored ${JSON.stringify(rows)}`);
      }
      const after = await probe.all(`SELECT id FROM transactions WHERE request_id = ?`, [`s${seed}-drain-new`]);
      if (after.length !== 0) problems.push("the transfer refused during the drain was stored");
      if (exited.code !== 0 || exited.signal !== null) problems.push(`exit code ${exited.code}, signal ${exited.signal}`);
      if (exitMs > EXIT_LIMIT_MS) problems.push(`exit took ${exitMs} ms, limit ${EXIT_LIMIT_MS} ms`);
      problems.push(...(await checkLedger(probe)));
      const audit = await verifyAudit(databaseUrl, dataDir);
      if (audit.code !== 0) problems.push(`verify-audit exited ${audit.code}: ${audit.output}`);
      report(SCENARIO, {
        seed,
        operations: inFlight.length + 1,
        inFlightAtSigterm: callsAtSigterm,
        batchesInDatabaseAtSigterm: sleepingAtSigterm,
        acknowledged: answers.filter((a) => a.ok).length,
        newCall: refused === "accepted" ? "accepted" : `${refused.codeName} ${refused.reason}`,
        health: typeof health === "string" ? health : Status[health],
        exitCode: exited.code,
        exitMs,
        exitLimitMs: EXIT_LIMIT_MS,
        retries: 0,
        kills: 0,
      });
      expect(problems).toEqual([]);
    },
    5 * MINUTE,
  );
});
