// Goal: BatchTransfer through a real server (SQLite and PostgreSQL), as docs/api.md's Additions say:
// every item answers exactly as the same single Transfer would (same checks, same codes and
// reasons, same idempotency key: an item repeating an earlier Transfer replays it); atomic mode
// posts all or nothing (the others answer ABORTED / BATCH_ABORTED and nothing is written but the
// call's own record); the call's request_id replays the whole answer; an empty batch, one over
// the cap or two items with one request_id are INVALID_ARGUMENT for the whole call with nothing
// written; and a full request and its full response fit the message limit.
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { BatchTransferRequestSchema, BatchTransferResponseSchema, TransactionService, type BatchTransferResult } from "../../gen/bank/v1/transaction_service_pb";
import { TransactionStatus, TransactionType } from "../../gen/bank/v1/transaction_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { client, type TestApp } from "../support/app";
import { startAppWithUsers, type TestUser } from "../support/users";
import { balanceSums, rid, writeCounts } from "./support";
import { usd } from "../support/money";
type Outcome = { ok: string } | { code: string; reason: string };
/** A transfer as a client writes it (a BatchTransfer item or a single Transfer request). */
type Item = { requestId: string; fromAccountId: string; target: { case: "toAccountId" | "toAccountNumber"; value: string }; amount: { currency: string; minorUnits: bigint }; description: string };

/** An item's answer in the terms a single Transfer's would be compared in. */
function itemOutcome(r: BatchTransferResult): Outcome {
  if (r.result.case === "transaction") return { ok: r.result.value.id };
  if (r.result.case === "error") return { code: r.result.value.code, reason: r.result.value.errorInfo?.reason ?? "" };
  throw new Error("empty result");
}

async function callOutcome(promise: Promise<{ transaction?: { id: string } }>): Promise<Outcome> {
  try {
    return { ok: (await promise).transaction!.id };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: Code[e.code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(), reason: e.findDetails(ErrorInfoSchema)[0]?.reason ?? "" };
  }
}

