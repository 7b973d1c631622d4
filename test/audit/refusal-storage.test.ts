// Goal (fair-shares issue, attack 4): one customer cannot write the audit log and the key table
// at will. Non-atomic BatchTransfers of failing items (each item refused INSUFFICIENT_FUNDS but
// still stored: its idempotency key keeps the failure, the API's contract) are bounded by the
// customer's posting rate (limits.postingsPerCustomerPerSecond); their audit events are
// aggregated. Measured on PostgreSQL through a real server: the bytes the database grows per
// refused item (tables and indexes), times the rate for a day, stays within the figure
// docs/security.md states (STATED_BYTES_PER_DAY). Before: ~6,450 FAILED events and keys a second,
// 356 MB in 30 s on SQLite (~1 TB a day).
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { limits } from "../../src/limits";
import { describeEachPostgres } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser } from "../support/users";
import { rid } from "../ledger/support";

/** docs/security.md, "Resource exhaustion": the most one customer can make the bank store in a
 * day by refused postings. */
const STATED_BYTES_PER_DAY = 64 * 1024 ** 3;

describeEachPostgres("storage one customer's refusals can add, on %s", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp("postgres");
  });
  afterAll(async () => t.stop());

  const size = async () => {
    const row = await t.app.db.read((tx) => tx.one<{ bytes: string }>(
      `SELECT CAST(pg_total_relation_size('idempotency_keys') + pg_total_relation_size('audit_events') + pg_total_relation_size('transactions') + pg_total_relation_size('entries') AS TEXT) AS bytes`,
    ));
    return Number(row!.bytes);
  };

  test("refused BatchTransfer items: bytes per item x the posting rate x a day <= the stated figure; items past the rate are refused whole", async () => {
    const mallory = await createTestUser(t);
    const accounts = client(t.baseUrl, AccountService, { token: mallory.token });
    const money = client(t.baseUrl, TransactionService, { token: mallory.token });
    const empty = (await accounts.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "empty" })).account!;
    const sink = (await accounts.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "sink" })).account!;
    const items = () => Array.from({ length: limits.batchTransfersMax }, () => ({ requestId: rid(), fromAccountId: empty.id, target: { case: "toAccountId" as const, value: sink.id }, amount: { currency: "USD", minorUnits: 1n }, description: "" }));
    const before = await size();
    let stored = 0;
    let refusedWhole = 0;
    for (let i = 0; i < 8; i++) {
      try {
        const answer = await money.batchTransfer({ requestId: rid(), atomic: false, transfers: items() });
        stored += answer.results.length;
      } catch {
        refusedWhole++;
      }
    }
    const grown = (await size()) - before;
    const perItem = grown / stored;
    const perDay = perItem * limits.postingsPerCustomerPerSecond * 86_400;
    console.log(`refusal storage: ${stored} refused items stored, ${refusedWhole} calls refused whole (rate), ${grown} bytes: ${perItem.toFixed(0)} bytes per item, at most ${(perDay / 1024 ** 3).toFixed(1)} GiB a day at ${limits.postingsPerCustomerPerSecond} postings/s (stated: ${STATED_BYTES_PER_DAY / 1024 ** 3} GiB)`);
    expect(stored).toBeGreaterThanOrEqual(limits.postingRateBurst);
    expect(refusedWhole).toBeGreaterThan(0);
    expect(perDay).toBeLessThanOrEqual(STATED_BYTES_PER_DAY);
  });
});
