// Goal: BatchTransfer's rules without a database. parse: the call's shape (BATCH_EMPTY,
// BATCH_TOO_LARGE, DUPLICATE_REQUEST_ID), each item parsed as a single Transfer with a Transfer's
// key. apply: atomic = false posts each item alone (a refused one is undone and audited as a
// Transfer's refusal); atomic = true posts all or nothing: the failing item answers its reason
// and the others BATCH_ABORTED naming it, except for a customer aborted by someone else's payee
// (every item alike, naming nothing); an item whose key was taken replays its earlier commit,
// also in an aborted batch.
import * as batchTransfer from "../../../src/ledger/commands/batch-transfer";
import type { BatchItemResult, ParsedBatch } from "../../../src/ledger/commands/batch-transfer";
import type { TransferInput } from "../../../src/ledger/commands/transfer";
import { keyId, type StoredKey } from "../../../src/ledger/store/batch";
import { encodeOutcome } from "../../../src/ledger/idempotency";
import { limits } from "../../../src/limits";
import { account, alice, batchOver, context, refusal, row, state, teller, usd } from "./support";

/** Each item's answer as "ok" or its reason (with failed_index when named). */
function answers(results: readonly BatchItemResult[]): string[] {
  return results.map((r) => ("transaction" in r ? "ok" : `${r.error.reason}${r.error.metadata.failed_index !== undefined ? `@${r.error.metadata.failed_index}` : ""}`));
}