describe.each(engines())("BatchTransfer on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let teller: TestUser;
  const accounts = (u: TestUser) => client(t.baseUrl, AccountService, { token: u.token });
  const money = (u: TestUser) => client(t.baseUrl, TransactionService, { token: u.token });
  const open = async (u: TestUser, currency = "USD", fund = 0) => {
    const a = (await accounts(u).createAccount({ requestId: rid(), currency, type: AccountType.CHECKING, displayName: "b" })).account!;
    if (fund > 0) await money(teller).deposit({ requestId: rid(), accountId: a.id, amount: { currency, minorUnits: BigInt(fund) }, description: "" });
    return a;
  };
  const balance = async (u: TestUser, id: string) => (await accounts(u).getBalance({ accountId: id })).ledgerBalance!.minorUnits;
  const item = (from: string, to: string, amount: number): Item =>
    ({ requestId: rid("item"), fromAccountId: from, target: { case: "toAccountId", value: to }, amount: usd(amount), description: "batch" });

  beforeAll(async () => ({ t, alice, bob, teller } = await startAppWithUsers(engine, { alice: [Role.CUSTOMER], bob: [Role.CUSTOMER], teller: [Role.TELLER] })));
  afterAll(async () => t.stop());

  test("each item answers as the same single Transfer would; the failures write nothing of themselves", async () => {
    const a1 = await open(alice, "USD", 1_000);
    const a2 = await open(alice, "USD", 0);
    const eur = await open(alice, "EUR", 0);
    const b1 = await open(bob, "USD", 500);
    const items: Item[] = [
      item(a1.id, b1.id, 100),
      item(a2.id, b1.id, 1), // no money
      item(b1.id, a1.id, 5), // Bob's account: not Alice's to move
      item(a1.id, eur.id, 5), // currency mismatch
      { ...item(a1.id, a1.id, 5), target: { case: "toAccountNumber", value: b1.number } }, // by number
      { ...item(a1.id, b1.id, 0), amount: usd(0) }, // malformed amount
      item(a1.id, "01890000-0000-7000-8000-000000000000", 5), // unknown target
    ];
    const res = await money(alice).batchTransfer({ requestId: rid("call"), transfers: items });
    const outcomes = res.results.map(itemOutcome);
    expect(outcomes.map((o) => ("ok" in o ? "ok" : `${o.code} ${o.reason}`))).toEqual([
      "ok", "failed_precondition INSUFFICIENT_FUNDS", "not_found ACCOUNT_NOT_FOUND", "failed_precondition CURRENCY_MISMATCH", "ok",
      "invalid_argument AMOUNT_NOT_POSITIVE", "not_found ACCOUNT_NOT_FOUND",
    ]);
    // The same items sent again as single Transfers (same request_ids) answer the same: the
    // ones that were recorded replay (successes and business failures alike); the malformed one
    // was never recorded and is refused again.
    for (const [i, it] of items.entries()) {
      expect([i, await callOutcome(money(alice).transfer(it))]).toEqual([i, outcomes[i]]);
    }
    expect(await balance(alice, a1.id)).toBe(1_000n - 100n - 5n);
    expect(await balance(bob, b1.id)).toBe(500n + 100n + 5n);
    for (const total of (await balanceSums(t.app.db)).values()) expect(total).toBe(0n);
  });

  test("an item that repeats an earlier Transfer replays it; a transfer can repeat a batch item", async () => {
    const a = await open(alice, "USD", 1_000);
    const b = await open(bob);
    const single = item(a.id, b.id, 10);
    const posted = (await money(alice).transfer(single)).transaction!;
    const res = await money(alice).batchTransfer({ requestId: rid("call"), transfers: [single, item(a.id, b.id, 20)] });
    expect(itemOutcome(res.results[0]!)).toEqual({ ok: posted.id });
    expect(await balance(alice, a.id)).toBe(1_000n - 30n);
    // The same request_id with another amount, inside a batch: REQUEST_ID_REUSED for that item.
    const reused = await money(alice).batchTransfer({ requestId: rid("call"), transfers: [{ ...single, amount: usd(11) }] });
    expect(itemOutcome(reused.results[0]!)).toEqual({ code: "failed_precondition", reason: "REQUEST_ID_REUSED" });
  });

  test("atomic: one failure aborts the rest and nothing is written but the call's record; its replay is the same answer", async () => {
    const a = await open(alice, "USD", 100);
    const b = await open(bob);
    const before = await writeCounts(t.app.db);
    const items = [item(a.id, b.id, 60), item(a.id, b.id, 60), item(a.id, b.id, 1)];
    const call = { requestId: rid("call"), transfers: items, atomic: true };
    const res = await money(alice).batchTransfer(call);
    expect(res.results.map(itemOutcome)).toEqual([
      { code: "aborted", reason: "BATCH_ABORTED" },
      { code: "failed_precondition", reason: "INSUFFICIENT_FUNDS" },
      { code: "aborted", reason: "BATCH_ABORTED" },
    ]);
    expect(await balance(alice, a.id)).toBe(100n);
    const after = await writeCounts(t.app.db);
    expect({ transactions: after.transactions, entries: after.entries, keys: after.idempotency_keys }).toEqual({
      transactions: before.transactions, entries: before.entries, keys: before.idempotency_keys! + 1,
    });
    // The call replays exactly; its items were not recorded, so they can be sent afresh.
    expect((await money(alice).batchTransfer(call)).results.map(itemOutcome)).toEqual(res.results.map(itemOutcome));
    expect(await callOutcome(money(alice).transfer(items[0]!))).toMatchObject({ ok: expect.any(String) });
    expect(await balance(alice, a.id)).toBe(40n);
  });

  test("atomic: all post together, and an item replaying an earlier commit counts as success", async () => {
    const a = await open(alice, "USD", 1_000);
    const b = await open(bob);
    const earlier = item(a.id, b.id, 5);
    const earlierId = (await money(alice).transfer(earlier)).transaction!.id;
    const res = await money(alice).batchTransfer({ requestId: rid("call"), transfers: [earlier, item(a.id, b.id, 10), item(a.id, b.id, 20)], atomic: true });
    const outcomes = res.results.map(itemOutcome);
    expect(outcomes[0]).toEqual({ ok: earlierId });
    expect(outcomes.slice(1).every((o) => "ok" in o)).toBe(true);
    expect(res.results[1]!.result.value).toMatchObject({ type: TransactionType.TRANSFER, status: TransactionStatus.POSTED });
    expect(await balance(alice, a.id)).toBe(1_000n - 35n);
  });

  test("the call's request_id replays the whole answer; reused with other transfers it is REQUEST_ID_REUSED", async () => {
    const a = await open(alice, "USD", 1_000);
    const b = await open(bob);
    const call = { requestId: rid("call"), transfers: [item(a.id, b.id, 7), item(a.id, b.id, 5_000)] };
    const first = await money(alice).batchTransfer(call);
    const again = await money(alice).batchTransfer(call);
    expect(again.results.map(itemOutcome)).toEqual(first.results.map(itemOutcome));
    expect(await balance(alice, a.id)).toBe(993n);
    const err = ConnectError.from(await money(alice).batchTransfer({ ...call, transfers: [item(a.id, b.id, 8)] }).catch((e: unknown) => e));
    expect([Code[err.code], err.findDetails(ErrorInfoSchema)[0]?.reason, err.findDetails(ErrorInfoSchema)[0]?.metadata.fields]).toEqual(["FailedPrecondition", "REQUEST_ID_REUSED", "transfers"]);
  });

  test("whole-call refusals: empty, over the cap, duplicate request_ids, no request_id; nothing written", async () => {
    const a = await open(alice, "USD", 1_000);
    const b = await open(bob);
    const before = await writeCounts(t.app.db);
    const dup = item(a.id, b.id, 1);
    const cases: [string, object][] = [
      ["BATCH_EMPTY", { requestId: rid(), transfers: [] }],
      ["BATCH_TOO_LARGE", { requestId: rid(), transfers: Array.from({ length: limits.batchTransfersMax + 1 }, () => item(a.id, b.id, 1)) }],
      ["DUPLICATE_REQUEST_ID", { requestId: rid(), transfers: [dup, item(a.id, b.id, 2), { ...dup, amount: usd(3) }] }],
      ["REQUEST_ID_REQUIRED", { requestId: "", transfers: [item(a.id, b.id, 1)] }],
    ];
    for (const [reason, request] of cases) {
      const err = ConnectError.from(await money(alice).batchTransfer(request).catch((e: unknown) => e));
      expect([reason, Code[err.code], err.findDetails(ErrorInfoSchema)[0]?.reason]).toEqual([reason, "InvalidArgument", reason]);
    }
    expect(await writeCounts(t.app.db)).toEqual(before);
  });

  test("staff move money from any customer account in a batch; a customer only from their own", async () => {
    const a = await open(alice, "USD", 100);
    const b = await open(bob, "USD", 100);
    const res = await money(teller).batchTransfer({ requestId: rid(), transfers: [item(a.id, b.id, 1), item(b.id, a.id, 2)] });
    expect(res.results.every((r) => r.result.case === "transaction")).toBe(true);
  });
});

