// Goal: the hold sweeper's rule without a database: a hold still PENDING at or past its
// expire_time is released as EXPIRED by the system (on a frozen account too: releasing moves no
// money); anything else (not due yet, already settled, gone) expires nothing and writes nothing.
import * as expire from "../../../src/ledger/commands/expire";
import { account, batchOver, NOW, row, state } from "./support";

describe("expire hold (no database)", () => {
  const acct = account({ ownerId: "alice", balance: 1_000n, held: 300n, status: "FROZEN" });
  const due = row({ type: "HOLD", status: "PENDING", amount: 300n, fromAccountId: acct.id, expireTimeMs: NOW });

  test("a due hold: released as EXPIRED by the system, held back on a frozen account", () => {
    const batch = batchOver([acct], { transactions: [due] });
    expect(expire.apply(batch, due.id)).toBe(true);
    expect(state(batch, acct.id)).toEqual({ balance: 1_000n, held: 0n, entries: 1 });
    expect(batch.transaction(due.id)!.status).toBe("EXPIRED");
    const [t] = batch.newTransactions.values();
    expect([t!.type, t!.requestId, t!.initiatedBy, t!.description]).toEqual(["RELEASE", `expire:${due.id}`, "system", "Hold expired"]);
    expect(batch.audits.map((a) => [a.action, a.actorId])).toEqual([["transaction.hold.expire", "system"]]);
    expect(expire.locks(due.id)).toMatchObject({ transactionIds: [due.id] });
  });

  test.each([
    ["not due yet", { expireTimeMs: NOW + 1 }],
    ["captured already", { status: "CAPTURED" as const }],
    ["without an expiry", { expireTimeMs: null }],
  ])("%s: nothing expires", (_name, over) => {
    const batch = batchOver([acct], { transactions: [{ ...due, ...over }] });
    expect(expire.apply(batch, due.id)).toBe(false);
    expect([batch.entries.length, batch.statusChanges.size, batch.audits.length]).toEqual([0, 0, 0]);
  });

  test("a hold that is gone: nothing expires", () => {
    expect(expire.apply(batchOver([acct]), due.id)).toBe(false);
  });
});
