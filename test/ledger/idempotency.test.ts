// Goal: AIP-155 idempotency of every money command and CreateAccount, on SQLite and PostgreSQL:
// a retried request replays the original outcome without moving money again, a request_id
// reused with other values is REQUEST_ID_REUSED naming the fields, keys are per caller and
// method, and concurrent duplicates apply exactly once.
import { Code } from "@connectrpc/connect";
import { createAccount } from "../../src/ledger/accounts";
import { captureHold, createHold, deposit, releaseHold, reverseTransaction, transfer, withdraw } from "../../src/ledger/commands";
import { getBalance } from "../../src/ledger/reads";
import { formatAccountNumber } from "../../src/ledger/account-number";
import type { AccountView, Actor } from "../../src/ledger/types";
import { engines } from "../support/db";
import { domainError, rid, usd, writeCounts, type LedgerFixture, openLedgerWithCast } from "./support";
import { codeOf } from "../../src/transport/errors";

describe.each(engines())("idempotency on %s", (engine) => {
  let f: LedgerFixture;
  let alice: Actor;
  let bob: Actor;
  let teller: Actor;
  let admin: Actor;
  let a: AccountView;
  let b: AccountView;

  beforeAll(async () => {
    ({ f, alice, bob, teller, admin } = await openLedgerWithCast(engine));
    a = await createAccount(f.ledger, alice, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" });
    b = await createAccount(f.ledger, bob, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" });
    await deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(100_000), description: "" });
  });
  afterAll(async () => f.close());

  const ledgerBalance = async (acc: AccountView) => (await getBalance(f.ledger, admin, { accountId: acc.id })).ledger;

  test("a retried transfer replays the original transaction and moves money once", async () => {
    const requestId = rid();
    const input = { requestId, fromAccountId: a.id, toAccountId: "", toAccountNumber: b.number, amount: usd(700), description: "dinner" };
    const before = await ledgerBalance(b);
    const first = await transfer(f.ledger, alice, input);
    const counts = await writeCounts(f.db);
    // The number typed with spaces is the same payload.
    const second = await transfer(f.ledger, alice, { ...input, toAccountNumber: formatAccountNumber(b.number) });
    expect(second).toEqual(first);
    expect(await writeCounts(f.db)).toEqual(counts);
    expect(await ledgerBalance(b)).toBe(before + 700n);
  });

  test("the same request_id with other values is REQUEST_ID_REUSED naming the differing fields", async () => {
    const requestId = rid();
    await transfer(f.ledger, alice, { requestId, fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(5), description: "x" });
    const counts = await writeCounts(f.db);
    const err = await domainError(transfer(f.ledger, alice, { requestId, fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(6), description: "y" }));
    expect([codeOf(err), err.reason]).toEqual([Code.FailedPrecondition, "REQUEST_ID_REUSED"]);
    expect(err.metadata.fields).toBe("description,minor_units");
    expect(await writeCounts(f.db)).toEqual(counts);
  });

  test("keys are per caller and per method", async () => {
    const requestId = rid();
    const d1 = await deposit(f.ledger, alice, { requestId, accountId: a.id, amount: usd(1), description: "" });
    const w1 = await withdraw(f.ledger, alice, { requestId, accountId: a.id, amount: usd(1), description: "" });
    const d2 = await deposit(f.ledger, teller, { requestId, accountId: a.id, amount: usd(1), description: "" });
    expect(new Set([d1.id, w1.id, d2.id]).size).toBe(3);
  });

  test("CreateAccount replays the same account", async () => {
    const input = { requestId: rid(), currency: "EUR", type: "SAVINGS", displayName: "Holiday", ownerId: "" };
    const first = await createAccount(f.ledger, bob, input);
    const again = await createAccount(f.ledger, bob, input);
    expect(again).toEqual(first);
    const other = await domainError(createAccount(f.ledger, bob, { ...input, displayName: "Other" }));
    expect([other.reason, other.metadata.fields]).toEqual(["REQUEST_ID_REUSED", "display_name"]);
  });

  test("20 concurrent identical transfers apply once and all answer the same", async () => {
    const requestId = rid();
    const before = await ledgerBalance(a);
    const input = { requestId, fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(13), description: "" };
    const results = await Promise.all(Array.from({ length: 20 }, () => transfer(f.ledger, alice, input)));
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    for (const r of results) expect(r).toEqual(results[0]);
    expect(await ledgerBalance(a)).toBe(before - 13n);
  });

  test("concurrent duplicates of a refused withdrawal are all refused the same way", async () => {
    const requestId = rid();
    const input = { requestId, accountId: a.id, amount: usd(10n ** 15n), description: "" };
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => withdraw(f.ledger, alice, input).then(() => "ok", (e: { reason?: string }) => e.reason)));
    expect(new Set(outcomes)).toEqual(new Set(["INSUFFICIENT_FUNDS"]));
    const keys = await f.db.read((tx) => tx.all(`SELECT outcome FROM idempotency_keys WHERE request_id = ?`, [requestId]));
    expect(keys).toHaveLength(1);
  });

  test("holds, captures, releases and reversals replay too", async () => {
    const holdReq = { requestId: rid(), accountId: a.id, amount: usd(50), description: "" };
    const h = await createHold(f.ledger, teller, holdReq);
    expect(await createHold(f.ledger, teller, holdReq)).toEqual(h);
    const capReq = { requestId: rid(), holdId: h.id, amount: usd(20), toAccountId: b.id };
    const cap = await captureHold(f.ledger, teller, capReq);
    expect(await captureHold(f.ledger, teller, capReq)).toEqual(cap);
    const h2 = await createHold(f.ledger, teller, { ...holdReq, requestId: rid() });
    const relReq = { requestId: rid(), holdId: h2.id };
    const rel = await releaseHold(f.ledger, teller, relReq);
    expect(await releaseHold(f.ledger, teller, relReq)).toEqual(rel);
    const revReq = { requestId: rid(), transactionId: cap.id, reason: "refund", force: false };
    const rev = await reverseTransaction(f.ledger, admin, revReq);
    expect(await reverseTransaction(f.ledger, admin, revReq)).toEqual(rev);
    const failed = await domainError(reverseTransaction(f.ledger, admin, { ...revReq, requestId: rid() }));
    expect(failed.reason).toBe("ALREADY_REVERSED");
  });
});
