// Goal: the audit aggregator bounds what an attacker can make us write. Repeats of one key within
// a window become ONE appended event carrying the count, written when the window ends (or at
// stop); a later window is a new event and the earlier one is never touched; keys beyond the
// bound are counted under one overflow key per action; several targets under one key are
// counted, not listed; a database that cannot take the events costs a log line, never a throw.
import { Writable } from "node:stream";
import { Database } from "../../src/db/database";
import { AuditAggregator } from "../../src/audit/aggregate";
import type { AuditInput } from "../../src/audit/recorder";
import { sealAll } from "../../src/audit/sealer";
import { verifyChain } from "../../src/audit/verifier";
import { createLogger } from "../../src/logger";
import { engines, type TestDatabase, openMigratedDatabase, closeMigratedDatabase } from "../support/db";
import { chainRows, resetChain } from "./support";
import { eventually } from "../support/wait";

function refusal(overrides: Partial<AuditInput> = {}): AuditInput {
  return { actorId: "anonymous", action: "auth.token_refused", targetId: "/bank.v1.AuthService/GetCurrentUser", outcome: "DENIED", clientAddress: "198.51.100.7", requestId: "r1", details: { reason: "TOKEN_INVALID" }, ...overrides };
}

describe.each(engines())("audit aggregator on %s", (engine) => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => ({ tdb, db } = await openMigratedDatabase(engine)));
  afterAll(() => closeMigratedDatabase(db, tdb));
  beforeEach(() => resetChain(db));

  const details = (row: { details: string }) => JSON.parse(row.details) as Record<string, unknown>;

  test("repeats within a window are one event with the count, appended when the window ends; the next window is a new event", async () => {
    const aggregator = new AuditAggregator(db, { windowMs: 300, keysMax: 10, targetsMax: 10 });
    try {
      for (let i = 0; i < 7; i++) aggregator.note("k", refusal({ requestId: `r${i}` }));
      expect(await chainRows(db)).toEqual([]);
      const first = await eventually("the first chain row appeared", async () => (await chainRows(db)).at(0));
      expect(first).toMatchObject({ action: "auth.token_refused", outcome: "DENIED", target_id: refusal().targetId, client_address: "198.51.100.7", request_id: "r0" });
      expect(details(first)).toMatchObject({ reason: "TOKEN_INVALID", count: 7, window_ms: 300 });
      await sealAll(db);
      const sealed = (await chainRows(db))[0]!;

      for (let i = 0; i < 2; i++) aggregator.note("k", refusal());
      const second = await eventually("the second chain row appeared", async () => (await chainRows(db)).at(1));
      expect(details(second)).toMatchObject({ count: 2 });
      // The first window's event is untouched, and the chain holds.
      expect((await chainRows(db))[0]).toEqual(sealed);
      await sealAll(db);
      expect((await verifyChain(db)).ok).toBe(true);
    } finally {
      await aggregator.stop();
    }
  });

  test("stop() appends what is still counting, without waiting for the window", async () => {
    const aggregator = new AuditAggregator(db, { windowMs: 3_600_000, keysMax: 10, targetsMax: 10 });
    aggregator.note("a", refusal());
    aggregator.note("a", refusal());
    aggregator.note("b", refusal({ clientAddress: "203.0.113.1" }));
    await aggregator.stop();
    const rows = await chainRows(db);
    expect(rows.map((r) => [r.client_address, details(r).count])).toEqual([["198.51.100.7", 2], ["203.0.113.1", 1]]);
    expect(aggregator.size).toBe(0);
  });

  test("keys beyond keysMax are counted under one overflow key per action", async () => {
    const aggregator = new AuditAggregator(db, { windowMs: 3_600_000, keysMax: 2, targetsMax: 10 });
    for (let i = 0; i < 50; i++) aggregator.note(`address-${i}`, refusal({ clientAddress: `10.0.0.${i}` }));
    aggregator.note("other-action", refusal({ action: "auth.session_revoke" }));
    expect(aggregator.size).toBe(4);
    await aggregator.stop();
    const rows = await chainRows(db);
    expect(rows).toHaveLength(4);
    const overflow = rows.filter((r) => details(r).overflow === true);
    expect(overflow.map((r) => [r.action, details(r).count, r.client_address])).toEqual([
      ["auth.token_refused", 48, ""],
      ["auth.session_revoke", 1, ""],
    ]);
  });

  test("several targets under one key: the event counts them instead of naming one", async () => {
    const aggregator = new AuditAggregator(db, { windowMs: 3_600_000, keysMax: 10, targetsMax: 3 });
    for (let i = 0; i < 5; i++) aggregator.note("probe", refusal({ targetId: `session-${i}` }));
    await aggregator.stop();
    const [row] = await chainRows(db);
    expect(row!.target_id).toBe("");
    expect(details(row!)).toMatchObject({ count: 5, distinct_targets: 3 });
  });

  test("a database that cannot take the events: note() never throws, the loss is logged with its count", async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString("utf8")), done()) });
    const closed = await Database.open(tdb.config);
    await closed.close();
    const aggregator = new AuditAggregator(closed, { windowMs: 3_600_000, keysMax: 10, targetsMax: 10, logger: createLogger("error", sink) });
    expect(() => aggregator.note("k", refusal())).not.toThrow();
    await expect(aggregator.stop()).resolves.toBeUndefined();
    const logged = await eventually("the aggregated log line", async () => lines.map((l) => JSON.parse(l) as { msg: string; occurrences: number }).find((l) => l.msg.includes("aggregated")));
    expect(logged.occurrences).toBe(1);
  });
});
