// Goal (money-rules issue, item 1): inflow to one account is bounded per day whatever its source.
// Deposits, transfers (single and batch) and captures to an account count against the payee's
// `incoming` limit (default limits.dailyIncomingMinorDefault; an admin sets it per account with
// update_mask "incoming"); Account.limits shows it. A payer who may not see the payee's account is
// refused FAILED_PRECONDITION PAYEE_UNAVAILABLE, the answer of any unusable payee (nothing about the
// account); staff and the owner get
// DAILY_LIMIT_EXCEEDED naming the direction. The review's attack: a teller opens 20 accounts for an
// accomplice, deposits 1,000,000 in each and transfers them all into one account (20,000,000 arrived
// against a 1,000,000/day deposit limit). Through a real server, on both engines.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { client, type TestApp } from "../support/app";
import { startAppWithUsers, type TestUser } from "../support/users";
import { rid } from "./support";
import { usd } from "../support/money";

async function outcome(p: Promise<unknown>): Promise<{ result: string; metadata: Record<string, string> }> {
  return p.then(() => ({ result: "ok", metadata: {} }), (err: unknown) => {
    const e = ConnectError.from(err);
    const info = e.findDetails(ErrorInfoSchema)[0];
    return { result: `${Code[e.code]} ${info?.reason ?? ""}`, metadata: { ...(info?.metadata ?? {}) } };
  });
}

describe.each(engines())("the incoming daily limit on %s", (engine) => {
  let t: TestApp;
  let mallory: TestUser;
  let bob: TestUser;
  let teller: TestUser;
  let admin: TestUser;
  beforeAll(async () => ({ t, mallory, bob, teller, admin } = await startAppWithUsers(engine, { mallory: [Role.CUSTOMER], bob: [Role.CUSTOMER], teller: [Role.TELLER], admin: [Role.ADMIN] })));
  afterAll(async () => t.stop());
  const accounts = (u: TestUser) => client(t.baseUrl, AccountService, { token: u.token });
  const money = (u: TestUser) => client(t.baseUrl, TransactionService, { token: u.token });
  const openFor = async (owner: TestUser) => (await accounts(teller).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "i", ownerId: owner.id })).account!;
  const setIncoming = (accountId: string, minor: bigint) =>
    accounts(admin).setAccountLimits({ accountId, incoming: { setting: { case: "limit", value: usd(minor) } }, reason: "test", updateMask: { paths: ["incoming"] } });

  test("the teller's accomplice: deposits into 20 accounts, all transferred into one, stop at the default incoming limit", async () => {
    const target = await openFor(bob);
    const per = limits.dailyDepositMinorDefault;
    let arrived = 0n;
    let refused = "";
    for (let i = 0; i < 20 && refused === ""; i++) {
      const source = await openFor(bob);
      expect((await outcome(money(teller).deposit({ requestId: rid(), accountId: source.id, amount: usd(per), description: "" }))).result).toBe("ok");
      const sent = await outcome(money(teller).transfer({ requestId: rid(), fromAccountId: source.id, target: { case: "toAccountId", value: target.id }, amount: usd(per), description: "" }));
      if (sent.result === "ok") arrived += per;
      else refused = `${sent.result} ${sent.metadata.direction ?? ""}`;
    }
    console.log(`${engine}: ${arrived} arrived in one account before "${refused}" (incoming default ${limits.dailyIncomingMinorDefault})`);
    expect(arrived).toBeLessThanOrEqual(limits.dailyIncomingMinorDefault);
    expect(refused).toBe("FailedPrecondition DAILY_LIMIT_EXCEEDED incoming");
    const shown = (await accounts(bob).getAccount({ accountId: target.id })).account!.limits!.incoming!;
    expect(shown.used?.minorUnits).toBe(arrived);
    expect(shown.limit?.minorUnits).toBe(limits.dailyIncomingMinorDefault);
  });

  test("a customer paying someone else past the payee's incoming limit: PAYEE_UNAVAILABLE as for any unusable payee; single and batch; a deposit past it is DAILY_LIMIT_EXCEEDED", async () => {
    const payer = await openFor(mallory);
    const payee = await openFor(bob);
    await money(teller).deposit({ requestId: rid(), accountId: payer.id, amount: usd(100_000), description: "" });
    await setIncoming(payee.id, 1_000n);
    const pay = (minor: number) => money(mallory).transfer({ requestId: rid(), fromAccountId: payer.id, target: { case: "toAccountId", value: payee.id }, amount: usd(minor), description: "" });
    expect((await outcome(pay(900))).result).toBe("ok");
    const past = await outcome(pay(200));
    // Exactly the answer of any other unusable payee (frozen, closed): only the request's field.
    expect(past).toEqual({ result: "FailedPrecondition PAYEE_UNAVAILABLE", metadata: { field: "target" } });
    const batch = await money(mallory).batchTransfer({ requestId: rid(), atomic: false, transfers: [
      { requestId: rid(), fromAccountId: payer.id, target: { case: "toAccountId", value: payee.id }, amount: usd(100), description: "" },
      { requestId: rid(), fromAccountId: payer.id, target: { case: "toAccountId", value: payee.id }, amount: usd(1), description: "" },
    ] });
    expect(batch.results.map((r) => r.result.case)).toEqual(["transaction", "error"]);
    // The payer's money did not move for the refused ones; the payee got exactly its limit.
    const seen = (await accounts(bob).getAccount({ accountId: payee.id })).account!;
    expect(seen.ledgerBalance?.minorUnits).toBe(1_000n);
    expect(seen.limits?.incoming?.used?.minorUnits).toBe(1_000n);
    // The owner's own deposit past it names the direction.
    const deposit = await outcome(money(teller).deposit({ requestId: rid(), accountId: payee.id, amount: usd(1), description: "" }));
    expect([deposit.result, deposit.metadata.direction]).toEqual(["FailedPrecondition DAILY_LIMIT_EXCEEDED", "incoming"]);
  });

  test("a capture to an account counts as incoming for that account", async () => {
    const source = await openFor(mallory);
    const target = await openFor(bob);
    await money(teller).deposit({ requestId: rid(), accountId: source.id, amount: usd(10_000), description: "" });
    await setIncoming(target.id, 5_000n);
    const hold = (await money(teller).createHold({ requestId: rid(), accountId: source.id, amount: usd(6_000), description: "card" })).transaction!;
    const capture = await outcome(money(teller).captureHold({ requestId: rid(), holdId: hold.id, toAccountId: target.id }));
    expect([capture.result, capture.metadata.direction]).toEqual(["FailedPrecondition DAILY_LIMIT_EXCEEDED", "incoming"]);
    expect((await outcome(money(teller).captureHold({ requestId: rid(), holdId: hold.id, toAccountId: target.id, amount: usd(5_000) }))).result).toBe("ok");
  });
});
