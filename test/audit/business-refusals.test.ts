// Goal (issue 25, attack 4): a principal repeating a business refusal writes a bounded number of
// audit events, not one per refusal. Per principal, action and reason, the first refusal of a
// window is its own FAILED event at once; the repeats within limits.auditAggregateWindowMs become
// ONE event (details.aggregated) with the count, the first limits.auditRefusalTargetsNamedMax
// distinct targets and how many occurrences had another. Over a real server and real clients: a
// customer asks 150 times to close its three funded accounts (FAILED_PRECONDITION
// ACCOUNT_NOT_EMPTY, each answered as before); while the window runs one event is stored, and
// the window's event (appended at shutdown here) counts the other 149 over 3 targets. Another
// customer's single refusal is recorded at once. On the aggregator itself: 120 distinct targets
// name 50 and say 69 more.
//
// Money commands too: the posting engine asks BusinessRefusals.recordNow before it writes a
// refusal's event in its batch, so 150 transfers refused INSUFFICIENT_FUNDS (single and as
// BatchTransfer items) write one event at once and one aggregated event. A batch retried as a
// whole (a lost connection) may count its repeats twice in the aggregated event: the count is an
// upper bound then (docs/security.md).
import { Code, ConnectError } from "@connectrpc/connect";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { Database } from "../../src/db/database";
import { BusinessRefusals } from "../../src/audit/business-refusals";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, type TestUser } from "../support/users";
import { openLedger, rid } from "../ledger/support";

interface Row {
  actor_id: string;
  target_id: string;
  outcome: string;
  details: string;
}

const closeEvents = (db: Database, actorId: string) =>
  db.read((tx) => tx.all<Row>(`SELECT actor_id, target_id, outcome, details FROM audit_events WHERE action = 'account.close' AND actor_id = ? ORDER BY event_time, id`, [actorId]));

