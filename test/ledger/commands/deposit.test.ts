// Goal: Deposit's rules without a database: parse checks the shape and names the account's
// settlement shard; apply credits the account and debits its settlement shard (entries sum to
// zero), counts the deposit and incoming daily limits, audits transaction.deposit; an account
// that is frozen, closed, in another currency or not the caller's is refused, touching nothing.
import * as deposit from "../../../src/ledger/commands/deposit";
import { account, alice, batchOver, bob, context, NOW, refusal, settlement, state, teller, usd } from "./support";

describe("deposit (no database)", () => {
  const shard = settlement();
  const ctx = context({ USD: shard.id });
  const mine = account({ ownerId: "alice", balance: 100n });
  const parsed = deposit.parse(ctx, { requestId: "r1", accountId: mine.id, amount: usd(250), description: "pay" });

  test("parse: the shape, and the settlement shard the account posts against; locks: both", () => {
    expect(parsed).toEqual({ requestId: "r1", accountId: mine.id, amount: { currency: "USD", minor: 250n }, description: "pay", settlementId: shard.id });
    expect(deposit.locks(parsed).accounts({ transaction: () => undefined, entriesOf: () => [] })).toEqual({ ids: [mine.id, shard.id] });
    expect(refusal(() => deposit.parse(ctx, { requestId: "r1", accountId: mine.id, amount: usd(0), description: "" })).reason).toBe("AMOUNT_NOT_POSITIVE");
    expect(refusal(() => deposit.parse(ctx, { requestId: "", accountId: mine.id, amount: usd(1), description: "" })).reason).toBe("REQUEST_ID_REQUIRED");
    expect(refusal(() => deposit.parse(ctx, { requestId: "r1", accountId: "x", amount: usd(1), description: "" })).reason).toBe("ID_INVALID");
  });

  test("apply: the account gains, its settlement shard gives, one entry each; usage and audit recorded", () => {
    const batch = batchOver([mine, shard]);
    const t = deposit.apply(batch, alice, parsed);
    expect([t.type, t.status, t.amount, t.fromAccountId, t.toAccountId, t.initiatedBy]).toEqual(["DEPOSIT", "POSTED", 250n, "", mine.id, "alice"]);
    expect(state(batch, mine.id)).toEqual({ balance: 350n, held: 0n, entries: 1 });
    expect(state(batch, shard.id)).toEqual({ balance: -250n, held: 0n, entries: 1 });
    expect(batch.entries.map((e) => [e.accountId, e.amount, e.balanceAfter])).toEqual([[mine.id, 250n, 350n], [shard.id, -250n, -250n]]);
    const usage = batch.account(mine.id)!.usage;
    expect([usage.deposit, usage.incoming, usage.withdrawal]).toEqual([250n, 250n, 0n]);
    expect(batch.audits.map((a) => [a.action, a.targetId, a.outcome, JSON.parse(a.details)])).toEqual([["transaction.deposit", t.id, "SUCCESS", { amount: "250", currency: "USD", account_id: mine.id }]]);
    expect(t.createTimeMs).toBe(NOW);
    batch.assertBatch();
  });

  test.each([
    ["a frozen account", { status: "FROZEN" as const }, alice, "ACCOUNT_FROZEN"],
    ["a closed account", { status: "CLOSED" as const }, alice, "ACCOUNT_CLOSED"],
    ["an account in another currency", { currency: "EUR" }, alice, "CURRENCY_MISMATCH"],
    ["another customer's account", {}, bob, "ACCOUNT_NOT_FOUND"],
    ["the deposit limit passed", { limits: { deposit: 249n, withdrawal: null, transferOut: null, incoming: null } }, alice, "DAILY_LIMIT_EXCEEDED"],
    ["the incoming limit passed", { limits: { deposit: null, withdrawal: null, transferOut: null, incoming: 100n } }, teller, "DAILY_LIMIT_EXCEEDED"],
  ])("refused: %s, and nothing changed", (_name, over, who, reason) => {
    const target = { ...mine, ...over };
    const batch = batchOver([target, shard]);
    expect(refusal(() => deposit.apply(batch, who, parsed)).reason).toBe(reason);
    expect([state(batch, mine.id), batch.entries.length, batch.audits.length]).toEqual([{ balance: 100n, held: 0n, entries: 0 }, 0, 0]);
  });

  test("a teller may deposit into a customer's account", () => {
    const batch = batchOver([mine, shard]);
    expect(deposit.apply(batch, teller, parsed).initiatedBy).toBe("teller");
  });
});
