// Goal: under concurrency the chain stays a single valid chain. Many transactions in two
// "processes" (two Database handles on one database) record events at once while two sealers
// race: every event gets exactly one seq, seqs are 1..N without gaps, and the chain verifies.
// On PostgreSQL also: sealing never waits for open bank transactions, bank writes never wait for
// a sealer holding the chain lock, and a late committer simply gets a later seq.
import { Database } from "../../src/db/database";
import { recordAudit } from "../../src/audit/recorder";
import { SEALER_LOCK_KEY, countUnsealed, sealAll, sealBatch } from "../../src/audit/sealer";
import { verifyChain } from "../../src/audit/verifier";
import { createTestDatabase, describeEachPostgres, engines, type Engine, type TestDatabase } from "../support/db";
import { chainRows, resetChain, sampleEvent } from "./support";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function twoProcesses(engine: Engine) {
  const ctx = {} as { tdb: TestDatabase; a: Database; b: Database };
  beforeAll(async () => {
    ctx.tdb = await createTestDatabase(engine);
    ctx.a = await Database.open(ctx.tdb.config);
    await ctx.a.migrate();
    ctx.b = await Database.open(ctx.tdb.config);
  });
  afterAll(async () => {
    await ctx.a.close();
    await ctx.b.close();
    await ctx.tdb.drop();
  });
  beforeEach(() => resetChain(ctx.a));
  return ctx;
}

describe.each(engines())("concurrent writers and sealers on %s", (engine) => {
  const ctx = twoProcesses(engine);

  test("two racing sealers give every event exactly one seq and the chain verifies", async () => {
    // The seed drives the sleeps that interleave writers and sealers; BANK_TEST_SEED replays it.
    const seed = Number(process.env.BANK_TEST_SEED ?? Date.now() % 2 ** 31);
    console.log(`audit concurrency seed ${seed} (replay with BANK_TEST_SEED=${seed})`);
    let state = seed;
    const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const transactions = engine === "postgres" ? 60 : 24;
    const eventsPerTx = 4;
    let writing = true;
    const sealer = async (db: Database) => {
      let sealed = 0;
      while (writing) {
        sealed += (await sealBatch(db, 7)).sealed;
        await sleep(random() * 4);
      }
      return sealed;
    };
    const sealers = [sealer(ctx.a), sealer(ctx.b)];
    const writers = Array.from({ length: transactions }, (_, i) =>
      (i % 2 === 0 ? ctx.a : ctx.b).transaction(async (tx) => {
        const ids: string[] = [];
        for (let j = 0; j < eventsPerTx; j++) {
          ids.push(await recordAudit(tx, sampleEvent(i * eventsPerTx + j)));
          await sleep(random() * 3);
        }
        return ids;
      }),
    );
    const ids = (await Promise.all(writers)).flat();
    writing = false;
    const racing = await Promise.all(sealers);
    const last = await sealAll(ctx.a);

    const total = transactions * eventsPerTx;
    expect(racing[0]! + racing[1]! + last).toBe(total);
    expect(await countUnsealed(ctx.a)).toBe(0);
    const rows = await chainRows(ctx.a);
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(ids));
    expect(await verifyChain(ctx.b)).toMatchObject({ ok: true, eventsChecked: total, head: { seq: total } });
  });
});

describeEachPostgres("chain lock and open transactions on %s", (engine) => {
  const ctx = twoProcesses(engine);

  test("sealing skips uncommitted events without waiting; a late committer gets a later seq", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let recorded!: () => void;
    const inserted = new Promise<void>((resolve) => (recorded = resolve));
    // A bank transaction that recorded its event at the earliest time and has not committed.
    const open = ctx.a.transaction(async (tx) => {
      const id = await recordAudit(tx, sampleEvent(0), 1_000);
      recorded();
      await gate;
      return id;
    });
    await inserted;
    const committed = await Promise.all([2_000, 3_000].map((t, i) => ctx.b.transaction((tx) => recordAudit(tx, sampleEvent(i + 1), t))));
    expect(await sealAll(ctx.b)).toBe(2);
    release();
    const late = await open;
    expect(await sealAll(ctx.b)).toBe(1);
    const rows = await chainRows(ctx.a);
    expect(rows.map((r) => r.id)).toEqual([...committed, late]);
    expect((await verifyChain(ctx.a)).ok).toBe(true);
  });

  test("bank writes do not wait for a sealer holding the chain lock; a second sealer skips", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    // A sealer stalled while holding both the advisory lock and the head row.
    const stalled = ctx.b.transaction(async (tx) => {
      await tx.one(`SELECT pg_try_advisory_xact_lock(${SEALER_LOCK_KEY}) AS locked`);
      await tx.one(`SELECT seq FROM audit_chain_head WHERE id = 1 FOR UPDATE`);
      locked();
      await gate;
    });
    await holding;
    // These commit while the lock is held: recording an event touches no chain-wide lock.
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => ctx.a.transaction((tx) => recordAudit(tx, sampleEvent(i)))));
    expect(ids).toHaveLength(5);
    expect(await sealBatch(ctx.a)).toEqual({ sealed: 0, skipped: true });
    release();
    await stalled;
    expect(await sealAll(ctx.a)).toBe(5);
    expect((await verifyChain(ctx.a)).ok).toBe(true);
  });
});
