// Goal: ReverseTransaction's rules without a database: the exact opposite of the original's
// entries, the original REVERSED once (ALREADY_REVERSED after, even in the same batch); only
// posted deposits, withdrawals, transfers and captures; the floor of every debited account holds
// unless the admin forces it.
import * as reverse from "../../../src/ledger/commands/reverse";
import { account, admin, batchOver, refusal, row, state } from "./support";

describe("reverse (no database)", () => {
  const from = account({ ownerId: "alice", balance: 600n });
  const to = account({ ownerId: "bob", balance: 400n });
  const original = row({ type: "TRANSFER", status: "POSTED", amount: 400n, fromAccountId: from.id, toAccountId: to.id });
  const entries = { [original.id]: [{ accountId: from.id, amount: -400n }, { accountId: to.id, amount: 400n }] };
  const parsed = (force = false) => reverse.parse({ requestId: "v1", transactionId: original.id, reason: "mistake", force });
  const over = (...accounts: (typeof from)[]) => batchOver(accounts.length ? accounts : [from, to], { transactions: [original], entries });

  test("parse: a reason is required; locks: the original's row and entries, then the accounts they touched", () => {
    expect(refusal(() => reverse.parse({ requestId: "v1", transactionId: original.id, reason: " ", force: false })).reason).toBe("FIELD_REQUIRED");
    const locks = reverse.locks(parsed());
    expect([locks.transactionIds, locks.entriesOf]).toEqual([[original.id], [original.id]]);
    expect(locks.accounts({ transaction: () => original, entriesOf: () => entries[original.id]! })).toEqual({ ids: [from.id, to.id] });
    expect(locks.accounts({ transaction: () => undefined, entriesOf: () => [] })).toEqual({ ids: [] });
  });

  test("apply: the opposite entries, the original REVERSED, audited with its reason", () => {
    const batch = over();
    const t = reverse.apply(batch, admin, parsed());
    expect([t.type, t.reversesId, t.fromAccountId, t.toAccountId, t.description]).toEqual(["REVERSAL", original.id, to.id, from.id, "mistake"]);
    expect([state(batch, from.id).balance, state(batch, to.id).balance]).toEqual([1_000n, 0n]);
    expect(batch.transaction(original.id)!.status).toBe("REVERSED");
    expect(JSON.parse(batch.audits[0]!.details)).toMatchObject({ reverses_id: original.id, reason: "mistake", force: false });
    batch.assertBatch();
  });

  test("reversed once: the second in the same batch is ALREADY_REVERSED", () => {
    const batch = over();
    reverse.apply(batch, admin, parsed());
    expect(refusal(() => reverse.apply(batch, admin, parsed())).reason).toBe("ALREADY_REVERSED");
    expect(batch.entries.length).toBe(2);
  });

  test.each([
    ["a hold", { type: "HOLD" as const, status: "PENDING" as const }, "NOT_REVERSIBLE"],
    ["a reversal", { type: "REVERSAL" as const }, "NOT_REVERSIBLE"],
    ["a captured hold's row", { type: "HOLD" as const, status: "CAPTURED" as const }, "NOT_REVERSIBLE"],
    ["a reversed one", { status: "REVERSED" as const }, "ALREADY_REVERSED"],
  ])("refused: %s", (_name, over, reason) => {
    const batch = batchOver([from, to], { transactions: [{ ...original, ...over }], entries });
    expect(refusal(() => reverse.apply(batch, admin, parsed())).reason).toBe(reason);
  });

  test("an unknown transaction: TRANSACTION_NOT_FOUND", () => {
    expect(refusal(() => reverse.apply(batchOver([from, to]), admin, parsed())).reason).toBe("TRANSACTION_NOT_FOUND");
  });

  test("the floor: the payee spent the money: INSUFFICIENT_FUNDS, unless forced", () => {
    const spent = { ...to, balance: 100n };
    const batch = over(from, spent);
    expect(refusal(() => reverse.apply(batch, admin, parsed())).reason).toBe("INSUFFICIENT_FUNDS");
    expect(batch.entries.length).toBe(0);
    reverse.apply(batch, admin, parsed(true));
    expect(state(batch, to.id).balance).toBe(-300n);
  });
});
