// bankd behind PgBouncer in transaction pooling mode (support/pgbouncer.ts: 2 server connections
// shared by every client connection): the ledger scenarios — sign-ups, deposits, transfers, a
// batch transfer, a statement, a watch — run through it and the books balance. Shows that bankd
// keeps no session state on pooled connections (no named prepared statements, no SET, the
// statement timeout by SET LOCAL) and that LISTEN (WatchAccount's change feed) goes to
// BANK_DATABASE_DIRECT_URL. Two bankd processes share the pool.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { BankdProcess } from "./support/bankd-process";
import { api, setupBank, type Bank } from "./support/bank-api";
import { PgCluster } from "./support/pg-cluster";
import { PgBouncer, pgbouncerInstalled } from "./support/pgbouncer";
import { checkLedger } from "./support/invariants";
import { openProbe } from "./support/probe";

const describeIfPgBouncer = pgbouncerInstalled() ? describe : describe.skip;
if (!pgbouncerInstalled()) console.warn("pgbouncer is not installed: skipped (.ci/run installs it)");

describeIfPgBouncer("bankd through PgBouncer (transaction pooling)", () => {
  let cluster: PgCluster;
  let bouncer: PgBouncer;
  let dataDir: string;
  const servers: BankdProcess[] = [];
  let bank: Bank;

  beforeAll(async () => {
    cluster = await PgCluster.create();
    const direct = await cluster.createDatabase("bankd");
    bouncer = await PgBouncer.start(cluster, ["bankd"]);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-pgb-"));
    for (let i = 0; i < 2; i++) {
      servers.push(await BankdProcess.start({ databaseUrl: bouncer.url("bankd"), dataDir, name: `bankd-${i}`, env: { BANK_DATABASE_DIRECT_URL: direct } }));
    }
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await bouncer?.stop();
    await cluster?.destroy();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("sign-ups, deposits, transfers, a batch transfer, a statement and a watch; the ledger balances", async () => {
    const [a, b] = servers.map((s) => s.url) as [string, string];
    bank = await setupBank(a, { users: 3, accountsPerUser: 2, currencies: ["USD"], fundingMinor: 100_000n, label: "pgb" });
    const [x, y, z] = bank.accounts as [typeof bank.accounts[0], typeof bank.accounts[0], typeof bank.accounts[0]];
    const owner = (id: string) => bank.users.find((u) => u.userId === bank.accounts.find((acc) => acc.id === id)!.ownerId)!;

    // A watch on y through server b: its wake-ups come from LISTEN on the direct URL.
    const watchAbort = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      const stream = api(AccountService, b, { token: owner(y.id).token, protocol: "grpc" }).watchAccount({ accountId: y.id }, { signal: watchAbort.signal });
      try {
        for await (const event of stream) {
          seen.push(event.entry?.transaction?.id ?? "");
          if (seen.length >= 3) return;
        }
      } catch (err) {
        if (!watchAbort.signal.aborted) throw err;
      }
    })();

    // Concurrent transfers from both servers, so the two pooled server connections interleave.
    const transfers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const from = i % 2 === 0 ? x : z;
        return api(TransactionService, i % 2 === 0 ? a : b, { token: owner(from.id).token }).transfer({
          requestId: `pgb-t${i}`,
          fromAccountId: from.id,
          target: { case: "toAccountId", value: y.id },
          amount: { currency: "USD", minorUnits: 100n },
          description: `t${i}`,
        });
      }),
    );
    expect(transfers.every((t) => t.transaction?.id)).toBe(true);

    const batch = await api(TransactionService, b, { token: owner(x.id).token }).batchTransfer({
      requestId: "pgb-batch",
      atomic: true,
      transfers: [
        { requestId: "pgb-b1", fromAccountId: x.id, target: { case: "toAccountId", value: y.id }, amount: { currency: "USD", minorUnits: 50n }, description: "b1" },
        { requestId: "pgb-b2", fromAccountId: x.id, target: { case: "toAccountId", value: z.id }, amount: { currency: "USD", minorUnits: 70n }, description: "b2" },
      ],
    });
    expect(batch.results.map((r) => r.result.case)).toEqual(["transaction", "transaction"]);

    // The statement of y: its deposit and 21 credits.
    const statement = await api(TransactionService, a, { token: owner(y.id).token }).listTransactions({ accountId: y.id, pageSize: 100 });
    expect(statement.entries.length).toBe(1 + 20 + 1);
    const balance = await api(AccountService, b, { token: owner(y.id).token }).getBalance({ accountId: y.id });
    expect(balance.ledgerBalance?.minorUnits).toBe(100_000n + 20n * 100n + 50n);

    await watching.finally(() => watchAbort.abort());
    expect(seen.length).toBe(3);

    // The books balance, and the pooler really carried bankd's connections.
    const probe = await openProbe(cluster.url("bankd"));
    try {
      expect(await checkLedger(probe)).toEqual([]);
    } finally {
      await probe.close();
    }
    const clients = await bouncer.show("CLIENTS");
    expect(clients.filter((c) => c.database === "bankd").length).toBeGreaterThan(0);
    const servers_ = await bouncer.show("SERVERS");
    expect(servers_.filter((s) => s.database === "bankd").length).toBeLessThanOrEqual(2);
    for (const s of servers) expect(s.logLines().filter((l) => /prepared statement|unsupported startup parameter|"level":50/.test(l))).toEqual([]);
  });
});
