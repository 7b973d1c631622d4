// Goal: on PostgreSQL a batch of single transfers costs three round trips whatever its size
// (BEGIN travels with the lock statement; one write statement; COMMIT), on a direct connection
// (named prepared statements) and behind a transaction pooler (unnamed statements, SET LOCAL
// statement_timeout sent with BEGIN); the statements are prepared once per connection, and the
// ledger balances afterwards. Counted with bankd_db_round_trips_total and pg_prepared_statements.
import { Role } from "../../gen/bank/v1/access_pb";
import { Database } from "../../src/db/database";
import { createAccount } from "../../src/ledger/accounts";
import { Ledger } from "../../src/ledger/ledger";
import { deposit, transfer } from "../../src/ledger/commands";
import { createMetrics, type Metrics } from "../../src/metrics";
import { loadConfig } from "../../src/config";
import { createTestDatabase, describeEachPostgres, type TestDatabase } from "../support/db";
import { addUser, entriesMatchBalances, rid, usd } from "./support";

const roundTrips = async (metrics: Metrics): Promise<number> => (await metrics.dbRoundTrips.get()).values[0]?.value ?? 0;
const committed = async (metrics: Metrics): Promise<number> => (await metrics.postingBatches.get()).values.find((v) => v.labels.outcome === "committed")?.value ?? 0;

describeEachPostgres("a batch's round trips on %s", () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase("postgres");
  });
  afterAll(async () => testDb.drop());

  for (const pooled of [false, true]) {
    test(`${pooled ? "behind a transaction pooler (unnamed statements)" : "direct (named prepared statements)"}: 3 round trips per batch of transfers`, async () => {
      const config = pooled && testDb.config.kind === "postgres" ? { ...testDb.config, directUrl: testDb.config.url } : testDb.config;
      const metrics = createMetrics();
      const db = await Database.open(config, metrics);
      await db.migrate();
      const ledger = await Ledger.open(db, loadConfig({ BANK_DATA_DIR: testDb.dataDir }).currencies, { metrics, postingBatchMax: 64 });
      try {
        const admin = await addUser(db, [Role.ADMIN, Role.TELLER]);
        const open = () => createAccount(ledger, admin, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" });
        const accounts = await Promise.all(Array.from({ length: 8 }, open));
        for (const a of accounts) await deposit(ledger, admin, { requestId: rid(), accountId: a.id, amount: usd(1_000), description: "" });
        const pay = (i: number) => transfer(ledger, admin, { requestId: rid(), fromAccountId: accounts[i % 8]!.id, toAccountId: accounts[(i + 3) % 8]!.id, toAccountNumber: "", amount: usd(1), description: "" });
        // Each round: 16 transfers submitted together (one or a few batches).
        for (let round = 0; round < 5; round++) {
          const tripsBefore = await roundTrips(metrics);
          const batchesBefore = await committed(metrics);
          const posted = await Promise.all(Array.from({ length: 16 }, (_, i) => pay(i)));
          expect(posted).toHaveLength(16);
          const batches = (await committed(metrics)) - batchesBefore;
          expect(batches).toBeGreaterThanOrEqual(1);
          expect((await roundTrips(metrics)) - tripsBefore).toBe(3 * batches);
        }
        // Direct: the engine's statements are named, each prepared once per connection.
        const prepared = await db.read((tx) => tx.all<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE name LIKE 'bankd_%'"));
        if (pooled) expect(prepared).toEqual([]);
        expect(await entriesMatchBalances(db)).toEqual([]);
      } finally {
        await ledger.stop();
        await db.close();
      }
    });
  }
});
