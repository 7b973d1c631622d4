// Goal (issue 26, item 6): a statement line and GetTransaction, seen by a customer, show the other
// party by account number only: no account id, user id or request_id that is not the customer's
// own, and no staff-only text. The payee of a transfer used to see the payer's account UUID, the
// payer's user id (initiated_by) and the payer's private request_id, and an admin's internal
// reversal reason became the description on the customer's statement. Customers now see
// "Reversal of <original description>"; staff (teller, auditor, admin) see everything, the other
// party's name included. Through a real server, on SQLite and PostgreSQL, per role.
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType, type Account } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { TransactionType, type StatementEntry, type Transaction } from "../../gen/bank/v1/transaction_pb";
import { engines } from "../support/db";
import { client, type TestApp } from "../support/app";
import { startAppWithUsers, type TestUser } from "../support/users";
import { rid } from "./support";
import { usd } from "../support/money";

/** The fields this issue is about, of a transaction. */
const seen = (t: Transaction | undefined) => ({ fromAccountId: t!.fromAccountId, toAccountId: t!.toAccountId, initiatedBy: t!.initiatedBy, requestId: t!.requestId, description: t!.description });

describe.each(engines())("what each party sees of a transaction on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let teller: TestUser;
  let auditor: TestUser;
  let admin: TestUser;
  let payer: Account;
  let payerSavings: Account;
  let payee: Account;
  let payRequestId: string;
  let payId: string;
  let depositRequestId: string;
  let reversalId: string;
  const accounts = (u: TestUser) => client(t.baseUrl, AccountService, { token: u.token });
  const money = (u: TestUser) => client(t.baseUrl, TransactionService, { token: u.token });
  const line = async (u: TestUser, accountId: string, transactionId: string): Promise<StatementEntry> =>
    (await money(u).listTransactions({ accountId })).entries.find((e) => e.transaction!.id === transactionId)!;
  const REASON = "teller keyed wrong account";

  beforeAll(async () => {
    ({ t, alice, bob, teller, auditor, admin } = await startAppWithUsers(engine, { alice: [Role.CUSTOMER], bob: [Role.CUSTOMER], teller: [Role.TELLER], auditor: [Role.AUDITOR], admin: [Role.ADMIN] }));
    const open = async (u: TestUser) => (await accounts(u).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "m" })).account!;
    payer = await open(alice);
    payerSavings = await open(alice);
    payee = await open(bob);
    // A teller's deposit: the teller's user id and request_id are the teller's, not Alice's.
    depositRequestId = rid();
    await money(teller).deposit({ requestId: depositRequestId, accountId: payer.id, amount: usd(10_000), description: "cash at the counter" });
    payRequestId = rid();
    payId = (await money(alice).transfer({ requestId: payRequestId, fromAccountId: payer.id, target: { case: "toAccountNumber", value: payee.number }, amount: usd(2_500), description: "rent" })).transaction!.id;
    reversalId = (await money(admin).reverseTransaction({ requestId: rid(), transactionId: payId, reason: REASON })).transaction!.id;
  });
  afterAll(async () => t.stop());

  test("the payee sees the payer by account number only: no account id, user id or request_id of the payer", async () => {
    const entry = await line(bob, payee.id, payId);
    expect(seen(entry.transaction)).toEqual({ fromAccountId: "", toAccountId: payee.id, initiatedBy: "", requestId: "", description: "rent" });
    expect(entry.counterparty).toMatchObject({ accountNumber: payer.number, name: "" });
    expect(seen((await money(bob).getTransaction({ transactionId: payId })).transaction)).toEqual(seen(entry.transaction));
  });

  test("the payer sees its own side in full and the payee by number only", async () => {
    const entry = await line(alice, payer.id, payId);
    expect(seen(entry.transaction)).toEqual({ fromAccountId: payer.id, toAccountId: "", initiatedBy: alice.id, requestId: payRequestId, description: "rent" });
    expect(entry.counterparty).toMatchObject({ accountNumber: payee.number, name: "" });
    expect(seen((await money(alice).getTransaction({ transactionId: payId })).transaction)).toEqual(seen(entry.transaction));
    // A transfer between two of the customer's own accounts: both ids are hers.
    const own = (await money(alice).transfer({ requestId: rid(), fromAccountId: payer.id, target: { case: "toAccountId", value: payerSavings.id }, amount: usd(1), description: "to savings" })).transaction!;
    expect(seen((await line(alice, payerSavings.id, own.id)).transaction)).toMatchObject({ fromAccountId: payer.id, toAccountId: payerSavings.id, initiatedBy: alice.id });
  });

  test("a staff member's deposit shows neither the staff member's id nor their request_id to the customer", async () => {
    const entries = (await money(alice).listTransactions({ accountId: payer.id })).entries;
    const deposit = entries.find((e) => e.transaction!.type === TransactionType.DEPOSIT)!;
    expect(seen(deposit.transaction)).toEqual({ fromAccountId: "", toAccountId: payer.id, initiatedBy: "", requestId: "", description: "cash at the counter" });
    // The teller sees it all.
    const staffView = (await money(teller).listTransactions({ accountId: payer.id })).entries.find((e) => e.transaction!.type === TransactionType.DEPOSIT)!;
    expect(staffView.transaction).toMatchObject({ initiatedBy: teller.id, requestId: depositRequestId });
  });

  test("a reversal's reason is staff-only: customers read \"Reversal of <original description>\"", async () => {
    for (const [u, accountId] of [[alice, payer.id], [bob, payee.id]] as const) {
      const entry = await line(u, accountId, reversalId);
      expect(entry.transaction!.description).toBe("Reversal of rent");
      expect(entry.transaction!.initiatedBy).toBe("");
      expect((await money(u).getTransaction({ transactionId: reversalId })).transaction!.description).toBe("Reversal of rent");
      expect(JSON.stringify((await money(u).listTransactions({ accountId })).entries.map((e) => e.transaction!.description))).not.toContain(REASON);
    }
  });

  test.each(["teller", "auditor", "admin"] as const)("staff (%s) see every id, the request_id, the reason and the other party's name", async (role) => {
    const u = { teller, auditor, admin }[role];
    const entry = await line(u, payee.id, payId);
    expect(seen(entry.transaction)).toEqual({ fromAccountId: payer.id, toAccountId: payee.id, initiatedBy: alice.id, requestId: payRequestId, description: "rent" });
    expect(entry.counterparty!.name).toBe(alice.fullName);
    const reversal = (await money(u).getTransaction({ transactionId: reversalId })).transaction!;
    expect(reversal).toMatchObject({ description: REASON, initiatedBy: admin.id });
  });
});
