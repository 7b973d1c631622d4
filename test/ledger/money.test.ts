// Goal: the ledger's money rules hold when its functions are called directly on a database
// (SQLite, and PostgreSQL when configured): deposits, withdrawals and transfers post balanced
// entries against the settlement account, the floor and account states are enforced, every
// bad input is refused with a clear reason and writes nothing, and statements add up.
import { Code } from "@connectrpc/connect";
import { limits } from "../../src/limits";
import { createAccount, freezeAccount, closeAccount, updateAccount, unfreezeAccount } from "../../src/ledger/accounts";
import { deposit, transfer, withdraw } from "../../src/ledger/commands";
import { getBalance, getTransaction, listTransactions, parseEntryCursor } from "../../src/ledger/reads";
import { checkDigits, formatAccountNumber } from "../../src/ledger/account-number";
import type { AccountView, Actor } from "../../src/ledger/types";
import { engines } from "../support/db";
import { balanceSums, domainError, entriesMatchBalances, eur, rid, usd, writeCounts, type LedgerFixture, openLedgerWithCast } from "./support";
import { codeOf } from "../../src/transport/errors";

describe.each(engines())("ledger money movement on %s", (engine) => {
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
    expect([...(await balanceSums(f.db)).values()].every((v) => v === 0n)).toBe(true);
    expect(await entriesMatchBalances(f.db)).toEqual([]);
  });

  const open = (who: Actor, currency = "USD") => createAccount(f.ledger, who, { requestId: rid(), currency, type: "CHECKING", displayName: "", ownerId: "" });
  const fund = async (who: Actor, account: AccountView, minor: number) =>
    deposit(f.ledger, who, { requestId: rid(), accountId: account.id, amount: usd(minor), description: "" });
  const balance = async (who: Actor, account: AccountView) => getBalance(f.ledger, who, { accountId: account.id });

  test("a deposit, a withdrawal and a transfer move exactly their amounts", async () => {
    const a = await open(alice);
    const b = await open(bob);
    const dep = await fund(alice, a, 10_000);
    expect(dep).toMatchObject({ type: "DEPOSIT", status: "POSTED", amount: 10_000n, fromAccountId: "", toAccountId: a.id, initiatedBy: alice.userId });
    const w = await withdraw(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(2_500), description: "cash" });
    expect(w).toMatchObject({ type: "WITHDRAWAL", fromAccountId: a.id, toAccountId: "" });
    const t = await transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: "", toAccountNumber: formatAccountNumber(b.number), amount: usd(1_500), description: "rent" });
    expect(t).toMatchObject({ type: "TRANSFER", fromAccountId: a.id, toAccountId: b.id, description: "rent" });
    expect((await balance(alice, a)).ledger).toBe(6_000n);
    expect((await balance(bob, b)).ledger).toBe(1_500n);
    // The settlement shards carry the outside world's side: minus what is inside. Each account's
    // deposits and withdrawals post against the one shard its id hashes to.
    expect((await balance(admin, { id: f.ledger.settlementId("USD", a.id) } as AccountView)).ledger).toBe(-7_500n);
    const shards = f.ledger.settlementIdsOf("USD");
    expect(shards).toHaveLength(limits.settlementShards);
  });

  test("the statement is newest first with signed amounts and running balances", async () => {
    const a = await open(alice);
    const b = await open(bob);
    await fund(alice, a, 1_000);
    await transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(300), description: "" });
    await withdraw(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(200), description: "" });
    const page = await listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 0, pageToken: "" });
    expect(page.items.map((l) => [l.transaction.type, l.amount, l.balanceAfter])).toEqual([
      ["WITHDRAWAL", -200n, 500n],
      ["TRANSFER", -300n, 700n],
      ["DEPOSIT", 1_000n, 1_000n],
    ]);
    const bobs = await listTransactions(f.ledger, bob, { accountId: b.id, pageSize: 0, pageToken: "" });
    expect(bobs.items.map((l) => [l.transaction.type, l.amount, l.balanceAfter])).toEqual([["TRANSFER", 300n, 300n]]);
  });

  test("statement lines name the other party: its number for everyone, its owner's name for staff only; cursors are sealed", async () => {
    const a = await open(alice);
    const b = await open(bob);
    await fund(alice, a, 1_000);
    await transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(300), description: "" });
    const mine = await listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 0, pageToken: "" });
    expect(mine.items.map((l) => [l.transaction.type, l.counterparty])).toEqual([["TRANSFER", { number: b.number, name: "" }], ["DEPOSIT", undefined]]);
    const theirs = await listTransactions(f.ledger, bob, { accountId: b.id, pageSize: 0, pageToken: "" });
    expect(theirs.items[0]!.counterparty).toEqual({ number: a.number, name: "" });
    const staff = await listTransactions(f.ledger, teller, { accountId: b.id, pageSize: 0, pageToken: "" });
    expect(staff.items[0]!.counterparty).toEqual({ number: a.number, name: "Ledger Test" });
    // A cursor names its account and position, sealed: it opens only for that account, unedited.
    const cursor = mine.items[0]!.cursor;
    expect(parseEntryCursor(f.ledger, a.id, cursor)).toBe(mine.items[0]!.seq);
    for (const [account, bad] of [[b.id, cursor], [a.id, cursor.replace(/^./, (c) => (c === "e" ? "f" : "e"))], [a.id, "not-a-cursor"], [a.id, ""]] as const) {
      expect((await domainError(Promise.resolve().then(() => parseEntryCursor(f.ledger, account, bad)))).reason).toBe("CURSOR_INVALID");
    }
  });

  test("the statement pages with opaque tokens bound to the filters, and filters by time", async () => {
    const a = await open(alice);
    f.clock.frozen = true;
    const base = Date.now() + 10_000;
    for (let i = 0; i < 5; i++) {
      f.clock.nowMs = base + i * 1_000;
      await fund(alice, a, i + 1);
    }
    f.clock.frozen = false;
    const first = await listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 2, pageToken: "" });
    expect(first.items.map((l) => l.amount)).toEqual([5n, 4n]);
    const second = await listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 2, pageToken: first.nextPageToken });
    expect(second.items.map((l) => l.amount)).toEqual([3n, 2n]);
    const third = await listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 2, pageToken: second.nextPageToken });
    expect(third.items.map((l) => l.amount)).toEqual([1n]);
    expect(third.nextPageToken).toBe("");
    const window = await listTransactions(f.ledger, alice, { accountId: a.id, startTimeMs: base + 1_000, endTimeMs: base + 3_000, pageSize: 0, pageToken: "" });
    expect(window.items.map((l) => l.amount)).toEqual([3n, 2n]);
    const reused = await domainError(listTransactions(f.ledger, alice, { accountId: a.id, startTimeMs: base, pageSize: 2, pageToken: first.nextPageToken }));
    expect([codeOf(reused), reused.reason]).toEqual([Code.InvalidArgument, "INVALID_PAGE_TOKEN"]);
    const garbage = await domainError(listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 2, pageToken: "not-a-token" }));
    expect(garbage.reason).toBe("INVALID_PAGE_TOKEN");
    const big = await domainError(listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 501, pageToken: "" }));
    expect(big.reason).toBe("INVALID_PAGE_SIZE");
  });

  test("page tokens are sealed: an edited cursor or a statement cursor is refused (security W9)", async () => {
    const a = await open(alice);
    for (let i = 0; i < 3; i++) await fund(alice, a, i + 1);
    const first = await listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 1, pageToken: "" });
    const [body, mac] = first.nextPageToken.split(".") as [string, string];
    const payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as { f: string; c: { seq: number } };
    // Moving the cursor (to skip rows, or past another filter's bound) with the same MAC.
    const moved = Buffer.from(JSON.stringify({ ...payload, c: { seq: payload.c.seq + 1 } })).toString("base64url") + "." + mac;
    const edited = await domainError(listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 1, pageToken: moved }));
    expect([codeOf(edited), edited.reason]).toEqual([Code.InvalidArgument, "INVALID_PAGE_TOKEN"]);
    // A token of another kind, sealed by the same key: a statement entry's cursor.
    const entryCursor = first.items[0]!.cursor;
    const wrongKind = await domainError(listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 1, pageToken: entryCursor }));
    expect(wrongKind.reason).toBe("INVALID_PAGE_TOKEN");
    // The genuine token still works.
    expect((await listTransactions(f.ledger, alice, { accountId: a.id, pageSize: 1, pageToken: first.nextPageToken })).items).toHaveLength(1);
  });

  test("GetBalance as_of reads the past from the entries, holds included", async () => {
    const a = await open(alice);
    f.clock.frozen = true;
    const t0 = Date.now() + 20_000;
    f.clock.nowMs = t0;
    await fund(alice, a, 1_000);
    f.clock.nowMs = t0 + 1_000;
    await withdraw(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(400), description: "" });
    f.clock.nowMs = t0 + 5_000;
    const at = (ms: number) => getBalance(f.ledger, alice, { accountId: a.id, asOfMs: ms });
    expect((await at(t0 - 1)).ledger).toBe(0n);
    expect((await at(t0)).ledger).toBe(1_000n);
    expect((await at(t0 + 999)).ledger).toBe(1_000n);
    expect((await at(t0 + 1_000)).ledger).toBe(600n);
    expect(await at(t0 + 4_000)).toMatchObject({ ledger: 600n, held: 0n, available: 600n, asOfMs: t0 + 4_000 });
    const future = await domainError(at(t0 + 3_600_000));
    expect([codeOf(future), future.reason]).toEqual([Code.InvalidArgument, "AS_OF_INVALID"]);
    f.clock.frozen = false;
  });

  test("insufficient funds is refused, recorded, and replayed even after a deposit", async () => {
    const a = await open(alice);
    const b = await open(bob);
    await fund(alice, a, 100);
    const requestId = rid();
    const attempt = () => transfer(f.ledger, alice, { requestId, fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(101), description: "" });
    const before = await writeCounts(f.db);
    const err = await domainError(attempt());
    expect([codeOf(err), err.reason]).toEqual([Code.FailedPrecondition, "INSUFFICIENT_FUNDS"]);
    const after = await writeCounts(f.db);
    // No money moved; the refusal itself is recorded (idempotency key + FAILED audit event).
    expect(after).toEqual({ ...before, idempotency_keys: before.idempotency_keys! + 1, audit_events: before.audit_events! + 1 });
    await fund(alice, a, 1_000);
    const replayed = await domainError(attempt());
    expect(replayed.reason).toBe("INSUFFICIENT_FUNDS");
    expect((await balance(alice, a)).ledger).toBe(1_100n);
    const events = await f.db.read((tx) => tx.all<{ outcome: string; details: string }>(`SELECT outcome, details FROM audit_events WHERE action = 'transaction.transfer' AND target_id = ?`, [a.id]));
    expect(events.map((e) => e.outcome)).toEqual(["FAILED"]);
    expect(JSON.parse(events[0]!.details)).toMatchObject({ reason: "INSUFFICIENT_FUNDS", amount: "101" });
  });

  test("the overdraft limit (admin only) lowers the floor; holds count against it", async () => {
    const a = await open(alice);
    const refused = await domainError(updateAccount(f.ledger, alice, { accountId: a.id, displayName: "", overdraftLimit: usd(500), updateMask: ["overdraft_limit"], etag: "" }));
    expect([codeOf(refused), refused.reason]).toEqual([Code.PermissionDenied, "OVERDRAFT_ADMIN_ONLY"]);
    const updated = await updateAccount(f.ledger, admin, { accountId: a.id, displayName: "", overdraftLimit: usd(500), updateMask: ["overdraft_limit"], etag: "" });
    expect(updated.overdraftLimit).toBe(500n);
    await withdraw(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(500), description: "" });
    expect(await balance(alice, a)).toMatchObject({ ledger: -500n, available: 0n });
    const err = await domainError(withdraw(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(1), description: "" }));
    expect(err.reason).toBe("INSUFFICIENT_FUNDS");
    // A deposit is accepted even while the account is below zero.
    await fund(alice, a, 100);
    expect((await balance(alice, a)).ledger).toBe(-400n);
  });

  test("frozen accounts take no money in or out; closed accounts neither; reads still work", async () => {
    const a = await open(alice);
    const b = await open(bob);
    await fund(alice, a, 500);
    await freezeAccount(f.ledger, teller, { accountId: b.id, reason: "investigation" });
    const before = await writeCounts(f.db);
    // Alice learns only that Bob's account cannot take the payment, not why (security W10); staff see why.
    const into = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(1), description: "" }));
    expect([codeOf(into), into.reason, into.metadata]).toEqual([Code.FailedPrecondition, "PAYEE_UNAVAILABLE", { field: "target" }]);
    const staffInto = await domainError(transfer(f.ledger, teller, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(1), description: "" }));
    expect([codeOf(staffInto), staffInto.reason]).toEqual([Code.FailedPrecondition, "ACCOUNT_FROZEN"]);
    const out = await domainError(withdraw(f.ledger, bob, { requestId: rid(), accountId: b.id, amount: usd(1), description: "" }));
    expect(out.reason).toBe("ACCOUNT_FROZEN");
    const dep = await domainError(fund(teller, b, 1));
    expect(dep.reason).toBe("ACCOUNT_FROZEN");
    const after = await writeCounts(f.db);
    expect(after.transactions).toBe(before.transactions);
    expect(after.entries).toBe(before.entries);
    expect((await balance(bob, b)).ledger).toBe(0n);
    await unfreezeAccount(f.ledger, teller, { accountId: b.id, reason: "cleared" });
    const closed = await closeAccount(f.ledger, bob, { accountId: b.id });
    expect(closed.status).toBe("CLOSED");
    const toClosed = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(1), description: "" }));
    expect(toClosed.reason).toBe("PAYEE_UNAVAILABLE");
    expect((await domainError(transfer(f.ledger, teller, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(1), description: "" }))).reason).toBe("ACCOUNT_CLOSED");
  });

  test("every malformed request is INVALID_ARGUMENT with a reason and writes nothing", async () => {
    const a = await open(alice);
    const b = await open(bob);
    await fund(alice, a, 100);
    const before = await writeCounts(f.db);
    const bad: [() => Promise<unknown>, string][] = [
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(0), description: "" }), "AMOUNT_NOT_POSITIVE"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(-5), description: "" }), "AMOUNT_NOT_POSITIVE"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(10n ** 15n + 1n), description: "" }), "AMOUNT_TOO_LARGE"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: undefined, description: "" }), "AMOUNT_REQUIRED"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: { currency: "usd", minorUnits: 1n }, description: "" }), "CURRENCY_INVALID"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: { currency: "XAU", minorUnits: 1n }, description: "" }), "CURRENCY_UNSUPPORTED"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: { currency: "", minorUnits: 1n }, description: "" }), "CURRENCY_REQUIRED"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: "not-a-uuid", amount: usd(1), description: "" }), "ID_INVALID"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id.toUpperCase(), amount: usd(1), description: "" }), "ID_INVALID"],
      [() => deposit(f.ledger, alice, { requestId: "", accountId: a.id, amount: usd(1), description: "" }), "REQUEST_ID_REQUIRED"],
      [() => deposit(f.ledger, alice, { requestId: "x".repeat(129), accountId: a.id, amount: usd(1), description: "" }), "REQUEST_ID_INVALID"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(1), description: "d".repeat(281) }), "FIELD_TOO_LONG"],
      [() => transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: "", toAccountNumber: "", amount: usd(1), description: "" }), "TARGET_REQUIRED"],
      [() => transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: "", toAccountNumber: "1234 5678 9012 34", amount: usd(1), description: "" }), "ACCOUNT_NUMBER_INVALID"],
      [() => createAccount(f.ledger, alice, { requestId: rid(), currency: "usd", type: "CHECKING", displayName: "", ownerId: "" }), "CURRENCY_INVALID"],
      [() => createAccount(f.ledger, alice, { requestId: rid(), currency: "USD", type: "", displayName: "", ownerId: "" }), "ACCOUNT_TYPE_INVALID"],
      // Security W12: text other people read may not reorder or hide characters (refused, not stripped).
      [() => transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(1), description: "rent \u202e001 yap" }), "FIELD_INVALID"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(1), description: "pay\u200bme" }), "FIELD_INVALID"],
      [() => createAccount(f.ledger, alice, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "\u2067Everyday\u2069", ownerId: "" }), "FIELD_INVALID"],
      [() => deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(1), description: "\ufeffbom" }), "FIELD_INVALID"],
    ];
    for (const [call, reason] of bad) {
      const err = await domainError(call());
      expect([Code[codeOf(err)], err.reason]).toEqual(["InvalidArgument", reason]);
    }
    const same = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: a.id, toAccountNumber: "", amount: usd(1), description: "" }));
    expect([codeOf(same), same.reason]).toEqual([Code.FailedPrecondition, "SAME_ACCOUNT"]);
    expect(await writeCounts(f.db)).toEqual(before);
    // A mistyped digit of a real account number is caught by the check digits.
    const digits = b.number.split("");
    digits[5] = String((Number(digits[5]) + 1) % 10);
    const typo = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: "", toAccountNumber: digits.join(""), amount: usd(1), description: "" }));
    expect(typo.reason).toBe("ACCOUNT_NUMBER_INVALID");
  });

  test("state-dependent refusals: currency mismatch, same account by number, unknown target", async () => {
    const a = await open(alice);
    const e = await open(bob, "EUR");
    await fund(alice, a, 100);
    const before = await writeCounts(f.db);
    // Bob's EUR account: Alice is told it cannot take the payment, not its currency (security W10).
    const mismatch = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: e.id, toAccountNumber: "", amount: usd(1), description: "" }));
    expect([codeOf(mismatch), mismatch.reason, mismatch.metadata]).toEqual([Code.FailedPrecondition, "PAYEE_UNAVAILABLE", { field: "target" }]);
    const staffMismatch = await domainError(transfer(f.ledger, teller, { requestId: rid(), fromAccountId: a.id, toAccountId: e.id, toAccountNumber: "", amount: usd(1), description: "" }));
    expect([codeOf(staffMismatch), staffMismatch.reason]).toEqual([Code.FailedPrecondition, "CURRENCY_MISMATCH"]);
    const wrongAmount = await domainError(deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: eur(1), description: "" }));
    expect(wrongAmount.reason).toBe("CURRENCY_MISMATCH");
    const self = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: "", toAccountNumber: a.number, amount: usd(1), description: "" }));
    expect(self.reason).toBe("SAME_ACCOUNT");
    const unused = "100000000000" + checkDigits("100000000000");
    const ghost = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: "", toAccountNumber: unused, amount: usd(1), description: "" }));
    expect([codeOf(ghost), ghost.reason]).toEqual([Code.NotFound, "ACCOUNT_NOT_FOUND"]);
    const settlement = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: f.ledger.settlementId("USD", a.id), toAccountNumber: "", amount: usd(1), description: "" }));
    expect([codeOf(settlement), settlement.reason]).toEqual([Code.NotFound, "ACCOUNT_NOT_FOUND"]);
    // Security W10: without the money to pay, a number's existence is not learned: the answer is
    // INSUFFICIENT_FUNDS for a real number and an unused one alike, and it never names the payee.
    const bobs = await open(bob);
    const real = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: "", toAccountNumber: bobs.number, amount: usd(101), description: "" }));
    const fake = await domainError(transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: "", toAccountNumber: unused, amount: usd(101), description: "" }));
    expect([real.reason, real.metadata]).toEqual(["INSUFFICIENT_FUNDS", { account_id: a.id }]);
    expect([fake.reason, fake.metadata]).toEqual([real.reason, real.metadata]);
    const after = await writeCounts(f.db);
    expect([after.transactions, after.entries]).toEqual([before.transactions, before.entries]);
    expect((await balance(alice, a)).ledger).toBe(100n);
  });

  test("a customer sees and moves only their own accounts: others are NOT_FOUND", async () => {
    const a = await open(alice);
    const b = await open(bob);
    await fund(alice, a, 100);
    const dep = await fund(alice, a, 1);
    for (const call of [
      () => getBalance(f.ledger, bob, { accountId: a.id }),
      () => withdraw(f.ledger, bob, { requestId: rid(), accountId: a.id, amount: usd(1), description: "" }),
      () => deposit(f.ledger, bob, { requestId: rid(), accountId: a.id, amount: usd(1), description: "" }),
      () => transfer(f.ledger, bob, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(1), description: "" }),
      () => listTransactions(f.ledger, bob, { accountId: a.id, pageSize: 0, pageToken: "" }),
      () => getTransaction(f.ledger, bob, dep.id),
      () => closeAccount(f.ledger, bob, { accountId: a.id }),
    ]) {
      const err = await domainError(call());
      expect(codeOf(err)).toBe(Code.NotFound);
    }
    // A customer who is paid sees the transfer; the teller sees everything.
    const t = await transfer(f.ledger, alice, { requestId: rid(), fromAccountId: a.id, toAccountId: b.id, toAccountNumber: "", amount: usd(10), description: "" });
    expect((await getTransaction(f.ledger, bob, t.id)).id).toBe(t.id);
    expect((await getTransaction(f.ledger, teller, dep.id)).id).toBe(dep.id);
    // Only staff may open an account for someone else.
    const foreign = await domainError(createAccount(f.ledger, alice, { requestId: rid(), currency: "USD", type: "SAVINGS", displayName: "", ownerId: bob.userId }));
    expect([codeOf(foreign), foreign.reason]).toEqual([Code.PermissionDenied, "OWNER_ID_STAFF_ONLY"]);
    const forBob = await createAccount(f.ledger, teller, { requestId: rid(), currency: "USD", type: "SAVINGS", displayName: "", ownerId: bob.userId });
    expect(forBob.ownerId).toBe(bob.userId);
  });

  test("a balance near the BIGINT range is refused instead of overflowing", async () => {
    const a = await open(alice);
    const max = 10n ** 15n;
    await f.db.transaction((tx) => tx.run(`UPDATE accounts SET balance = balance + CAST(? AS BIGINT) WHERE id = ?`, ["3999999999999999999", a.id]));
    await f.db.transaction((tx) => tx.run(`UPDATE accounts SET balance = balance - CAST(? AS BIGINT) WHERE id = ?`, ["3999999999999999999", f.ledger.settlementId("USD", a.id)]));
    const err = await domainError(deposit(f.ledger, alice, { requestId: rid(), accountId: a.id, amount: usd(max), description: "" }));
    expect(err.reason).toBe("BALANCE_LIMIT_EXCEEDED");
    // Undo the test's direct edit so the afterEach checks of entries hold.
    await f.db.transaction((tx) => tx.run(`UPDATE accounts SET balance = 0 WHERE id = ?`, [a.id]));
    await f.db.transaction((tx) => tx.run(`UPDATE accounts SET balance = balance + CAST(? AS BIGINT) WHERE id = ?`, ["3999999999999999999", f.ledger.settlementId("USD", a.id)]));
  });
});