test("a full BatchTransfer request and its full response fit the message limit", () => {
  // The largest legal item: a 128-character request_id, a 280-character description of 4-byte
  // characters, the largest amount; the response echoes all of it in every transaction.
  const description = "\u{1F4B0}".repeat(limits.descriptionCharsMax);
  const uuid = "01234567-89ab-7cde-8f01-234567890abc";
  const transfers = Array.from({ length: limits.batchTransfersMax }, (_, i) => ({
    requestId: `${i}`.padStart(limits.requestIdCharsMax, "r"),
    fromAccountId: uuid,
    target: { case: "toAccountId" as const, value: uuid },
    amount: { currency: "USD", minorUnits: limits.amountMinorMax },
    description,
  }));
  const request = create(BatchTransferRequestSchema, { requestId: "r".repeat(limits.requestIdCharsMax), transfers, atomic: true });
  const transaction = {
    id: uuid, type: TransactionType.TRANSFER, status: TransactionStatus.POSTED, amount: { currency: "USD", minorUnits: limits.amountMinorMax },
    fromAccountId: uuid, toAccountId: uuid, description, requestId: "r".repeat(limits.requestIdCharsMax), initiatedBy: uuid,
    reversesId: uuid, holdId: uuid, createTime: { seconds: 4_102_444_800n, nanos: 999_999_999 }, expireTime: { seconds: 4_102_444_800n, nanos: 999_999_999 },
  };
  const response = create(BatchTransferResponseSchema, { results: transfers.map(() => ({ result: { case: "transaction" as const, value: transaction } })) });
  const sizes = {
    requestBinary: toBinary(BatchTransferRequestSchema, request).length,
    requestJson: Buffer.byteLength(toJsonString(BatchTransferRequestSchema, request)),
    responseBinary: toBinary(BatchTransferResponseSchema, response).length,
    responseJson: Buffer.byteLength(toJsonString(BatchTransferResponseSchema, response, { alwaysEmitImplicit: true })),
  };
  console.log(`largest BatchTransfer of ${limits.batchTransfersMax} items, bytes: ${JSON.stringify(sizes)}; limit ${limits.messageBytesMax}`);
  for (const size of Object.values(sizes)) expect(size).toBeLessThanOrEqual(limits.messageBytesMax);
});
