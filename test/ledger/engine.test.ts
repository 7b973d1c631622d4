// Goal: the posting engine's own promises, on SQLite and PostgreSQL: requests that arrive together
// share a batch (one unit of work); a poison request (an unexpected error) fails alone while its
// neighbours commit; a batch that fails as a whole is retried as a batch and every request still
// applies exactly once; a request whose call ended before its batch starts is dropped with
// nothing written; and on PostgreSQL two engines (two processes' worth of pools) racing with the
// same request_id apply it once and both answer the same transaction.
import { Role } from "../../gen/bank/v1/access_pb";
import { Database } from "../../src/db/database";
import { CallAbortedError, DatabaseUnavailableError } from "../../src/db/errors";
import { createAccount } from "../../src/ledger/accounts";
import { Ledger } from "../../src/ledger/ledger";
import { deposit, transfer } from "../../src/ledger/commands";
import { createMetrics } from "../../src/metrics";
import { loadConfig } from "../../src/config";
import type { Actor } from "../../src/ledger/types";
import { engines, postgresOnly } from "../support/db";
import { addUser, balanceSums, entriesMatchBalances, openLedger, rid, usd, writeCounts, type LedgerFixture } from "./support";

const SYSTEM: Actor = { userId: "test", roles: [], clientAddress: "", callId: "" };

describe.each(engines())("the posting engine on %s", (engine) => {
  let f: LedgerFixture;
  let admin: Actor;
  let a: string;
  let b: string;
  beforeAll(async () => {
    f = await openLedger(engine);
    admin = await addUser(f.db, [Role.ADMIN, Role.TELLER]);
    a = (await createAccount(f.ledger, admin, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" })).id;
    b = (await createAccount(f.ledger, admin, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" })).id;
    await deposit(f.ledger, admin, { requestId: rid(), accountId: a, amount: usd(1_000_000), description: "" });
  });
  afterAll(async () => f.close());

  const pay = (amount: number, requestId = rid()) => transfer(f.ledger, admin, { requestId, fromAccountId: a, toAccountId: b, toAccountNumber: "", amount: usd(amount), description: "" });

  test("requests submitted together share batches: 40 transfers commit in far fewer than 40 units of work", async () => {
    const metrics = createMetrics();
    const ledger = await Ledger.open(f.db, loadConfig({ BANK_DATA_DIR: f.testDb.dataDir }).currencies, { metrics });
    await Promise.all(Array.from({ length: 40 }, () => transfer(ledger, admin, { requestId: rid(), fromAccountId: a, toAccountId: b, toAccountNumber: "", amount: usd(1), description: "" })));
    await ledger.stop();
    const batches = (await metrics.postingBatches.get()).values.find((v) => v.labels.outcome === "committed")?.value ?? 0;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThan(10);
  });

  test("a poison request fails alone, with a plain Error; its neighbours in the batch commit", async () => {
    const before = await writeCounts(f.db);
    const poison = f.ledger.engine.submit({
      weight: 1,
      accounts: () => ({ ids: [a] }),
      apply: () => {
        throw new Error("a bug in one request");
      },
      failure: { actor: SYSTEM, action: "test", targetId: "", details: {} },
    });
    const neighbours = Array.from({ length: 5 }, () => pay(1));
    await expect(poison).rejects.toThrow("a bug in one request");
    const posted = await Promise.all(neighbours);
    expect(new Set(posted.map((t) => t.id)).size).toBe(5);
    const after = await writeCounts(f.db);
    expect(after.transactions! - before.transactions!).toBe(5);
    expect(await entriesMatchBalances(f.db)).toEqual([]);
  });

  test("a batch that fails as a whole is retried as a batch: every request applies exactly once", async () => {
    const before = await writeCounts(f.db);
    let failures = 0;
    const flaky = f.ledger.engine.submit({
      weight: 1,
      accounts: () => ({ ids: [a] }),
      apply: () => {
        // Fails the batch's unit of work the way a lost connection does, once.
        if (failures++ === 0) throw new DatabaseUnavailableError(new Error("connection lost"));
        return "ok";
      },
      failure: { actor: SYSTEM, action: "test", targetId: "", details: {} },
    });
    const neighbours = Array.from({ length: 4 }, () => pay(2));
    expect(await flaky).toBe("ok");
    expect(failures).toBe(2);
    await Promise.all(neighbours);
    expect((await writeCounts(f.db)).transactions! - before.transactions!).toBe(4);
    for (const total of (await balanceSums(f.db)).values()) expect(total).toBe(0n);
  });

  test("a request whose call ended before its batch starts is dropped, nothing written", async () => {
    const before = await writeCounts(f.db);
    const call = new AbortController();
    call.abort(new Error("deadline passed"));
    const late = transfer(f.ledger, { ...admin, signal: call.signal }, { requestId: rid(), fromAccountId: a, toAccountId: b, toAccountNumber: "", amount: usd(3), description: "" });
    await expect(late).rejects.toBeInstanceOf(CallAbortedError);
    expect(await writeCounts(f.db)).toEqual(before);
  });
});

const describePg = postgresOnly().length > 0 ? describe : describe.skip;
describePg("two engines on one PostgreSQL database", () => {
  let f: LedgerFixture;
  let other: { db: Database; ledger: Ledger };
  let admin: Actor;
  beforeAll(async () => {
    f = await openLedger("postgres");
    const db = await Database.open(f.testDb.config);
    other = { db, ledger: await Ledger.open(db, loadConfig({ BANK_DATA_DIR: f.testDb.dataDir }).currencies) };
    admin = await addUser(f.db, [Role.ADMIN, Role.TELLER]);
  });
  afterAll(async () => {
    await other.ledger.stop();
    await other.db.close();
    await f.close();
  });

  test("the same request_id raced through both applies once; both answer the same transaction", async () => {
    const a = (await createAccount(f.ledger, admin, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" })).id;
    const b = (await createAccount(f.ledger, admin, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" })).id;
    await deposit(f.ledger, admin, { requestId: rid(), accountId: a, amount: usd(10_000), description: "" });
    // b is funded too: the noise from b to a may be applied before any raced transfer reaches b.
    await deposit(f.ledger, admin, { requestId: rid(), accountId: b, amount: usd(10_000), description: "" });
    for (let round = 0; round < 10; round++) {
      const request = { requestId: rid("race"), fromAccountId: a, toAccountId: b, toAccountNumber: "", amount: usd(7), description: "race" };
      // Other traffic in both engines' batches, in opposite directions.
      const noise = [transfer(f.ledger, admin, { ...request, requestId: rid(), amount: usd(1) }), transfer(other.ledger, admin, { ...request, requestId: rid(), fromAccountId: b, toAccountId: a, amount: usd(1) })];
      const [x, y] = await Promise.all([transfer(f.ledger, admin, request), transfer(other.ledger, admin, request)]);
      await Promise.all(noise);
      expect(x.id).toBe(y.id);
    }
    const counts = await f.db.read((tx) => tx.one<{ n: string }>(`SELECT COUNT(*) AS n FROM transactions WHERE description = 'race' AND amount = 7`));
    expect(Number(counts!.n)).toBe(10);
    expect(await entriesMatchBalances(f.db)).toEqual([]);
    for (const total of (await balanceSums(f.db)).values()) expect(total).toBe(0n);
  });
});
