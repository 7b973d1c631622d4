// Goal (issue 26, item 4): an atomic BatchTransfer is no free oracle of other people's accounts.
// [1 cent to number X, a transfer to a random id] used to answer item 0 BATCH_ABORTED when X
// existed and took USD, PAYEE_UNAVAILABLE when it was frozen, closed or in another currency, and
// ACCOUNT_NOT_FOUND otherwise, with no money moved and an audit event naming neither. Now, for a
// customer, an atomic batch aborted by a payee that cannot take the payment answers every item
// alike (BATCH_ABORTED, no index, no condition), whatever X is, and the audit event records the
// payees asked for. A failure on the caller's own side (found for the whole batch before any
// payee is looked at) still names its item, whatever the payees are. Through a real server,
// SQLite and PostgreSQL.
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType, type Account } from "../../gen/bank/v1/account_pb";
import { TransactionService, type BatchTransferResult } from "../../gen/bank/v1/transaction_service_pb";
import { randomAccountNumber } from "../../src/ledger/account-number";
import { uuidv7 } from "../../src/util/ids";
import { engines } from "../support/db";
import { client, type TestApp } from "../support/app";
import { startAppWithUsers, type TestUser } from "../support/users";
import { rid, writeCounts } from "./support";
import { usd } from "../support/money";

/** Everything an item's answer says. */
function answer(r: BatchTransferResult): string {
  if (r.result.case === "transaction") return "posted";
  if (r.result.case === "error") return JSON.stringify({ code: r.result.value.code, message: r.result.value.message, info: r.result.value.errorInfo });
  return "empty";
}

describe.each(engines())("an atomic batch is no oracle of payees on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let mallory: TestUser;
  let teller: TestUser;
  let source: Account;
  const targets: Record<string, string> = {};
  const accounts = (u: TestUser) => client(t.baseUrl, AccountService, { token: u.token });
  const money = (u: TestUser) => client(t.baseUrl, TransactionService, { token: u.token });

  beforeAll(async () => {
    ({ t, alice, mallory, teller } = await startAppWithUsers(engine, { alice: [Role.CUSTOMER], mallory: [Role.CUSTOMER], teller: [Role.TELLER] }));
    const open = async (u: TestUser, currency = "USD") => (await accounts(u).createAccount({ requestId: rid(), currency, type: AccountType.CHECKING, displayName: "o" })).account!;
    source = await open(mallory);
    await money(teller).deposit({ requestId: rid(), accountId: source.id, amount: usd(1_000), description: "" });
    targets.active = (await open(alice)).number;
    const frozen = await open(alice);
    await accounts(teller).freezeAccount({ accountId: frozen.id, reason: "oracle test" });
    targets.frozen = frozen.number;
    targets.euro = (await open(alice, "EUR")).number;
    targets.unknown = randomAccountNumber();
  });
  afterAll(async () => t.stop());

  const byNumber = (number: string, amount = 1) => ({ requestId: rid("x"), fromAccountId: source.id, target: { case: "toAccountNumber" as const, value: number }, amount: usd(amount), description: "probe" });
  const toRandomId = () => ({ requestId: rid("y"), fromAccountId: source.id, target: { case: "toAccountId" as const, value: uuidv7() }, amount: usd(1), description: "probe" });

  test("[1 cent to X, a transfer to a random id]: the same answer whatever X is, nothing written, the payees audited", async () => {
    const before = await writeCounts(t.app.db);
    const answers: Record<string, string[]> = {};
    for (const [kind, number] of Object.entries(targets)) {
      const res = await money(mallory).batchTransfer({ requestId: rid("probe"), atomic: true, transfers: [byNumber(number), toRandomId()] });
      answers[kind] = res.results.map(answer);
    }
    // Every X answered exactly as the usable one did.
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((kind) => [kind, answers.active])));
    expect(answers.active!.every((a) => a.includes("BATCH_ABORTED"))).toBe(true);
    const after = await writeCounts(t.app.db);
    expect([after.transactions, after.entries]).toEqual([before.transactions, before.entries]);
    // The audit tells staff what was probed: each aborted batch names the payee that failed it.
    const rows = await t.app.db.read((tx) => tx.all<{ details: string }>(`SELECT details FROM audit_events WHERE action = 'transaction.batch_transfer' AND actor_id = ? AND outcome = 'FAILED'`, [mallory.id]));
    const recorded = rows.flatMap((r) => {
      const d = JSON.parse(r.details) as { target?: string; payees_before?: string };
      return [d.target ?? "", ...(d.payees_before ?? "").split(",")];
    });
    const digits = (n: string) => n.replace(/\D/g, "");
    for (const number of Object.values(targets)) expect(recorded).toContain(digits(number));
  });

  test("[1 cent to X, more than the balance]: the caller's own refusal, named, whatever X is", async () => {
    const before = await writeCounts(t.app.db);
    const answers: Record<string, string[]> = {};
    for (const [kind, number] of Object.entries(targets)) {
      const res = await money(mallory).batchTransfer({ requestId: rid("probe"), atomic: true, transfers: [byNumber(number), byNumber(targets.active!, 1_000_000)] });
      answers[kind] = res.results.map(answer);
    }
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((kind) => [kind, answers.active])));
    expect(answers.active![1]).toContain("INSUFFICIENT_FUNDS");
    const after = await writeCounts(t.app.db);
    expect([after.transactions, after.entries]).toEqual([before.transactions, before.entries]);
  });

  test("a failure on the caller's own side still names its item", async () => {
    const own = (await accounts(mallory).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "own" })).account!;
    const res = await money(mallory).batchTransfer({
      requestId: rid("own"),
      atomic: true,
      transfers: [
        { requestId: rid(), fromAccountId: source.id, target: { case: "toAccountId", value: own.id }, amount: usd(1), description: "" },
        { requestId: rid(), fromAccountId: source.id, target: { case: "toAccountId", value: own.id }, amount: usd(1_000_000), description: "" },
      ],
    });
    expect(res.results.map((r) => (r.result.case === "error" ? r.result.value.errorInfo!.reason : "posted"))).toEqual(["BATCH_ABORTED", "INSUFFICIENT_FUNDS"]);
  });

  test("staff, who may look any account up, still get the precise answer", async () => {
    const res = await money(teller).batchTransfer({ requestId: rid("staff"), atomic: true, transfers: [byNumber(targets.frozen!), toRandomId()] });
    expect(res.results.map((r) => (r.result.case === "error" ? r.result.value.errorInfo!.reason : "posted"))).toEqual(["ACCOUNT_FROZEN", "BATCH_ABORTED"]);
  });
});
