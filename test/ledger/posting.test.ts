// Goal: the posting rules themselves, applied by the posting engine on SQLite and PostgreSQL:
// each posting writes one entry per leg with the account's next seq and its balance after,
// changes balances by exactly its legs, and a broken posting (unbalanced legs, an unlocked
// account, two legs on one account) is a bug: a plain Error that writes nothing, never a
// DomainError.
import { Role } from "../../gen/bank/v1/access_pb";
import { DomainError } from "../../src/errors";
import { createAccount } from "../../src/ledger/accounts";
import type { Posting } from "../../src/ledger/engine/batch-state";
import type { AccountView } from "../../src/ledger/types";
import { engines } from "../support/db";
import { addUser, openLedger, rid, writeCounts, type LedgerFixture } from "./support";

describe.each(engines())("posting on %s", (engine) => {
  let f: LedgerFixture;
  let a: AccountView;
  let b: AccountView;
  let settlement: string;

  beforeAll(async () => {
    f = await openLedger(engine);
    const admin = await addUser(f.db, [Role.ADMIN]);
    a = await createAccount(f.ledger, admin, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" });
    b = await createAccount(f.ledger, admin, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" });
    settlement = f.ledger.settlementId("USD", a.id);
  });
  afterAll(async () => f.close());

  const transaction = (amount: bigint): Posting["transaction"] => ({
    type: "TRANSFER", status: "POSTED", currency: "USD", amount, fromAccountId: a.id, toAccountId: b.id, description: "", requestId: rid(), initiatedBy: "test",
  });
  /** Submits a bare posting (no key) that locks `ids` and posts as given. */
  const run = (ids: string[], posting: Posting) =>
    f.ledger.engine.submit({
      weight: 1,
      accounts: () => ({ ids }),
      apply: (batch) => batch.post(posting),
      failure: { actor: { userId: "test", roles: [], clientAddress: "", callId: "" }, action: "test.post", targetId: "", details: {} },
    });

  test("entries carry per-account seq and balance_after; balances move atomically", async () => {
    await run([a.id, settlement], { transaction: { ...transaction(500n), type: "DEPOSIT", fromAccountId: null }, legs: [{ accountId: a.id, amount: 500n, held: 0n }, { accountId: settlement, amount: -500n, held: 0n }] });
    const t = await run([a.id, b.id], { transaction: transaction(200n), legs: [{ accountId: a.id, amount: -200n, held: 0n }, { accountId: b.id, amount: 200n, held: 0n }] });
    const entries = await f.db.read((tx) =>
      tx.all<{ account_id: string; seq: string | number; amount: string; balance_after: string }>(
        `SELECT account_id, seq, CAST(amount AS TEXT) AS amount, CAST(balance_after AS TEXT) AS balance_after FROM entries WHERE account_id IN (?, ?) ORDER BY account_id, seq`, [a.id, b.id],
      ),
    );
    expect(entries.map((e) => [e.account_id, Number(e.seq), e.amount, e.balance_after])).toEqual(
      [[a.id, 1, "500", "500"], [a.id, 2, "-200", "300"], [b.id, 1, "200", "200"]].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    const stored = await f.db.read((tx) => tx.one<{ n: string | number }>(`SELECT COUNT(*) AS n FROM entries WHERE transaction_id = ?`, [t.id]));
    expect(Number(stored!.n)).toBe(2);
  });

  test.each([
    ["unbalanced legs", [{ id: "a", amount: -5n }, { id: "b", amount: 4n }], ["a", "b"]],
    ["an account that was not locked", [{ id: "a", amount: -5n }, { id: "b", amount: 5n }], ["a"]],
    ["two legs on one account", [{ id: "a", amount: -5n }, { id: "a", amount: 5n }], ["a"]],
  ])("%s is a bug: a plain Error, and nothing is written", async (_name, legSpec, lockSpec) => {
    const ids = { a: a.id, b: b.id } as Record<string, string>;
    const before = await writeCounts(f.db);
    const err = await run(lockSpec.map((k) => ids[k]!), { transaction: transaction(5n), legs: legSpec.map((l) => ({ accountId: ids[l.id]!, amount: l.amount, held: 0n })) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(DomainError);
    expect(String((err as Error).message)).toMatch(/^ledger invariant violated/);
    expect(await writeCounts(f.db)).toEqual(before);
  });
});
