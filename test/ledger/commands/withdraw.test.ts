// Goal: Withdraw's rules without a database: apply debits the account and credits its settlement
// shard, within the available balance (balance - held + overdraft_limit), counting the daily
// withdrawal limit; below the floor is INSUFFICIENT_FUNDS and changes nothing.
import * as withdraw from "../../../src/ledger/commands/withdraw";
import { account, alice, batchOver, context, refusal, settlement, state, usd } from "./support";

describe("withdraw (no database)", () => {
  const shard = settlement();
  const ctx = context({ USD: shard.id });
  const mine = account({ ownerId: "alice", balance: 100n, held: 30n, overdraftLimit: 50n });
  const take = (minor: number) => withdraw.parse(ctx, { requestId: "r1", accountId: mine.id, amount: usd(minor), description: "" });

  test("apply: the account gives, its settlement shard gains; usage and audit recorded", () => {
    const batch = batchOver([mine, shard]);
    const t = withdraw.apply(batch, alice, take(120));
    expect([t.type, t.fromAccountId, t.toAccountId]).toEqual(["WITHDRAWAL", mine.id, ""]);
    expect(state(batch, mine.id)).toEqual({ balance: -20n, held: 30n, entries: 1 });
    expect(state(batch, shard.id)).toEqual({ balance: 120n, held: 0n, entries: 1 });
    expect(batch.account(mine.id)!.usage.withdrawal).toBe(120n);
    expect(batch.account(mine.id)!.usage.incoming).toBe(0n);
    expect(batch.audits.map((a) => a.action)).toEqual(["transaction.withdraw"]);
    batch.assertBatch();
  });

  test("the floor: up to the available balance (held counted, overdraft allowed), not a cent more", () => {
    expect(state(((b) => (withdraw.apply(b, alice, take(120)), b))(batchOver([mine, shard])), mine.id).balance).toBe(-20n);
    const batch = batchOver([mine, shard]);
    const err = refusal(() => withdraw.apply(batch, alice, take(121)));
    expect([err.reason, err.metadata]).toEqual(["INSUFFICIENT_FUNDS", { account_id: mine.id }]);
    expect([state(batch, mine.id), batch.entries.length]).toEqual([{ balance: 100n, held: 30n, entries: 0 }, 0]);
  });

  test("the daily withdrawal limit", () => {
    const batch = batchOver([mine, shard], { limits: { withdrawal: 50n } });
    const err = refusal(() => withdraw.apply(batch, alice, take(51)));
    expect([err.reason, err.metadata.direction, err.metadata.limit]).toEqual(["DAILY_LIMIT_EXCEEDED", "withdrawal", "50"]);
    expect(withdraw.apply(batch, alice, take(50)).amount).toBe(50n);
  });

  test("a frozen account gives nothing", () => {
    const batch = batchOver([{ ...mine, status: "FROZEN" }, shard]);
    expect(refusal(() => withdraw.apply(batch, alice, take(1))).reason).toBe("ACCOUNT_FROZEN");
  });
});
