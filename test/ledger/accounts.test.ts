// Goal: accounts follow the contract on SQLite and PostgreSQL: numbers are 14 digits whose
// check digits catch every single mistyped digit and adjacent swap; settlement accounts are
// created once per currency even when processes start together; accounts are listed newest
// first with bound page tokens; updates need a mask, respect the etag and the admin-only
// overdraft; freeze, unfreeze and close follow their state rules and are audited.
import { Code } from "@connectrpc/connect";
import { limits } from "../../src/limits";
import { checkDigits, formatAccountNumber, parseAccountNumber, randomAccountNumber, settlementAccountNumber } from "../../src/ledger/account-number";
import { closeAccount, createAccount, etagOf, freezeAccount, getAccount, listAccounts, unfreezeAccount, updateAccount } from "../../src/ledger/accounts";
import { Ledger } from "../../src/ledger/ledger";
import { deposit, withdraw } from "../../src/ledger/commands";
import type { Actor } from "../../src/ledger/types";
import { engines } from "../support/db";
import { addUser, domainError, rid, usd, type LedgerFixture, openLedgerWithCast } from "./support";
import { codeOf } from "../../src/transport/errors";

describe("account numbers", () => {
  test("are 14 digits, grouped by four for people, and parse with or without spaces", () => {
    const n = randomAccountNumber();
    expect(n).toMatch(/^[1-9]\d{13}$/);
    expect(formatAccountNumber(n)).toMatch(/^\d{4} \d{4} \d{4} \d{2}$/);
    expect(parseAccountNumber(formatAccountNumber(n))).toBe(n);
    expect(parseAccountNumber(n)).toBe(n);
    expect(parseAccountNumber(n.slice(0, 13))).toBeUndefined();
    expect(parseAccountNumber(n + "0")).toBeUndefined();
    expect(parseAccountNumber("abcd efgh ijkl mn")).toBeUndefined();
  });

  test("reject every single-digit substitution and every adjacent swap of a number", () => {
    for (let round = 0; round < 50; round++) {
      const n = randomAccountNumber();
      for (let i = 0; i < n.length; i++) {
        for (let d = 0; d <= 9; d++) {
          if (String(d) === n[i]) continue;
          expect(parseAccountNumber(n.slice(0, i) + d + n.slice(i + 1))).toBeUndefined();
        }
        if (i + 1 < n.length && n[i] !== n[i + 1]) {
          expect(parseAccountNumber(n.slice(0, i) + n[i + 1] + n[i] + n.slice(i + 2))).toBeUndefined();
        }
      }
    }
  });

  test("settlement numbers are fixed per currency, valid, and outside the customer range", () => {
    const usdNumber = settlementAccountNumber("USD");
    expect(usdNumber).toBe("000000302813" + checkDigits("000000302813"));
    expect(parseAccountNumber(usdNumber)).toBe(usdNumber);
    expect(settlementAccountNumber("EUR")).not.toBe(usdNumber);
  });
});

