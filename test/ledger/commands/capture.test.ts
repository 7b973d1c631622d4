// Goal: CaptureHold's rules without a database: a pending hold moves all or part of its amount
// to an account (or to the settlement shard) and leaves `held` whole; it is captured once
// (HOLD_NOT_PENDING after, even in the same batch), never past its expiry, never more than held,
// never in another currency, never to its own account.
import * as capture from "../../../src/ledger/commands/capture";
import { account, batchOver, context, NOW, refusal, row, settlement, state, teller, usd } from "./support";

describe("capture hold (no database)", () => {
  const shard = settlement();
  const ctx = context({ USD: shard.id });
  const source = account({ ownerId: "alice", balance: 1_000n, held: 300n });
  const payee = account({ ownerId: "bob" });
  const pending = row({ type: "HOLD", status: "PENDING", amount: 300n, fromAccountId: source.id, expireTimeMs: NOW + 60_000, description: "card" });
  const over = (...txs: (typeof pending)[]) => batchOver([source, payee, shard], { transactions: txs });
  const parse = (to: string, amount?: number) => capture.parse(ctx, { requestId: "c1", holdId: pending.id, toAccountId: to, ...(amount === undefined ? {} : { amount: usd(amount) }) });

  test("locks: the hold's row, then its account and where the money goes (the settlement shard when no account is named)", () => {
    const locked = { transaction: (id: string) => (id === pending.id ? pending : undefined), entriesOf: () => [] };
    expect(capture.locks(parse(payee.id)).transactionIds).toEqual([pending.id]);
    expect(capture.locks(parse(payee.id)).accounts(locked)).toEqual({ ids: [source.id, payee.id] });
    expect(capture.locks(parse("")).accounts(locked)).toEqual({ ids: [source.id, shard.id] });
    expect(capture.locks(parse("")).accounts({ transaction: () => undefined, entriesOf: () => [] })).toEqual({ ids: [] });
  });

  test("a partial capture to an account: the source gives what is captured and the whole hold leaves held", () => {
    const batch = over(pending);
    const t = capture.apply(batch, teller, parse(payee.id, 200));
    expect([t.type, t.amount, t.holdId, t.toAccountId, t.description]).toEqual(["CAPTURE", 200n, pending.id, payee.id, "card"]);
    expect([state(batch, source.id), state(batch, payee.id)]).toEqual([{ balance: 800n, held: 0n, entries: 1 }, { balance: 200n, held: 0n, entries: 1 }]);
    expect(batch.transaction(pending.id)!.status).toBe("CAPTURED");
    expect(batch.statusChanges.get(pending.id)).toMatchObject({ status: "CAPTURED", from: "PENDING" });
    expect([batch.account(source.id)!.usage.transferOut, batch.account(payee.id)!.usage.incoming]).toEqual([200n, 200n]);
    expect(JSON.parse(batch.audits[0]!.details)).toMatchObject({ hold_id: pending.id, released: "100" });
    batch.assertBatch();
  });

  test("the whole hold to the settlement shard counts as a withdrawal", () => {
    const batch = over(pending);
    const t = capture.apply(batch, teller, parse(""));
    expect([t.amount, t.toAccountId]).toEqual([300n, ""]);
    expect(state(batch, shard.id).balance).toBe(300n);
    expect(batch.account(source.id)!.usage.withdrawal).toBe(300n);
  });

  test("captured once: a second capture or a release in the same batch is HOLD_NOT_PENDING", () => {
    const batch = over(pending);
    capture.apply(batch, teller, parse(payee.id));
    const again = refusal(() => capture.apply(batch, teller, parse(payee.id)));
    expect([again.reason, again.metadata.status]).toEqual(["HOLD_NOT_PENDING", "CAPTURED"]);
  });

  test.each([
    ["more than held", () => [over(pending), parse(payee.id, 301)] as const, "AMOUNT_EXCEEDS_HOLD"],
    ["in another currency", () => [over(pending), capture.parse(ctx, { requestId: "c1", holdId: pending.id, toAccountId: payee.id, amount: { currency: "EUR", minorUnits: 5n } })] as const, "CURRENCY_MISMATCH"],
    ["past its expiry", () => [over({ ...pending, expireTimeMs: NOW }), parse(payee.id)] as const, "HOLD_EXPIRED"],
    ["not a hold", () => [over({ ...pending, type: "DEPOSIT" }), parse(payee.id)] as const, "HOLD_NOT_FOUND"],
    ["released already", () => [over({ ...pending, status: "RELEASED" }), parse(payee.id)] as const, "HOLD_NOT_PENDING"],
    ["to its own account", () => [over(pending), parse(source.id)] as const, "SAME_ACCOUNT"],
    ["to a settlement account named", () => [over(pending), parse(shard.id)] as const, "ACCOUNT_NOT_FOUND"],
    ["to a frozen payee", () => [batchOver([source, { ...payee, status: "FROZEN" }], { transactions: [pending] }), parse(payee.id)] as const, "ACCOUNT_FROZEN"],
  ])("refused: %s, and nothing changed", (_name, setup, reason) => {
    const [batch, parsed] = setup();
    expect(refusal(() => capture.apply(batch, teller, parsed)).reason).toBe(reason);
    expect([batch.entries.length, batch.statusChanges.size, batch.audits.length]).toEqual([0, 0, 0]);
  });
});
