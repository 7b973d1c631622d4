// Goal: the sealer numbers and hash-chains committed audit events after commit, in
// (event_time, id) order continuing from the chain head, with the documented canonical encoding;
// and the verifier accepts an intact chain and points at the first edited, deleted, reordered or
// rehashed event, or at a head that no longer matches — on SQLite and PostgreSQL.
import { createHash } from "node:crypto";
import { Database } from "../../src/db/database";
import { recordAudit } from "../../src/audit/recorder";
import { GENESIS_HASH, chainHash, type AuditEventRow } from "../../src/audit/chain";
import { countUnsealed, sealAll, sealBatch } from "../../src/audit/sealer";
import { verifyChain } from "../../src/audit/verifier";
import { engines, type TestDatabase, openMigratedDatabase, closeMigratedDatabase } from "../support/db";
import { chainRows, idAtSeq, recordEvents, resetChain, sampleEvent, snapshot, swapSeq, type Snapshot } from "./support";

describe.each(engines())("audit chain on %s", (engine) => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => ({ tdb, db } = await openMigratedDatabase(engine)));
  afterAll(() => closeMigratedDatabase(db, tdb));
  beforeEach(() => resetChain(db));

  test("an empty chain verifies", async () => {
    const result = await verifyChain(db);
    expect(result).toMatchObject({ ok: true, eventsChecked: 0, head: { seq: 0, hash: GENESIS_HASH } });
  });

  test("events are recorded unsealed; the sealer gives them seq 1..N in (event_time, id) order", async () => {
    // Recorded out of time order: the seal order follows event_time, not insertion order.
    const times = [5_000, 1_000, 3_000, 1_000, 2_000];
    const ids: string[] = [];
    for (const [i, t] of times.entries()) ids.push(await db.transaction((tx) => recordAudit(tx, sampleEvent(i), t)));
    expect(await countUnsealed(db)).toBe(5);
    expect((await chainRows(db)).every((r) => r.seq === null && r.hash === null)).toBe(true);

    expect(await sealAll(db)).toBe(5);
    expect(await countUnsealed(db)).toBe(0);
    const rows = await chainRows(db);
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
    const expectedOrder = ids.map((id, i) => ({ id, t: times[i]! })).sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1)).map((e) => e.id);
    expect(rows.map((r) => r.id)).toEqual(expectedOrder);
    // Each links to the one before it; the head holds the last.
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
      expect(rows[i]!.prev_event_id).toBe(rows[i - 1]!.id);
    }
    expect(await verifyChain(db)).toMatchObject({ ok: true, eventsChecked: 5, head: { seq: 5, hash: rows[4]!.hash, eventId: rows[4]!.id } });
  });

  test("an event committed after a sealing pass gets the next seq even with an earlier time: seq orders the chain", async () => {
    await recordEvents(db, 3, 10_000);
    await sealAll(db);
    const late = await db.transaction((tx) => recordAudit(tx, sampleEvent(9), 1_000));
    await sealAll(db);
    const rows = await chainRows(db);
    expect(rows.map((r) => r.id).indexOf(late)).toBe(3);
    expect(Number(rows[3]!.seq)).toBe(4);
    expect((await verifyChain(db)).ok).toBe(true);
  });

  test("sealing in small batches continues the chain from the head; sealing again seals nothing", async () => {
    await recordEvents(db, 7);
    expect(await sealBatch(db, 3)).toEqual({ sealed: 3, skipped: false });
    expect(await sealBatch(db, 3)).toEqual({ sealed: 3, skipped: false });
    expect(await sealBatch(db, 3)).toEqual({ sealed: 1, skipped: false });
    expect(await sealBatch(db, 3)).toEqual({ sealed: 0, skipped: false });
    expect(await verifyChain(db, 2)).toMatchObject({ ok: true, eventsChecked: 7, head: { seq: 7 } });
  });

  test("a rolled-back transaction leaves no event behind", async () => {
    await expect(
      db.transaction(async (tx) => {
        await recordAudit(tx, sampleEvent(1));
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect(await countUnsealed(db)).toBe(0);
  });

  test("recordAudit refuses details keys that could carry a secret", async () => {
    for (const key of ["password", "new_password", "refresh_token", "password_hash", "secret"]) {
      await expect(db.transaction((tx) => recordAudit(tx, sampleEvent(1, { details: { [key]: "x" } })))).rejects.toThrow(/secrets/);
    }
    expect(await countUnsealed(db)).toBe(0);
  });

  test("the hash is SHA-256 over the previous hash and the documented JSON array", async () => {
    await recordEvents(db, 2);
    await sealAll(db);
    const [first, second] = (await chainRows(db)) as [AuditEventRow, AuditEventRow];
    const encode = (r: AuditEventRow) =>
      JSON.stringify([r.id, String(r.event_time), r.actor_id, r.action, r.target_id, r.outcome, r.client_address, r.request_id, r.details, String(r.seq), r.prev_event_id ?? ""]);
    const sha = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
    expect(first.prev_event_id).toBe("");
    expect(first.hash).toBe(sha(GENESIS_HASH + encode(first)));
    expect(second.hash).toBe(sha(first.hash + encode(second)));
    expect(second.hash).toBe(chainHash(first.hash!, second));
  });

  describe("tampering with stored rows", () => {
    const N = 8;
    let snap: Snapshot;
    let ids: string[];
    beforeEach(async () => {
      await recordEvents(db, N);
      await sealAll(db);
      snap = await snapshot(db);
      ids = snap.rows.map((r) => r.id);
    });

    const sql = (statement: string, params: unknown[] = []) => db.transaction((tx) => tx.run(statement, params));
    const idOf = (seq: number) => ids[seq - 1]!;

    // [what, tamper, seq of the event the report must name, problem pattern]
    const cases: [string, () => Promise<unknown>, number, RegExp][] = [
      ["edit details", () => sql(`UPDATE audit_events SET details = ? WHERE seq = 3`, ['{"amount_minor":"1"}']), 3, /edited/],
      ["edit outcome", () => sql(`UPDATE audit_events SET outcome = 'SUCCESS' WHERE seq = 4`), 4, /edited/],
      ["edit actor", () => sql(`UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 1`), 1, /edited/],
      ["edit the stored hash", () => sql(`UPDATE audit_events SET hash = ? WHERE seq = 2`, ["f".repeat(64)]), 2, /edited/],
      ["delete a middle event", () => sql(`DELETE FROM audit_events WHERE seq = 5`), 5, /deleted: seq 5 is missing/],
      ["delete the first event", () => sql(`DELETE FROM audit_events WHERE seq = 1`), 1, /deleted: seq 1 is missing/],
      ["delete two middle events", () => sql(`DELETE FROM audit_events WHERE seq IN (4, 5)`), 5, /deleted: seq 4 to 5 are missing/],
      ["delete the last event", () => sql(`DELETE FROM audit_events WHERE seq = ${N}`), N, new RegExp(`deleted: seq ${N} is missing.*head records seq ${N}`)],
      ["swap two events' seq", () => swapSeq(db, 3, 4), 3, /reordered/],
      ["un-seal an event (seq set to NULL)", () => sql(`UPDATE audit_events SET seq = NULL WHERE seq = 6`), 6, /deleted: seq 6 is missing/],
      ["roll the head back", () => sql(`UPDATE audit_chain_head SET seq = ${N - 1}`), N, /beyond the chain head/],
      ["edit the head's hash", () => sql(`UPDATE audit_chain_head SET hash = ?`, ["0".repeat(64)]), N, /head mismatch/],
    ];

    test.each(cases)("%s is reported at the right event", async (_what, tamper, badSeq, problem) => {
      expect((await verifyChain(db)).ok).toBe(true);
      await tamper();
      const result = await verifyChain(db, 3);
      expect(result.ok).toBe(false);
      expect(result.problem).toMatch(problem);
      expect(result.badSeq).toBe(badSeq);
      // Swapped events: the event now at seq 3 is the one sealed at seq 4.
      expect(result.firstBadEventId).toBe(_what.startsWith("swap") ? idOf(4) : idOf(badSeq));
    });

    test("an edited event whose hash was recomputed is still caught by the next event's link", async () => {
      const row = snap.rows[2]!;
      const forged = { ...row, details: '{"amount_minor":"1"}' };
      await sql(`UPDATE audit_events SET details = ?, hash = ? WHERE id = ?`, [forged.details, chainHash(row.prev_hash!, forged), row.id]);
      const result = await verifyChain(db);
      expect(result).toMatchObject({ ok: false, firstBadEventId: row.id, badSeq: 3 });
      expect(result.problem).toMatch(/rewritten and rehashed/);
    });

    test("events sealed after a tampered one are still numbered on from the head", async () => {
      await sql(`DELETE FROM audit_events WHERE seq = 2`);
      await recordEvents(db, 1, 1_800_000_000_000);
      await sealAll(db);
      expect(await idAtSeq(db, N + 1)).toBeDefined();
      expect((await verifyChain(db)).firstBadEventId).toBe(idOf(2));
    });
  });
});
