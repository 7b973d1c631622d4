// The read replica (BANK_DATABASE_REPLICA_URL) against a real streaming replica of a throwaway
// cluster (pg_basebackup -R): statements, a past balance and an audit listing are served by the
// replica while it is provably within limits.replicaLagMaxMs of the primary; when its replay is
// paused the same reads go to the primary and a deposit shows in the statement at once; when it is
// stopped they still succeed from the primary; money moves correctly throughout and the books
// balance. Where each read was served is read from bankd_replica_reads_total.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { limits } from "../../src/limits";
import { BankdProcess, runCli } from "./support/bankd-process";
import { api, setupBank, signInNewStaff, type AccountRef, type Bank } from "./support/bank-api";
import { checkLedger } from "./support/invariants";
import { PgCluster } from "./support/pg-cluster";
import { openProbe } from "./support/probe";
import { eventually } from "../support/wait";
import { describeOnPostgres, MINUTE } from "./support/scenario";
import { strongPassword, uniqueEmail } from "../support/users";

/** bankd_replica_reads_total for one target (and reasons), summed. */
async function replicaReads(bankd: BankdProcess, target: "replica" | "primary", reasons?: readonly string[]): Promise<number> {
  let total = 0;
  for (const match of (await bankd.metricsText()).matchAll(/^bankd_replica_reads_total\{([^}]*)\} (\d+)$/gm)) {
    const labels = match[1]!;
    const reason = /reason="([^"]*)"/.exec(labels)?.[1] ?? "";
    if (labels.includes(`target="${target}"`) && (reasons === undefined || reasons.includes(reason))) total += Number(match[2]);
  }
  return total;
}

/** Polls `fn` until it returns a value `done` accepts (the event awaited), or fails after timeoutMs. */
async function until<T>(what: string, fn: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  let last: { value: T } | undefined;
  try {
    // Wrapped: the value awaited may itself be falsy (a count of 0).
    const found = await eventually(what, async () => {
      last = { value: await fn() };
      return done(last.value) ? last : undefined;
    }, { timeoutMs, intervalMs: 100 });
    return found.value;
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last?.value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
  }
}

