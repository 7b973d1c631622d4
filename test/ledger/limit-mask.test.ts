// Goal (issue 26, item 10): SetAccountLimits is a patch (AIP-134). Only the directions named in
// update_mask change: an admin lifting a withdrawal limit keeps the account's own deposit limit
// (it used to be reset to the default silently). A named direction left unset goes back to the
// default; "*" replaces every direction; an empty mask or a path that is not a direction is
// INVALID_ARGUMENT and writes nothing. Through a real server, on SQLite and PostgreSQL.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType, DailyLimitSource } from "../../gen/bank/v1/account_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { client, type TestApp } from "../support/app";
import { startAppWithUsers, type TestUser } from "../support/users";
import { rid, writeCounts } from "./support";
import { usd } from "../support/money";
const limit = (n: number) => ({ setting: { case: "limit" as const, value: usd(n) } });
const mask = (...paths: string[]) => ({ paths });

async function failure(promise: Promise<unknown>) {
  const e = ConnectError.from(await promise.then(() => new Error("expected a failure"), (err: unknown) => err));
  const info = e.findDetails(ErrorInfoSchema)[0];
  return { code: Code[e.code], reason: info?.reason ?? "", field: info?.metadata.field };
}

describe.each(engines())("SetAccountLimits with update_mask on %s", (engine) => {
  let t: TestApp;
  let alice: TestUser;
  let admin: TestUser;
  const accounts = (u: TestUser) => client(t.baseUrl, AccountService, { token: u.token });
  beforeAll(async () => ({ t, alice, admin } = await startAppWithUsers(engine, { alice: [Role.CUSTOMER], admin: [Role.ADMIN] })));
  afterAll(async () => t.stop());

  test("only the named directions change; the others keep the account's own setting", async () => {
    const a = (await accounts(alice).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "m" })).account!;
    const first = (await accounts(admin).setAccountLimits({ accountId: a.id, reason: "VIP deposits", deposit: limit(5), withdrawal: limit(7), updateMask: mask("deposit") })).account!;
    // withdrawal was sent but not named: ignored.
    expect(first.limits!.deposit).toMatchObject({ limit: { minorUnits: 5n }, source: DailyLimitSource.ACCOUNT });
    expect(first.limits!.withdrawal).toMatchObject({ source: DailyLimitSource.DEFAULT });
    // Lifting the withdrawal limit keeps the deposit limit (the reported bug).
    const lifted = (await accounts(admin).setAccountLimits({ accountId: a.id, reason: "lift withdrawals", withdrawal: { setting: { case: "unlimited", value: true } }, updateMask: mask("withdrawal") })).account!;
    expect(lifted.limits!.deposit).toMatchObject({ limit: { minorUnits: 5n }, source: DailyLimitSource.ACCOUNT });
    expect(lifted.limits!.withdrawal).toMatchObject({ source: DailyLimitSource.ACCOUNT, unlimited: true });
    expect(lifted.limits!.transferOut).toMatchObject({ source: DailyLimitSource.DEFAULT });
    // Named and unset: back to the default; several paths at once.
    const reset = (await accounts(admin).setAccountLimits({ accountId: a.id, reason: "normal", transferOut: limit(9), updateMask: mask("deposit", "transfer_out") })).account!;
    expect(reset.limits!.deposit).toMatchObject({ limit: { minorUnits: limits.dailyDepositMinorDefault }, source: DailyLimitSource.DEFAULT });
    expect(reset.limits!.withdrawal).toMatchObject({ source: DailyLimitSource.ACCOUNT, unlimited: true });
    expect(reset.limits!.transferOut).toMatchObject({ limit: { minorUnits: 9n }, source: DailyLimitSource.ACCOUNT });
    // What a later read sees is what was answered.
    expect((await accounts(admin).getAccount({ accountId: a.id })).account!.limits).toEqual(reset.limits);
    // "*" (AIP-134): a full replacement, every direction unset goes back to the default.
    const full = (await accounts(admin).setAccountLimits({ accountId: a.id, reason: "replace", withdrawal: limit(11), updateMask: mask("*") })).account!;
    expect([full.limits!.deposit!.source, full.limits!.withdrawal!.limit!.minorUnits, full.limits!.transferOut!.source]).toEqual([DailyLimitSource.DEFAULT, 11n, DailyLimitSource.DEFAULT]);
  });

  test("an empty mask, an unknown path or a bad named direction is INVALID_ARGUMENT and writes nothing", async () => {
    const a = (await accounts(alice).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "m" })).account!;
    await accounts(admin).setAccountLimits({ accountId: a.id, reason: "own", deposit: limit(5), updateMask: mask("deposit") });
    const before = await writeCounts(t.app.db);
    const cases = [
      [{ accountId: a.id, reason: "x", withdrawal: limit(1) }, "UPDATE_MASK_REQUIRED", "update_mask"],
      [{ accountId: a.id, reason: "x", withdrawal: limit(1), updateMask: mask() }, "UPDATE_MASK_REQUIRED", "update_mask"],
      [{ accountId: a.id, reason: "x", withdrawal: limit(1), updateMask: mask("withdrawal", "balance") }, "UPDATE_MASK_INVALID", "update_mask"],
      [{ accountId: a.id, reason: "x", withdrawal: limit(-1), updateMask: mask("withdrawal") }, "LIMIT_INVALID", "withdrawal.limit"],
    ] as const;
    for (const [request, reason, field] of cases) expect(await failure(accounts(admin).setAccountLimits(request as never))).toEqual({ code: "InvalidArgument", reason, field });
    // A bad direction that is not named is not looked at, as the field is not applied.
    await accounts(admin).setAccountLimits({ accountId: a.id, reason: "x", withdrawal: limit(-1), transferOut: limit(3), updateMask: mask("transfer_out") });
    const after = (await accounts(admin).getAccount({ accountId: a.id })).account!.limits!;
    expect(after.deposit).toMatchObject({ limit: { minorUnits: 5n }, source: DailyLimitSource.ACCOUNT });
    expect(after.withdrawal).toMatchObject({ source: DailyLimitSource.DEFAULT });
    const counts = await writeCounts(t.app.db);
    expect({ ...counts, audit_events: 0 }).toEqual({ ...before, audit_events: 0 });
  });
});