describe.each(engines())("accounts on %s", (engine) => {
  let f: LedgerFixture;
  let alice: Actor;
  let bob: Actor;
  let teller: Actor;
  let auditor: Actor;
  let admin: Actor;

  beforeAll(async () => {
    ({ f, alice, bob, teller, auditor, admin } = await openLedgerWithCast(engine));
  });
  afterAll(async () => f.close());

  const open = (who: Actor, extra: Partial<{ currency: string; type: string; displayName: string; ownerId: string }> = {}) =>
    createAccount(f.ledger, who, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "", ...extra });

  test("settlement accounts: the same shards per currency, even when several processes start at once", async () => {
    const opened = await Promise.all([Ledger.open(f.db, f.ledger.currencies), Ledger.open(f.db, f.ledger.currencies), Ledger.open(f.db, f.ledger.currencies)]);
    await Promise.all(opened.map((l) => l.stop()));
    const rows = await f.db.read((tx) => tx.all<{ currency: string; n: string | number; shards: string | number }>(`SELECT currency, COUNT(*) AS n, COUNT(DISTINCT shard) AS shards FROM accounts WHERE kind = 'SETTLEMENT' GROUP BY currency ORDER BY currency`));
    const k = limits.settlementShards;
    expect(rows.map((r) => [r.currency, Number(r.n), Number(r.shards)])).toEqual([["CHF", k, k], ["EUR", k, k], ["GBP", k, k], ["JPY", k, k], ["USD", k, k]]);
    for (const l of opened) expect(l.settlementIdsOf("USD")).toEqual(f.ledger.settlementIdsOf("USD"));
    // Staff can read a settlement account; customers cannot; nobody can act on it.
    const id = f.ledger.settlementIdsOf("USD")[1]!;
    expect((await getAccount(f.ledger, auditor, id)).kind).toBe("SETTLEMENT");
    expect((await domainError(getAccount(f.ledger, alice, id))).kind).toBe("not_found");
    expect((await domainError(freezeAccount(f.ledger, admin, { accountId: id, reason: "x" }))).kind).toBe("not_found");
    expect((await domainError(deposit(f.ledger, admin, { requestId: rid(), accountId: id, amount: usd(1), description: "" }))).kind).toBe("not_found");
  });

  test("CreateAccount opens an active, empty account and records an audit event", async () => {
    const acc = await open(alice, { type: "SAVINGS", displayName: "Rainy day", currency: "JPY" });
    expect(acc).toMatchObject({ ownerId: alice.userId, currency: "JPY", type: "SAVINGS", status: "ACTIVE", displayName: "Rainy day", balance: 0n, held: 0n, overdraftLimit: 0n });
    expect(await getAccount(f.ledger, alice, acc.id)).toEqual(acc);
    const events = await f.db.read((tx) => tx.all<{ actor_id: string; outcome: string }>(`SELECT actor_id, outcome FROM audit_events WHERE action = 'account.create' AND target_id = ?`, [acc.id]));
    expect(events).toEqual([{ actor_id: alice.userId, outcome: "SUCCESS" }]);
    const unknownOwner = await domainError(open(teller, { ownerId: "0190a0a0-0000-7000-8000-000000000000" }));
    expect([codeOf(unknownOwner), unknownOwner.reason]).toEqual([Code.NotFound, "USER_NOT_FOUND"]);
  });

  test("ListAccounts: customers get their own, staff everyone or one owner, newest first, paged", async () => {
    const carol = await addUser(f.db);
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await open(carol));
    await open(bob);
    const page1 = await listAccounts(f.ledger, carol, { ownerId: "", pageSize: 2, pageToken: "" });
    const page2 = await listAccounts(f.ledger, carol, { ownerId: "", pageSize: 2, pageToken: page1.nextPageToken });
    const page3 = await listAccounts(f.ledger, carol, { ownerId: "", pageSize: 2, pageToken: page2.nextPageToken });
    expect([...page1.items, ...page2.items, ...page3.items].map((a) => a.id)).toEqual(mine.map((a) => a.id).reverse());
    expect(page3.nextPageToken).toBe("");
    // A customer naming another owner still gets only their own accounts.
    const sneaky = await listAccounts(f.ledger, carol, { ownerId: bob.userId, pageSize: 0, pageToken: "" });
    expect(sneaky.items.every((a) => a.ownerId === carol.userId)).toBe(true);
    const byStaff = await listAccounts(f.ledger, auditor, { ownerId: carol.userId, pageSize: 0, pageToken: "" });
    expect(byStaff.items).toHaveLength(5);
    const all = await listAccounts(f.ledger, teller, { ownerId: "", pageSize: 500, pageToken: "" });
    expect(all.items.some((a) => a.ownerId === bob.userId)).toBe(true);
    expect(all.items.every((a) => a.kind === "CUSTOMER")).toBe(true);
    const mismatch = await domainError(listAccounts(f.ledger, auditor, { ownerId: bob.userId, pageSize: 2, pageToken: page1.nextPageToken }));
    expect(mismatch.reason).toBe("INVALID_PAGE_TOKEN");
  });

  test("UpdateAccount needs a mask, checks the etag, and lets only admins set the overdraft", async () => {
    const acc = await open(alice);
    const noMask = await domainError(updateAccount(f.ledger, alice, { accountId: acc.id, displayName: "x", updateMask: undefined, etag: "" }));
    expect([codeOf(noMask), noMask.reason]).toEqual([Code.InvalidArgument, "UPDATE_MASK_REQUIRED"]);
    const badPath = await domainError(updateAccount(f.ledger, alice, { accountId: acc.id, displayName: "x", updateMask: ["status"], etag: "" }));
    expect(badPath.reason).toBe("UPDATE_MASK_INVALID");
    const renamed = await updateAccount(f.ledger, alice, { accountId: acc.id, displayName: "Bills", updateMask: ["display_name"], etag: etagOf(acc) });
    expect(renamed.displayName).toBe("Bills");
    expect(etagOf(renamed)).not.toBe(etagOf(acc));
    const stale = await domainError(updateAccount(f.ledger, alice, { accountId: acc.id, displayName: "Old", updateMask: ["display_name"], etag: etagOf(acc) }));
    expect([codeOf(stale), stale.reason]).toEqual([Code.FailedPrecondition, "ETAG_MISMATCH"]);
    // A deposit does not change the etag: it covers name, limit and status.
    await deposit(f.ledger, alice, { requestId: rid(), accountId: acc.id, amount: usd(1), description: "" });
    expect(etagOf(await getAccount(f.ledger, alice, acc.id))).toBe(etagOf(renamed));
    const notOwner = await domainError(updateAccount(f.ledger, bob, { accountId: acc.id, displayName: "Mine", updateMask: ["display_name"], etag: "" }));
    expect(codeOf(notOwner)).toBe(Code.NotFound);
    const tellerTry = await domainError(updateAccount(f.ledger, teller, { accountId: acc.id, displayName: "T", updateMask: ["display_name"], etag: "" }));
    expect(codeOf(tellerTry)).toBe(Code.NotFound);
    const wrongCurrency = await domainError(updateAccount(f.ledger, admin, { accountId: acc.id, displayName: "", overdraftLimit: { currency: "EUR", minorUnits: 5n }, updateMask: ["overdraft_limit"], etag: "" }));
    expect(wrongCurrency.reason).toBe("CURRENCY_MISMATCH");
    const negative = await domainError(updateAccount(f.ledger, admin, { accountId: acc.id, displayName: "", overdraftLimit: usd(-1), updateMask: ["overdraft_limit"], etag: "" }));
    expect(negative.reason).toBe("OVERDRAFT_LIMIT_INVALID");
    const both = await updateAccount(f.ledger, admin, { accountId: acc.id, displayName: "Main", overdraftLimit: usd(2_000), updateMask: ["display_name", "overdraft_limit"], etag: "" });
    expect(both).toMatchObject({ displayName: "Main", overdraftLimit: 2_000n });
  });

  test("freeze and unfreeze: tellers and admins, a reason required, idempotent, audited", async () => {
    const acc = await open(alice);
    const byOwner = await domainError(freezeAccount(f.ledger, alice, { accountId: acc.id, reason: "x" }));
    expect(codeOf(byOwner)).toBe(Code.PermissionDenied);
    const noReason = await domainError(freezeAccount(f.ledger, teller, { accountId: acc.id, reason: " " }));
    expect(noReason.reason).toBe("FIELD_REQUIRED");
    const frozen = await freezeAccount(f.ledger, teller, { accountId: acc.id, reason: "suspicious" });
    expect(frozen.status).toBe("FROZEN");
    expect((await freezeAccount(f.ledger, teller, { accountId: acc.id, reason: "again" })).status).toBe("FROZEN");
    // Reads still work while frozen.
    expect((await getAccount(f.ledger, alice, acc.id)).status).toBe("FROZEN");
    const close = await domainError(closeAccount(f.ledger, alice, { accountId: acc.id }));
    expect(close.reason).toBe("ACCOUNT_FROZEN");
    expect((await unfreezeAccount(f.ledger, admin, { accountId: acc.id, reason: "cleared" })).status).toBe("ACTIVE");
    const events = await f.db.read((tx) => tx.all<{ action: string; outcome: string }>(`SELECT action, outcome FROM audit_events WHERE target_id = ? ORDER BY event_time, id`, [acc.id]));
    expect(events.filter((e) => e.outcome === "SUCCESS").map((e) => e.action)).toEqual(["account.create", "account.freeze", "account.unfreeze"]);
    expect(events.filter((e) => e.outcome === "FAILED").map((e) => e.action)).toEqual(["account.close"]);
  });

  test("CloseAccount: only with a zero balance; a closed account takes no money and stays closed", async () => {
    const acc = await open(alice);
    await deposit(f.ledger, alice, { requestId: rid(), accountId: acc.id, amount: usd(10), description: "" });
    const notEmpty = await domainError(closeAccount(f.ledger, alice, { accountId: acc.id }));
    expect([codeOf(notEmpty), notEmpty.reason]).toEqual([Code.FailedPrecondition, "ACCOUNT_NOT_EMPTY"]);
    await withdraw(f.ledger, alice, { requestId: rid(), accountId: acc.id, amount: usd(10), description: "" });
    const closed = await closeAccount(f.ledger, alice, { accountId: acc.id });
    expect(closed.status).toBe("CLOSED");
    expect((await closeAccount(f.ledger, alice, { accountId: acc.id })).status).toBe("CLOSED");
    const dep = await domainError(deposit(f.ledger, teller, { requestId: rid(), accountId: acc.id, amount: usd(1), description: "" }));
    expect(dep.reason).toBe("ACCOUNT_CLOSED");
    const unfreeze = await domainError(unfreezeAccount(f.ledger, teller, { accountId: acc.id, reason: "x" }));
    expect(unfreeze.reason).toBe("ACCOUNT_CLOSED");
    const rename = await domainError(updateAccount(f.ledger, alice, { accountId: acc.id, displayName: "x", updateMask: ["display_name"], etag: "" }));
    expect(rename.reason).toBe("ACCOUNT_CLOSED");
  });
});