describeOnPostgres("system: bankd with a streaming read replica (throwaway PostgreSQL cluster)", () => {
  let primary: PgCluster;
  let replica: PgCluster;
  let dataDir: string;
  let bankd: BankdProcess;
  let bank: Bank;
  let adminToken: string;
  let x: AccountRef;
  let y: AccountRef;
  /** y's balance as the primary must report it. */
  let expectedY = 0n;
  /** An instant after the first transfers, for the past balance. */
  let markMs = 0;
  let balanceAtMark = 0n;
  let transfers = 0;

  const tokenOf = (account: AccountRef) => bank.users.find((u) => u.userId === account.ownerId)!.token;
  const money = (account: AccountRef) => api(TransactionService, bankd.url, { token: tokenOf(account) });
  const statementOf = (account: AccountRef) => money(account).listTransactions({ accountId: account.id, pageSize: 100 });
  const transfer = async (amount: bigint) => {
    const n = transfers++;
    const res = await money(x).transfer({ requestId: `rep-t${n}`, fromAccountId: x.id, target: { case: "toAccountId", value: y.id }, amount: { currency: "USD", minorUnits: amount }, description: `t${n}` });
    expectedY += amount;
    return res.transaction!.id;
  };
  const primaryBalanceOf = async (account: AccountRef) =>
    (await api(AccountService, bankd.url, { token: tokenOf(account) }).getBalance({ accountId: account.id })).ledgerBalance?.minorUnits;

  beforeAll(async () => {
    primary = await PgCluster.create();
    const url = await primary.createDatabase("bankd");
    replica = await primary.createReplica();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-replica-"));
    const adminEmail = uniqueEmail("replica-admin");
    const adminPassword = strongPassword();
    const created = await runCli(["create-user", "--email", adminEmail, "--full-name", "Replica Admin", "--role", "admin", "--password-stdin"], { databaseUrl: url, dataDir, stdin: adminPassword });
    if (created.code !== 0) throw new Error(`create-user failed: ${created.stderr}`);
    bankd = await BankdProcess.start({ databaseUrl: url, dataDir, name: "bankd-replica", env: { BANK_DATABASE_REPLICA_URL: replica.url("bankd") } });
    adminToken = (await signInNewStaff(bankd.url, adminEmail, adminPassword)).token;
    bank = await setupBank(bankd.url, { users: 2, accountsPerUser: 1, currencies: ["USD"], fundingMinor: 100_000n, label: "rep" });
    [x, y] = bank.accounts as [AccountRef, AccountRef];
    expectedY = 100_000n;
  }, 2 * MINUTE);

  afterAll(async () => {
    await bankd?.stop();
    await replica?.destroy();
    await primary?.destroy();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }, MINUTE);

  test("a replica within the bound serves statements and audit listings; the money is right", async () => {
    for (let i = 0; i < 5; i++) await transfer(100n);
    expect(await primaryBalanceOf(y)).toBe(expectedY);
    markMs = Date.now();
    balanceAtMark = expectedY;

    // The replica catches up within the bound: a statement read it served shows every movement.
    const served = await until(
      "a complete statement served by the replica",
      async () => {
        const before = await replicaReads(bankd, "replica");
        const statement = await statementOf(y);
        return { fromReplica: (await replicaReads(bankd, "replica")) > before, entries: statement.entries };
      },
      (r) => r.fromReplica && r.entries.length === 1 + 5,
    );
    expect(served.entries[0]!.balanceAfter?.minorUnits).toBe(expectedY);

    const before = await replicaReads(bankd, "replica");
    const events = await api(AuditService, bankd.url, { token: adminToken }).listAuditEvents({ pageSize: 10 });
    expect(events.events.length).toBeGreaterThan(0);
    expect(await replicaReads(bankd, "replica")).toBe(before + 1);
  });

  test("a replica paused beyond the bound: reads go to the primary, a fresh deposit shows at once", async () => {
    await replica.query("SELECT pg_wal_replay_pause()");
    // A commit the paused replica cannot replay, so that it really falls behind.
    await transfer(100n);
    await until("a statement read sent to the primary because the replica lags", async () => {
      const before = await replicaReads(bankd, "primary", ["lagging"]);
      await statementOf(y);
      return (await replicaReads(bankd, "primary", ["lagging"])) > before;
    }, (sent) => sent);

    const deposit = await money(y).deposit({ requestId: "rep-deposit-lag", accountId: y.id, amount: { currency: "USD", minorUnits: 777n }, description: "fresh" });
    expectedY += 777n;
    const statement = await statementOf(y);
    expect(statement.entries[0]!.transaction?.id).toBe(deposit.transaction!.id);
    expect(statement.entries[0]!.balanceAfter?.minorUnits).toBe(expectedY);
    expect(await primaryBalanceOf(y)).toBe(expectedY);
    expect(bankd.logLines().some((l) => /go to the primary/.test(l) && /lagging/.test(l))).toBe(true);

    // Replay resumes: the replica catches up and serves again, the deposit included.
    await replica.query("SELECT pg_wal_replay_resume()");
    await until("the replica serving the statement again", async () => {
      const before = await replicaReads(bankd, "replica");
      const entries = (await statementOf(y)).entries;
      return (await replicaReads(bankd, "replica")) > before && entries[0]?.transaction?.id === deposit.transaction!.id;
    }, (ok) => ok);

    // A balance at an instant older than the bound is history: the replica answers it.
    await until("the mark to be older than the bound", async () => Date.now(), (now) => now > markMs + limits.replicaLagMaxMs + 100);
    const before = await replicaReads(bankd, "replica");
    const past = await api(AccountService, bankd.url, { token: tokenOf(y) }).getBalance({ accountId: y.id, asOf: timestampFromMs(markMs) });
    expect(past.ledgerBalance?.minorUnits).toBe(balanceAtMark);
    expect(await replicaReads(bankd, "replica")).toBe(before + 1);
  }, MINUTE);

  test("a stopped replica: reads succeed from the primary, writes are correct, the books balance", async () => {
    await replica.stopImmediate();
    const primaryBefore = await replicaReads(bankd, "primary", ["error", "unavailable"]);
    const id = await transfer(250n);
    // The first read may still be sent to the replica (the last measurement found it fresh): it
    // fails there and is retried on the primary, never surfacing UNAVAILABLE.
    for (let i = 0; i < 3; i++) {
      const statement = await statementOf(y);
      expect(statement.entries[0]!.transaction?.id).toBe(id);
      expect(statement.entries[0]!.balanceAfter?.minorUnits).toBe(expectedY);
    }
    expect(await replicaReads(bankd, "primary", ["error", "unavailable"])).toBeGreaterThanOrEqual(primaryBefore + 3);
    const events = await api(AuditService, bankd.url, { token: adminToken }).listAuditEvents({ pageSize: 10 });
    expect(events.events.length).toBeGreaterThan(0);

    await money(y).deposit({ requestId: "rep-deposit-down", accountId: y.id, amount: { currency: "USD", minorUnits: 5n }, description: "down" });
    expectedY += 5n;
    expect(await primaryBalanceOf(y)).toBe(expectedY);
    expect((await statementOf(y)).entries.length).toBe(1 + transfers + 2);

    const probe = await openProbe(primary.url("bankd"));
    try {
      expect(await checkLedger(probe)).toEqual([]);
    } finally {
      await probe.close();
    }
    expect(bankd.logLines().filter((l) => /"level":50/.test(l))).toEqual([]);
  }, MINUTE);
});
