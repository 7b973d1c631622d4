// Goal: CreateHold's rules without a database: parse bounds expire_time (future, at most
// limits.holdTtlSecondsMax away; unset is the default TTL); apply moves `held` by the amount
// (a zero ledger entry: the balance does not move) within the available balance.
import * as hold from "../../../src/ledger/commands/hold";
import { limits } from "../../../src/limits";
import { account, batchOver, context, NOW, refusal, state, teller, usd } from "./support";

describe("create hold (no database)", () => {
  const ctx = context();
  const acct = account({ ownerId: "alice", balance: 500n, held: 100n });
  const input = { requestId: "r1", accountId: acct.id, amount: usd(300), description: "card" };

  test("parse: the default TTL, an explicit expire_time within bounds, EXPIRE_TIME_INVALID outside", () => {
    expect(hold.parse(ctx, input)).toMatchObject({ expireTimeMs: NOW + limits.holdTtlSecondsDefault * 1000, askedExpireTimeMs: null });
    expect(hold.parse(ctx, { ...input, expireTimeMs: NOW + 60_000 })).toMatchObject({ expireTimeMs: NOW + 60_000, askedExpireTimeMs: NOW + 60_000 });
    expect(refusal(() => hold.parse(ctx, { ...input, expireTimeMs: NOW })).reason).toBe("EXPIRE_TIME_INVALID");
    expect(refusal(() => hold.parse(ctx, { ...input, expireTimeMs: NOW + limits.holdTtlSecondsMax * 1000 + 1 })).reason).toBe("EXPIRE_TIME_INVALID");
    expect(hold.locks(hold.parse(ctx, input)).accounts({ transaction: () => undefined, entriesOf: () => [] })).toEqual({ ids: [acct.id] });
  });

  test("apply: held grows, the balance does not; a PENDING HOLD with its expiry, audited", () => {
    const batch = batchOver([acct]);
    const t = hold.apply(batch, teller, hold.parse(ctx, input));
    expect([t.type, t.status, t.amount, t.fromAccountId, t.expireTimeMs]).toEqual(["HOLD", "PENDING", 300n, acct.id, NOW + limits.holdTtlSecondsDefault * 1000]);
    expect(state(batch, acct.id)).toEqual({ balance: 500n, held: 400n, entries: 1 });
    expect(batch.entries.map((e) => e.amount)).toEqual([0n]);
    expect(batch.audits.map((a) => a.action)).toEqual(["transaction.hold.create"]);
    batch.assertBatch();
  });

  test("held counts against the available balance: INSUFFICIENT_FUNDS past it; a frozen account holds nothing", () => {
    expect(hold.apply(batchOver([acct]), teller, hold.parse(ctx, { ...input, amount: usd(400) })).amount).toBe(400n);
    const batch = batchOver([acct]);
    expect(refusal(() => hold.apply(batch, teller, hold.parse(ctx, { ...input, amount: usd(401) }))).reason).toBe("INSUFFICIENT_FUNDS");
    expect(state(batch, acct.id)).toEqual({ balance: 500n, held: 100n, entries: 0 });
    expect(refusal(() => hold.apply(batchOver([{ ...acct, status: "FROZEN" }]), teller, hold.parse(ctx, input))).reason).toBe("ACCOUNT_FROZEN");
  });
});
