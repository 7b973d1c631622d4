// Goal: Transfer's rules without a database: the caller operates the source, any active customer
// account of the currency receives (by id or by number); the caller's own side is checked before
// the payee's; a customer paying someone else learns nothing about the payee from a refusal
// (PAYEE_UNAVAILABLE), staff get the precise reason; an unknown payee is ACCOUNT_NOT_FOUND only
// once the source could have paid.
import * as transfer from "../../../src/ledger/commands/transfer";
import type { ParsedTransfer } from "../../../src/ledger/commands/transfer";
import { account, alice, batchOver, context, refusal, settlement, state, teller, usd } from "./support";

describe("transfer (no database)", () => {
  const ctx = context();
  const from = account({ ownerId: "alice", balance: 1_000n });
  const own = account({ ownerId: "alice" });
  const bobs = account({ ownerId: "bob" });
  /** A parsed transfer of `minor` cents from `from` to an account by id, or to a number. */
  const move = (to: { id: string } | { number: string }, minor = 400n): ParsedTransfer => ({
    requestId: "r1", fromId: from.id, toId: "id" in to ? to.id : undefined, toNumber: "id" in to ? undefined : to.number, amount: { currency: "USD", minor }, description: "",
  });

  test("parse: exactly one target, never the source; locks: the source and the payee, by id or number", () => {
    const p = transfer.parse(ctx, { requestId: "r1", fromAccountId: from.id, toAccountId: bobs.id, toAccountNumber: "", amount: usd(5), description: "rent" });
    expect(p).toEqual({ requestId: "r1", fromId: from.id, toId: bobs.id, toNumber: undefined, amount: { currency: "USD", minor: 5n }, description: "rent" });
    expect(transfer.locks(p).accounts()).toEqual({ ids: [from.id, bobs.id], numbers: [] });
    expect(transfer.locks({ ...p, toId: undefined, toNumber: bobs.number }).accounts()).toEqual({ ids: [from.id], numbers: [bobs.number] });
    expect(refusal(() => transfer.parse(ctx, { requestId: "r1", fromAccountId: from.id, toAccountId: bobs.id, toAccountNumber: "1", amount: usd(5), description: "" })).reason).toBe("TARGET_REQUIRED");
    expect(refusal(() => transfer.parse(ctx, { requestId: "r1", fromAccountId: from.id, toAccountId: from.id, toAccountNumber: "", amount: usd(5), description: "" })).reason).toBe("SAME_ACCOUNT");
    expect(refusal(() => transfer.parse(ctx, { requestId: "r1", fromAccountId: from.id, toAccountId: bobs.id, toAccountNumber: "", amount: usd(5), description: "\u202e" })).reason).toBe("FIELD_INVALID");
  });

  test("apply: the source gives, the payee gains; transfer-out and incoming counted; audited", () => {
    const batch = batchOver([from, bobs]);
    const t = transfer.apply(batch, alice, move(bobs));
    expect([t.type, t.fromAccountId, t.toAccountId, t.amount]).toEqual(["TRANSFER", from.id, bobs.id, 400n]);
    expect([state(batch, from.id), state(batch, bobs.id)]).toEqual([{ balance: 600n, held: 0n, entries: 1 }, { balance: 400n, held: 0n, entries: 1 }]);
    expect([batch.account(from.id)!.usage.transferOut, batch.account(bobs.id)!.usage.incoming]).toEqual([400n, 400n]);
    expect(batch.audits.map((a) => [a.action, JSON.parse(a.details)])).toEqual([["transaction.transfer", { amount: "400", currency: "USD", from_account_id: from.id, to_account_id: bobs.id }]]);
    batch.assertBatch();
  });

  test("apply by number", () => {
    const batch = batchOver([from, bobs]);
    expect(transfer.apply(batch, alice, move({ number: bobs.number })).toAccountId).toBe(bobs.id);
  });

  test("the caller's own side: insufficient funds, a source the caller may not operate", () => {
    expect(refusal(() => transfer.apply(batchOver([from, bobs]), alice, move(bobs, 1_001n))).reason).toBe("INSUFFICIENT_FUNDS");
    const err = refusal(() => transfer.apply(batchOver([from, bobs]), { ...alice, userId: "mallory" }, move(bobs)));
    expect([err.reason, err.metadata.field]).toEqual(["ACCOUNT_NOT_FOUND", "from_account_id"]);
  });

  test.each([
    ["frozen", { status: "FROZEN" as const }, "ACCOUNT_FROZEN"],
    ["closed", { status: "CLOSED" as const }, "ACCOUNT_CLOSED"],
    ["in another currency", { currency: "EUR" }, "CURRENCY_MISMATCH"],
  ])("a payee that is %s: PAYEE_UNAVAILABLE for a customer paying someone else, the reason for staff and for the owner", (_name, over, reason) => {
    const payee = { ...bobs, ...over };
    const batch = batchOver([from, payee]);
    const err = refusal(() => transfer.apply(batch, alice, move(payee)));
    expect([err.reason, err.metadata]).toEqual(["PAYEE_UNAVAILABLE", { field: "target" }]);
    expect(refusal(() => transfer.apply(batch, teller, move(payee))).reason).toBe(reason);
    const ownPayee = { ...own, ...over };
    expect(refusal(() => transfer.apply(batchOver([from, ownPayee]), alice, move(ownPayee))).reason).toBe(reason);
    expect([state(batch, from.id), batch.entries.length, batch.audits.length]).toEqual([{ balance: 1_000n, held: 0n, entries: 0 }, 0, 0]);
  });

  test("an unknown payee, or a settlement account: ACCOUNT_NOT_FOUND, but only when the source could have paid", () => {
    const unknown = refusal(() => transfer.apply(batchOver([from]), alice, move({ number: "99999999999999" })));
    expect([unknown.reason, unknown.metadata.field]).toEqual(["ACCOUNT_NOT_FOUND", "to_account_number"]);
    const shard = settlement();
    const toShard = refusal(() => transfer.apply(batchOver([from, shard]), alice, move(shard)));
    expect([toShard.reason, toShard.metadata.field]).toEqual(["ACCOUNT_NOT_FOUND", "to_account_id"]);
    expect(refusal(() => transfer.apply(batchOver([from]), alice, move({ number: "99999999999999" }, 1_001n))).reason).toBe("INSUFFICIENT_FUNDS");
    expect(refusal(() => transfer.apply(batchOver([{ ...from, status: "FROZEN" }]), alice, move({ number: "99999999999999" }))).reason).toBe("ACCOUNT_FROZEN");
    // Staff may look any account up: the payee's absence first.
    expect(refusal(() => transfer.apply(batchOver([from]), teller, move({ number: "99999999999999" }, 1_001n))).reason).toBe("ACCOUNT_NOT_FOUND");
  });

  test("the payee's incoming limit: PAYEE_UNAVAILABLE for a customer paying someone else", () => {
    const payee = { ...bobs, limits: { ...bobs.limits, incoming: 100n } };
    expect(refusal(() => transfer.apply(batchOver([from, payee]), alice, move(payee))).reason).toBe("PAYEE_UNAVAILABLE");
    expect(refusal(() => transfer.apply(batchOver([from, payee]), teller, move(payee))).reason).toBe("DAILY_LIMIT_EXCEEDED");
  });
});
