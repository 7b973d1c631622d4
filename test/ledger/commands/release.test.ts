// Goal: ReleaseHold's rules without a database: a pending hold's amount leaves `held` (a zero
// entry), the hold becomes RELEASED; once settled (captured, released, expired) it is
// HOLD_NOT_PENDING, even within the same batch.
import * as capture from "../../../src/ledger/commands/capture";
import * as release from "../../../src/ledger/commands/release";
import { account, alice, batchOver, context, NOW, refusal, row, state, teller } from "./support";

describe("release hold (no database)", () => {
  const acct = account({ ownerId: "alice", balance: 1_000n, held: 300n });
  const pending = row({ type: "HOLD", status: "PENDING", amount: 300n, fromAccountId: acct.id, expireTimeMs: NOW + 60_000, description: "card" });
  const parsed = release.parse({ requestId: "r1", holdId: pending.id });

  test("locks: the hold's row, then its account (none when it is not a hold)", () => {
    expect(release.locks(parsed).transactionIds).toEqual([pending.id]);
    expect(release.locks(parsed).accounts({ transaction: () => pending, entriesOf: () => [] })).toEqual({ ids: [acct.id] });
    expect(release.locks(parsed).accounts({ transaction: () => ({ ...pending, type: "DEPOSIT" }), entriesOf: () => [] })).toEqual({ ids: [] });
    expect(refusal(() => release.parse({ requestId: "r1", holdId: "" })).reason).toBe("ID_REQUIRED");
  });

  test("apply: held shrinks by the hold, the balance stays, the hold is RELEASED; audited", () => {
    const batch = batchOver([acct], { transactions: [pending] });
    const t = release.apply(batch, teller, parsed);
    expect([t.type, t.amount, t.holdId, t.description]).toEqual(["RELEASE", 300n, pending.id, "card"]);
    expect(state(batch, acct.id)).toEqual({ balance: 1_000n, held: 0n, entries: 1 });
    expect(batch.transaction(pending.id)!.status).toBe("RELEASED");
    expect(batch.audits.map((a) => a.action)).toEqual(["transaction.hold.release"]);
    batch.assertBatch();
  });

  test("a hold captured earlier in the batch is not released; nor twice", () => {
    const batch = batchOver([acct, account({ ownerId: "bob" })], { transactions: [pending] });
    const payee = [...batch.lockedAccounts.values()][1]!;
    capture.apply(batch, teller, capture.parse(context(), { requestId: "c1", holdId: pending.id, toAccountId: payee.id }));
    expect(refusal(() => release.apply(batch, teller, parsed)).reason).toBe("HOLD_NOT_PENDING");
    const twice = batchOver([acct], { transactions: [pending] });
    release.apply(twice, teller, parsed);
    expect(refusal(() => release.apply(twice, teller, parsed)).reason).toBe("HOLD_NOT_PENDING");
  });

  test("a customer may release a hold on their own account; not on another's", () => {
    expect(release.apply(batchOver([acct], { transactions: [pending] }), alice, parsed).type).toBe("RELEASE");
    expect(refusal(() => release.apply(batchOver([acct], { transactions: [pending] }), { ...alice, userId: "bob" }, parsed)).reason).toBe("ACCOUNT_NOT_FOUND");
  });
});
