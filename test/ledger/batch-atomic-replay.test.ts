// Goal (issue 26, item 5): in an atomic BatchTransfer that aborts, an item that replays an
// earlier committed Transfer answers as that commit (its transaction), never "Not posted". It
// used to answer BATCH_ABORTED "Not posted" while GetTransaction said POSTED, so a client that
// believed it and re-sent the transfer under a new request_id paid twice. Whether the replaying
// item comes before or after the one that fails. Through a real server, SQLite and PostgreSQL.
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService, type BatchTransferResult } from "../../gen/bank/v1/transaction_service_pb";
import { TransactionStatus } from "../../gen/bank/v1/transaction_pb";
import { engines } from "../support/db";
import { client, type TestApp } from "../support/app";
import { startAppWithUsers, type TestUser } from "../support/users";
import { rid, writeCounts } from "./support";
import { usd } from "../support/money";

function outcome(r: BatchTransferResult): string {
  if (r.result.case === "transaction") return `posted ${r.result.value.id}`;
  if (r.result.case === "error") return `${r.result.value.code} ${r.result.value.errorInfo?.reason ?? ""}`;
  return "empty";
}

describe.each(engines())("an atomic batch answers a replayed item as its commit on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let teller: TestUser;
  const money = (u: TestUser) => client(t.baseUrl, TransactionService, { token: u.token });
  beforeAll(async () => ({ t, alice, bob, teller } = await startAppWithUsers(engine, { alice: [Role.CUSTOMER], bob: [Role.CUSTOMER], teller: [Role.TELLER] })));
  afterAll(async () => t.stop());

  test.each(["before", "after"] as const)("the replaying item %s the failing one answers its transaction; nothing else is written", async (where) => {
    const open = async (u: TestUser) => (await client(t.baseUrl, AccountService, { token: u.token }).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "r" })).account!;
    const from = await open(alice);
    const to = await open(bob);
    await money(teller).deposit({ requestId: rid(), accountId: from.id, amount: usd(1_000), description: "" });
    const t1 = { requestId: rid("t1"), fromAccountId: from.id, target: { case: "toAccountId" as const, value: to.id }, amount: usd(100), description: "first" };
    const posted = (await money(alice).transfer(t1)).transaction!;
    // An item that fails on the caller's own side: more than the balance.
    const failing = { requestId: rid("f"), fromAccountId: from.id, target: { case: "toAccountId" as const, value: to.id }, amount: usd(1_000_000), description: "too much" };
    const before = await writeCounts(t.app.db);
    const transfers = where === "before" ? [t1, failing] : [failing, t1];
    const res = await money(alice).batchTransfer({ requestId: rid("batch"), atomic: true, transfers });
    const answers = res.results.map(outcome);
    expect(answers[where === "before" ? 0 : 1]).toBe(`posted ${posted.id}`);
    expect(answers[where === "before" ? 1 : 0]).toBe("failed_precondition INSUFFICIENT_FUNDS");
    expect((await money(alice).getTransaction({ transactionId: posted.id })).transaction!.status).toBe(TransactionStatus.POSTED);
    const after = await writeCounts(t.app.db);
    expect([after.transactions, after.entries]).toEqual([before.transactions, before.entries]);
  });
});
