// Goal: holds and reversals follow their rules on SQLite and PostgreSQL: a hold reduces the
// available balance only, is captured (in part, the rest released) or released at most once,
// expires as EXPIRED through the sweeper; a reversal undoes a posted transaction exactly once,
// respects the floor unless forced, and statements and balances stay consistent throughout.
import { Code } from "@connectrpc/connect";
import { createAccount, closeAccount, freezeAccount, unfreezeAccount } from "../../src/ledger/accounts";
import { captureHold, createHold, deposit, releaseHold, reverseTransaction, transfer, withdraw } from "../../src/ledger/commands";
import { expireHolds } from "../../src/ledger/hold-sweeper";
import { getBalance, getTransaction, listTransactions } from "../../src/ledger/reads";
import type { AccountView, Actor } from "../../src/ledger/types";
import { engines } from "../support/db";
import { balanceSums, domainError, entriesMatchBalances, rid, usd, writeCounts, type LedgerFixture, openLedgerWithCast } from "./support";
import { codeOf } from "../../src/transport/errors";

describe.each(engines())("holds and reversals on %s", (engine) => {
  let f: LedgerFixture;
  let alice: Actor;
  let bob: Actor;
  let teller: Actor;
  let admin: Actor;

  beforeAll(async () => {
    ({ f, alice, bob, teller, admin } = await openLedgerWithCast(engine));
  });
  afterAll(async () => f.close());
  afterEach(async () => {
    f.clock.frozen = false;
    expect([...(await balanceSums(f.db)).values()].every((v) => v === 0n)).toBe(true);
    expect(await entriesMatchBalances(f.db)).toEqual([]);
  });

  const funded = async (who: Actor, minor: number): Promise<AccountView> => {
    const a = await createAccount(f.ledger, who, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" });
    if (minor > 0) await deposit(f.ledger, who, { requestId: rid(), accountId: a.id, amount: usd(minor), description: "" });
    return a;
  };
  const hold = (a: AccountView, minor: number, expireTimeMs?: number) =>
    createHold(f.ledger, teller, { requestId: rid(), accountId: a.id, amount: usd(minor), description: "card", expireTimeMs });
  const bal = (a: AccountView) => getBalance(f.ledger, admin, { accountId: a.id });

  test("a hold reduces available, not the ledger; a partial capture moves part and releases the rest", async () => {
    const a = await funded(alice, 1_000);
    const b = await funded(bob, 0);
    const h = await hold(a, 600);
    expect(h).toMatchObject({ type: "HOLD", status: "PENDING", amount: 600n, fromAccountId: a.id, toAccountId: "" });
    expect(await bal(a)).toMatchObject({ ledger: 1_000n, held: 600n, available: 400n });
    const over = await domainError(withdraw(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(401), description: "" }));
    expect(over.reason).toBe("INSUFFICIENT_FUNDS");
    const tooMuch = await domainError(hold(a, 401));
    expect(tooMuch.reason).toBe("INSUFFICIENT_FUNDS");
    const cap = await captureHold(f.ledger, teller, { requestId: rid(), holdId: h.id, amount: usd(250), toAccountId: b.id });
    expect(cap).toMatchObject({ type: "CAPTURE", status: "POSTED", amount: 250n, fromAccountId: a.id, toAccountId: b.id, holdId: h.id });
    expect(await bal(a)).toMatchObject({ ledger: 750n, held: 0n, available: 750n });
    expect((await bal(b)).ledger).toBe(250n);
    expect((await getTransaction(f.ledger, alice, h.id)).status).toBe("CAPTURED");
    const again = await domainError(captureHold(f.ledger, teller, { requestId: rid(), holdId: h.id, toAccountId: "" }));
    expect([codeOf(again), again.reason, again.metadata.status]).toEqual([Code.FailedPrecondition, "HOLD_NOT_PENDING", "CAPTURED"]);
    const release = await domainError(releaseHold(f.ledger, teller, { requestId: rid(), holdId: h.id }));
    expect(release.reason).toBe("HOLD_NOT_PENDING");
    const lines = await listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 0, pageToken: "" });
    expect(lines.items.map((l) => [l.transaction.type, l.amount, l.balanceAfter])).toEqual([
      ["CAPTURE", -250n, 750n],
      ["HOLD", 0n, 1_000n],
      ["DEPOSIT", 1_000n, 1_000n],
    ]);
  });

  test("a full capture without target pays the settlement account; capture above the hold is refused", async () => {
    const a = await funded(alice, 500);
    const h = await hold(a, 200);
    const above = await domainError(captureHold(f.ledger, teller, { requestId: rid(), holdId: h.id, amount: usd(201), toAccountId: "" }));
    expect(above.reason).toBe("AMOUNT_EXCEEDS_HOLD");
    const cap = await captureHold(f.ledger, teller, { requestId: rid(), holdId: h.id, toAccountId: "" });
    expect(cap).toMatchObject({ amount: 200n, toAccountId: "" });
    expect(await bal(a)).toMatchObject({ ledger: 300n, held: 0n });
  });

  test("release gives the money back once; customers cannot place holds", async () => {
    const a = await funded(alice, 500);
    const h = await hold(a, 500);
    expect((await bal(a)).available).toBe(0n);
    const rel = await releaseHold(f.ledger, teller, { requestId: rid(), holdId: h.id });
    expect(rel).toMatchObject({ type: "RELEASE", amount: 500n, holdId: h.id });
    expect(await bal(a)).toMatchObject({ ledger: 500n, held: 0n, available: 500n });
    expect((await getTransaction(f.ledger, teller, h.id)).status).toBe("RELEASED");
    const denied = await domainError(createHold(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(1), description: "" }));
    expect(codeOf(denied)).toBe(Code.PermissionDenied);
    const missing = await domainError(releaseHold(f.ledger, teller, { requestId: rid(), holdId: a.id }));
    expect([codeOf(missing), missing.reason]).toEqual([Code.NotFound, "HOLD_NOT_FOUND"]);
  });

  test("expired holds are released by the sweeper as EXPIRED, once, and then cannot be captured", async () => {
    const a = await funded(alice, 1_000);
    const now = Date.now();
    const h = await hold(a, 300, now + 60_000);
    const bad = await domainError(hold(a, 1, now - 1));
    expect(bad.reason).toBe("EXPIRE_TIME_INVALID");
    expect((await expireHolds(f.ledger)).expired).toBe(0);
    f.clock.frozen = true;
    f.clock.nowMs = now + 61_000;
    const late = await domainError(captureHold(f.ledger, teller, { requestId: rid(), holdId: h.id, toAccountId: "" }));
    expect(late.reason).toBe("HOLD_EXPIRED");
    expect(await expireHolds(f.ledger)).toEqual({ due: 1, expired: 1 });
    expect(await expireHolds(f.ledger)).toEqual({ due: 0, expired: 0 });
    expect((await getTransaction(f.ledger, alice, h.id)).status).toBe("EXPIRED");
    expect(await bal(a)).toMatchObject({ ledger: 1_000n, held: 0n, available: 1_000n });
    // Balance at a past instant still sees the hold that was pending then.
    expect((await getBalance(f.ledger, alice, { accountId: a.id, asOfMs: now + 30_000 })).held).toBe(300n);
    const lines = await listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 1, pageToken: "" });
    expect(lines.items[0]!.transaction).toMatchObject({ type: "RELEASE", initiatedBy: "system", holdId: h.id });
  });

  test("a hold on an account blocks closing it; a frozen account cannot be captured from", async () => {
    const a = await funded(alice, 100);
    const h = await hold(a, 100);
    const close = await domainError(closeAccount(f.ledger, alice, { accountId: a.id }));
    expect(close.reason).toBe("ACCOUNT_HAS_HOLDS");
    await freezeAccount(f.ledger, teller, { accountId: a.id, reason: "check" });
    const frozen = await domainError(captureHold(f.ledger, teller, { requestId: rid(), holdId: h.id, toAccountId: "" }));
    expect(frozen.reason).toBe("ACCOUNT_FROZEN");
    // Releasing moves no money, so it works on a frozen account.
    await releaseHold(f.ledger, teller, { requestId: rid(), holdId: h.id });
    await unfreezeAccount(f.ledger, teller, { accountId: a.id, reason: "ok" });
    const notEmpty = await domainError(closeAccount(f.ledger, alice, { accountId: a.id }));
    expect(notEmpty.reason).toBe("ACCOUNT_NOT_EMPTY");
  });

  test("a reversal undoes a transfer once; the original becomes REVERSED", async () => {
    const a = await funded(alice, 1_000);
    const b = await funded(bob, 0);
    const t = await transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(400), description: "" });
    const r = await reverseTransaction(f.ledger, admin, { requestId: rid(), transactionId: t.id, reason: "fraud", force: false });
    expect(r).toMatchObject({ type: "REVERSAL", status: "POSTED", amount: 400n, fromAccountId: b.id, toAccountId: a.id, reversesId: t.id });
    expect((await bal(a)).ledger).toBe(1_000n);
    expect((await bal(b)).ledger).toBe(0n);
    expect((await getTransaction(f.ledger, alice, t.id)).status).toBe("REVERSED");
    const twice = await domainError(reverseTransaction(f.ledger, admin, { requestId: rid(), transactionId: t.id, reason: "again", force: true }));
    expect([codeOf(twice), twice.reason]).toEqual([Code.FailedPrecondition, "ALREADY_REVERSED"]);
    const ofReversal = await domainError(reverseTransaction(f.ledger, admin, { requestId: rid(), transactionId: r.id, reason: "x", force: false }));
    expect(ofReversal.reason).toBe("NOT_REVERSIBLE");
    const byTeller = await domainError(reverseTransaction(f.ledger, teller, { requestId: rid(), transactionId: t.id, reason: "x", force: false }));
    expect(codeOf(byTeller)).toBe(Code.PermissionDenied);
  });

  test("a reversal respects the floor unless forced", async () => {
    const a = await funded(alice, 0);
    const b = await funded(bob, 0);
    const dep = await deposit(f.ledger, teller, { requestId: rid(), accountId: a.id, amount: usd(500), description: "" });
    await transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(400), description: "" });
    const before = await writeCounts(f.db);
    const refused = await domainError(reverseTransaction(f.ledger, admin, { requestId: rid(), transactionId: dep.id, reason: "bounced", force: false }));
    expect(refused.reason).toBe("INSUFFICIENT_FUNDS");
    const after = await writeCounts(f.db);
    expect([after.transactions, after.entries]).toEqual([before.transactions, before.entries]);
    expect((await getTransaction(f.ledger, admin, dep.id)).status).toBe("POSTED");
    const forced = await reverseTransaction(f.ledger, admin, { requestId: rid(), transactionId: dep.id, reason: "bounced", force: true });
    expect(forced).toMatchObject({ fromAccountId: a.id, toAccountId: "" });
    expect(await bal(a)).toMatchObject({ ledger: -400n, available: -400n });
    // Below the floor, the account can still receive money but not spend it.
    const spend = await domainError(withdraw(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(1), description: "" }));
    expect(spend.reason).toBe("INSUFFICIENT_FUNDS");
    await deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(10), description: "" });
    expect((await bal(a)).ledger).toBe(-390n);
  });

  test("a capture can be reversed; holds cannot", async () => {
    const a = await funded(alice, 300);
    const h = await hold(a, 300);
    const held = await domainError(reverseTransaction(f.ledger, admin, { requestId: rid(), transactionId: h.id, reason: "x", force: false }));
    expect(held.reason).toBe("NOT_REVERSIBLE");
    const cap = await captureHold(f.ledger, teller, { requestId: rid(), holdId: h.id, toAccountId: "" });
    await reverseTransaction(f.ledger, admin, { requestId: rid(), transactionId: cap.id, reason: "refund", force: false });
    expect(await bal(a)).toMatchObject({ ledger: 300n, held: 0n });
    expect((await getTransaction(f.ledger, admin, h.id)).status).toBe("CAPTURED");
  });
});