describe.each(engines())("business refusals on %s", (engine) => {
  test("150 refused CloseAccount calls of one customer: one event at once, one aggregated event for the window", async () => {
    const t: TestApp = await startTestApp(engine);
    let dropped = false;
    try {
      const greedy = await createTestUser(t);
      const accounts = client(t.baseUrl, AccountService, { token: greedy.token });
      const money = client(t.baseUrl, TransactionService, { token: greedy.token });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const a = (await accounts.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "full" })).account!;
        await money.deposit({ requestId: rid(), accountId: a.id, amount: { currency: "USD", minorUnits: 100n }, description: "" });
        ids.push(a.id);
      }
      const reasons: string[] = [];
      for (let round = 0; round < 15; round++) {
        const answers = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => accounts.closeAccount({ accountId: ids[(round * 10 + i) % 3]! })));
        for (const a of answers) reasons.push(a.status === "rejected" ? `${Code[ConnectError.from(a.reason).code]} ${ConnectError.from(a.reason).findDetails(ErrorInfoSchema)[0]?.reason}` : "closed");
      }
      expect(new Set(reasons)).toEqual(new Set(["FailedPrecondition ACCOUNT_NOT_EMPTY"]));
      const during = await closeEvents(t.app.db, greedy.id);
      expect(during).toHaveLength(1);
      expect(JSON.parse(during[0]!.details)).toMatchObject({ reason: "ACCOUNT_NOT_EMPTY" });
      expect(JSON.parse(during[0]!.details).aggregated).toBeUndefined();

      const other: TestUser = await createTestUser(t);
      const mine = (await client(t.baseUrl, AccountService, { token: other.token }).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "" })).account!;
      await client(t.baseUrl, TransactionService, { token: other.token }).deposit({ requestId: rid(), accountId: mine.id, amount: { currency: "USD", minorUnits: 1n }, description: "" });
      await expect(client(t.baseUrl, AccountService, { token: other.token }).closeAccount({ accountId: mine.id })).rejects.toMatchObject({ code: Code.FailedPrecondition });
      expect(await closeEvents(t.app.db, other.id)).toHaveLength(1);

      // A clean shutdown appends the window's event; read it back on the same database.
      await t.app.shutdown();
      const db = await Database.open(t.db.config);
      try {
        const after = await closeEvents(db, greedy.id);
        console.log(`business refusals (${engine}): ${reasons.length} refused calls -> ${after.length} audit events`);
        expect(after).toHaveLength(2);
        expect(after[1]).toMatchObject({ outcome: "FAILED", target_id: "" });
        expect(JSON.parse(after[1]!.details)).toMatchObject({ reason: "ACCOUNT_NOT_EMPTY", aggregated: true, count: reasons.length - 1, distinct_targets: 3, window_ms: limits.auditAggregateWindowMs });
      } finally {
        await db.close();
      }
      await t.db.drop();
      dropped = true;
    } finally {
      if (!dropped) await t.stop();
    }
  });

  test("150 transfers refused INSUFFICIENT_FUNDS (single and batch items): one event at once, one aggregated event for the window", async () => {
    const t: TestApp = await startTestApp(engine);
    let dropped = false;
    try {
      const broke = await createTestUser(t);
      const accounts = client(t.baseUrl, AccountService, { token: broke.token });
      const money = client(t.baseUrl, TransactionService, { token: broke.token });
      const from = (await accounts.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "empty" })).account!;
      const to = (await accounts.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "sink" })).account!;
      const item = () => ({ requestId: rid(), fromAccountId: from.id, target: { case: "toAccountId" as const, value: to.id }, amount: { currency: "USD", minorUnits: 1n }, description: "" });
      let refused = 0;
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.allSettled(Array.from({ length: 10 }, () => money.transfer(item())));
        refused += answers.filter((a) => a.status === "rejected").length;
      }
      const batch = await money.batchTransfer({ requestId: rid(), atomic: false, transfers: Array.from({ length: 50 }, item) });
      refused += batch.results.filter((r) => r.result.case === "error").length;
      expect(refused).toBe(150);
      const events = (db: Database) => db.read((tx) => tx.all<Row>(`SELECT actor_id, target_id, outcome, details FROM audit_events WHERE actor_id = ? AND outcome = 'FAILED' ORDER BY event_time, id`, [broke.id]));
      const during = await events(t.app.db);
      expect(during).toHaveLength(1);
      expect(JSON.parse(during[0]!.details)).toMatchObject({ reason: "INSUFFICIENT_FUNDS" });
      await t.app.shutdown();
      const db = await Database.open(t.db.config);
      try {
        const after = await events(db);
        console.log(`business refusals of money commands (${engine}): ${refused} refused -> ${after.length} audit events`);
        // One event per action: transaction.transfer (single) and the batch's items.
        expect(after.length).toBeLessThanOrEqual(3);
        const counted = after.reduce((n, e) => n + (JSON.parse(e.details).aggregated ? Number(JSON.parse(e.details).count) : 1), 0);
        expect(counted).toBe(refused);
      } finally {
        await db.close();
      }
      await t.db.drop();
      dropped = true;
    } finally {
      if (!dropped) await t.stop();
    }
  });

  test("on the aggregator: the first targets are named, the rest counted", async () => {
    const f = await openLedger(engine);
    try {
      const refusals = new BusinessRefusals(f.db);
      const event = (i: number) => ({ actorId: "prober", action: "transaction.transfer", targetId: `acct-${i}`, outcome: "FAILED" as const, clientAddress: "192.0.2.1", requestId: `call-${i}`, details: { code: "FailedPrecondition", reason: "INSUFFICIENT_FUNDS" } });
      const now = Date.now();
      const recorded = Array.from({ length: 120 }, (_, i) => refusals.recordNow(event(i), now + i));
      expect(recorded.filter(Boolean)).toHaveLength(1);
      expect(recorded[0]).toBe(true);
      // A DENIED one is never aggregated here.
      expect(refusals.recordNow({ ...event(0), outcome: "DENIED" }, now)).toBe(true);
      await refusals.stop();
      const rows = await f.db.read((tx) => tx.all<Row>(`SELECT actor_id, target_id, outcome, details FROM audit_events WHERE actor_id = 'prober'`));
      expect(rows).toHaveLength(1);
      const details = JSON.parse(rows[0]!.details);
      expect(details).toMatchObject({ count: 119, distinct_targets: limits.auditRefusalTargetsNamedMax, more_targets_at_most: 119 - limits.auditRefusalTargetsNamedMax, aggregated: true });
      expect(details.targets.split(",")).toHaveLength(limits.auditRefusalTargetsNamedMax);
    } finally {
      await f.close();
    }
  });
});