describe("batch transfer (no database)", () => {
  const ctx = context();
  const a1 = account({ ownerId: "alice", balance: 1_000n });
  const a2 = account({ ownerId: "alice" });
  const b1 = account({ ownerId: "bob" });
  const item = (from: string, to: string, minor: number, requestId = `i-${from.slice(-4)}-${to.slice(-4)}-${minor}`): TransferInput =>
    ({ requestId, fromAccountId: from, toAccountId: to, toAccountNumber: "", amount: usd(minor), description: "" });
  const parse = (atomic: boolean, ...transfers: TransferInput[]) => batchTransfer.parse(ctx, alice, { requestId: "call", atomic, transfers });
  const run = (b: ParsedBatch, accounts = [a1, a2, b1], taken = new Map<string, StoredKey>(), who = alice) => {
    const batch = batchOver(accounts);
    return { batch, outcome: batchTransfer.apply(batch, taken, who, b) };
  };

  test("parse: the call's shape; items keyed as single Transfers; a malformed item is that item's error", () => {
    expect(refusal(() => parse(false)).reason).toBe("BATCH_EMPTY");
    expect(refusal(() => parse(false, ...Array.from({ length: limits.batchTransfersMax + 1 }, (_, i) => item(a1.id, b1.id, i + 1)))).reason).toBe("BATCH_TOO_LARGE");
    expect(refusal(() => parse(false, item(a1.id, b1.id, 1, "x"), item(a1.id, b1.id, 2, "x"))).metadata.field).toBe("transfers[1].request_id");
    const b = parse(false, item(a1.id, b1.id, 1, "x"), item(a1.id, b1.id, 0, "y"));
    expect(b.items.map((i) => ("key" in i ? [i.key.method, i.key.requestId, i.key.callerId] : i.invalid.reason))).toEqual([["TransactionService/Transfer", "x", "alice"], "AMOUNT_NOT_POSITIVE"]);
    expect([b.key.method, b.key.requestId]).toEqual(["TransactionService/BatchTransfer", "call"]);
    expect(batchTransfer.locks(b).accounts({ transaction: () => undefined, entriesOf: () => [] })).toEqual({ ids: [a1.id, b1.id], numbers: [] });
  });

  test("each alone: the refused item is undone and audited as a Transfer's refusal; the others post", () => {
    const { batch, outcome } = run(parse(false, item(a1.id, b1.id, 100), item(a2.id, b1.id, 1), item(a1.id, a2.id, 50), item(a1.id, b1.id, 0)));
    expect(answers(outcome.value)).toEqual(["ok", "INSUFFICIENT_FUNDS", "ok", "AMOUNT_NOT_POSITIVE"]);
    expect(outcome.aborted).toBe(false);
    expect([...outcome.itemOutcomes.values()].map((o) => ("ok" in o ? "ok" : o.error.reason))).toEqual(["ok", "INSUFFICIENT_FUNDS", "ok"]);
    expect([state(batch, a1.id).balance, state(batch, a2.id).balance, state(batch, b1.id).balance]).toEqual([850n, 50n, 100n]);
    expect(batch.audits.map((a) => [a.action, a.outcome])).toEqual([["transaction.transfer", "SUCCESS"], ["transaction.transfer", "FAILED"], ["transaction.transfer", "SUCCESS"]]);
    batch.assertBatch();
  });

  test("atomic, failing on the caller's own side: nothing posts; the item answers its reason, the others BATCH_ABORTED naming it", () => {
    const { batch, outcome } = run(parse(true, item(a1.id, b1.id, 100), item(a2.id, b1.id, 1), item(a1.id, a2.id, 5)));
    expect(answers(outcome.value)).toEqual(["BATCH_ABORTED@1", "INSUFFICIENT_FUNDS", "BATCH_ABORTED@1"]);
    expect([outcome.aborted, outcome.itemOutcomes.size, batch.entries.length]).toEqual([true, 0, 0]);
    expect(batch.audits.map((a) => [a.action, a.outcome, JSON.parse(a.details).failed_index, JSON.parse(a.details).reason])).toEqual([["transaction.batch_transfer", "FAILED", 1, "INSUFFICIENT_FUNDS"]]);
  });

  test("atomic, all good: every item posts", () => {
    const { batch, outcome } = run(parse(true, item(a1.id, b1.id, 100), item(a1.id, a2.id, 5)));
    expect([answers(outcome.value), outcome.aborted, batch.entries.length]).toEqual([["ok", "ok"], false, 4]);
  });

  test("atomic, aborted by someone else's payee: a customer learns nothing (every item alike); staff learn the reason", () => {
    const frozen = { ...b1, status: "FROZEN" as const };
    const b = parse(true, item(a1.id, a2.id, 5), item(a1.id, b1.id, 100));
    const customer = run(b, [a1, a2, frozen]);
    expect(answers(customer.outcome.value)).toEqual(["BATCH_ABORTED", "BATCH_ABORTED"]);
    expect(customer.batch.entries.length).toBe(0);
    const staff = run(b, [a1, a2, frozen], new Map(), teller);
    expect(answers(staff.outcome.value)).toEqual(["BATCH_ABORTED@1", "ACCOUNT_FROZEN"]);
  });

  test("an item whose key was taken replays its earlier commit, in an aborted batch too; its payload reused: REQUEST_ID_REUSED", () => {
    const b = parse(true, item(a1.id, b1.id, 100, "paid"), item(a2.id, b1.id, 1));
    const first = b.items[0]!;
    if (!("key" in first)) throw new Error("item 0 parses");
    const earlier = row({ type: "TRANSFER", status: "POSTED", amount: 100n, fromAccountId: a1.id, toAccountId: b1.id, requestId: "paid" });
    const taken = new Map([[keyId(first.key), { ...first.key, outcome: encodeOutcome({ ok: earlier }) }]]);
    const { batch, outcome } = run(b, [a1, a2, b1], taken);
    expect(answers(outcome.value)).toEqual(["ok", "INSUFFICIENT_FUNDS"]);
    expect((outcome.value[0] as { transaction: { id: string } }).transaction.id).toBe(earlier.id);
    expect(batch.entries.length).toBe(0);
    const reused = new Map([[keyId(first.key), { ...first.key, payloadHash: "other", outcome: encodeOutcome({ ok: earlier }) }]]);
    expect(answers(run(parse(false, item(a1.id, b1.id, 100, "paid")), [a1, a2, b1], reused).outcome.value)).toEqual(["REQUEST_ID_REUSED"]);
  });
});
