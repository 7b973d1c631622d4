// Goal (money-rules issue, item 1): captures are bound by the daily limits of the account they
// take money from, like the movements they stand for: a capture to settlement (money leaves the
// bank) counts against the source's withdrawal limit, a capture to an account against its
// outgoing-transfer limit; past the limit it is FAILED_PRECONDITION DAILY_LIMIT_EXCEEDED, nothing
// moves, and the hold stays PENDING (it can still be released). Through a real server, whoever
// captures (a teller here), on both engines. Before: a teller's CreateHold + CaptureHold moved
// 9,000,000 out of an account whose withdrawal limit is 1,000,000 while it showed 0 used.
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

async function reasonOf(p: Promise<unknown>): Promise<string> {
  return p.then(() => "ok", (err: unknown) => {
    const e = ConnectError.from(err);
    return `${Code[e.code]} ${e.findDetails(ErrorInfoSchema)[0]?.reason ?? ""}`;
  });
}

describe.each(engines())("captures and daily limits on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let teller: TestUser;
  let admin: TestUser;
  beforeAll(async () => ({ t, alice, teller, admin } = await startAppWithUsers(engine, { alice: [Role.CUSTOMER], teller: [Role.TELLER], admin: [Role.ADMIN] })));
  afterAll(async () => t.stop());
  const accounts = (u: TestUser) => client(t.baseUrl, AccountService, { token: u.token });
  const money = (u: TestUser) => client(t.baseUrl, TransactionService, { token: u.token });
  const open = async () => (await accounts(alice).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "c" })).account!;
  for (const to of ["settlement", "account"] as const) {
    // The account's own limit in that direction, set by an admin: smaller than one day's deposits.
    const limit = 400_000n;
    test(`a capture to ${to === "settlement" ? "settlement counts against the withdrawal limit" : "another account counts against the outgoing-transfer limit"}`, async () => {
      const source = await open();
      const target = await open();
      await money(teller).deposit({ requestId: rid(), accountId: source.id, amount: usd(limits.dailyDepositMinorDefault), description: "" });
      const direction = to === "settlement" ? "withdrawal" : "transferOut";
      await accounts(admin).setAccountLimits({ accountId: source.id, [direction]: { setting: { case: "limit", value: usd(limit) } }, reason: "test", updateMask: { paths: [to === "settlement" ? "withdrawal" : "transfer_out"] } });
      const toAccountId = to === "account" ? target.id : "";
      const hold = async (minor: bigint) => (await money(teller).createHold({ requestId: rid(), accountId: source.id, amount: usd(minor), description: "card" })).transaction!;
      const first = await hold(limit - 100n);
      expect(await reasonOf(money(teller).captureHold({ requestId: rid(), holdId: first.id, toAccountId }))).toBe("ok");
      const second = await hold(101n);
      expect(await reasonOf(money(teller).captureHold({ requestId: rid(), holdId: second.id, toAccountId }))).toBe("FailedPrecondition DAILY_LIMIT_EXCEEDED");
      // Nothing moved; the hold can still be released.
      const after = (await accounts(alice).getAccount({ accountId: source.id })).account!;
      expect(after.ledgerBalance?.minorUnits).toBe(limits.dailyDepositMinorDefault - (limit - 100n));
      expect(await reasonOf(money(teller).releaseHold({ requestId: rid(), holdId: second.id }))).toBe("ok");
      // The usage shows in Account.limits.
      const used = to === "settlement" ? after.limits?.withdrawal?.used?.minorUnits : after.limits?.transferOut?.used?.minorUnits;
      expect(used).toBe(limit - 100n);
    });
  }
});
