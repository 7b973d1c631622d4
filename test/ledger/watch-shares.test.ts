// Goal (issue 25): WatchAccount streams are shared out. The review's 100 self-registered
// customers x 10 streams held the whole process cap (watchersPerProcessMax, 1,000), and the
// console's live view was refused for everyone else. Now a client address may hold at most
// watchersPerAddressMax streams (beside watchersPerUserMax per user), and watchersStaffReserve of
// the process cap is kept for staff.
//
// Over a real server and real gRPC clients (the real limits; BANK_TRUST_PROXY so that the client
// address is the forwarded one): six customers from one address ask for ten streams each; the
// address's 50 are admitted, the other 10 refused RESOURCE_EXHAUSTED WATCHERS_PER_ADDRESS; a
// customer from another address is admitted. The staff reserve needs the whole process cap to
// show: it is shown on the watch hub itself with a cap of 4 and a reserve of 2.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { DomainError } from "../../src/errors";
import { limits } from "../../src/limits";
import { createAccount } from "../../src/ledger/accounts";
import { AccountWatchers } from "../../src/ledger/watch";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, type TestUser } from "../support/users";
import { addUser, openLedger, rid } from "./support";

/** How a watch began: "admitted" (its first message came) or its refusal's reason. The stream is
 * left open (leaving a for-await would end it); `drain` reads it to its end once its signal has
 * fired, so that no call is left behind. */
async function startOf(stream: AsyncIterable<unknown>, drains: (() => Promise<void>)[]): Promise<string> {
  const it = stream[Symbol.asyncIterator]();
  try {
    const first = await it.next();
    drains.push(async () => {
      for (;;) if ((await it.next().catch(() => ({ done: true }))).done) return;
    });
    return first.done ? "ended" : "admitted";
  } catch (err) {
    if (err instanceof DomainError) return err.reason;
    return ConnectError.from(err).findDetails(ErrorInfoSchema)[0]?.reason ?? `code ${Code[ConnectError.from(err).code]}`;
  }
}

function tally(starts: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of starts) out[s] = (out[s] ?? 0) + 1;
  return out;
}

describe.each(engines())("WatchAccount shares on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine, { BANK_TRUST_PROXY: "true" });
  });
  afterAll(async () => t.stop());

  /** An AccountService client of `user` whose calls come from `address`. */
  function accountsFrom(user: TestUser, address: string) {
    const forwarded: Interceptor = (next) => async (req) => {
      req.header.set("x-forwarded-for", address);
      return next(req);
    };
    return client(t.baseUrl, AccountService, { token: user.token, protocol: "grpc", interceptors: [forwarded] });
  }

  test("one address holds at most watchersPerAddressMax streams, whatever its users; another address is served", async () => {
    const address = "198.51.100.77";
    const users = Math.ceil((limits.watchersPerAddressMax + 10) / limits.watchersPerUserMax);
    const cancel = new AbortController();
    const opened: Promise<string>[] = [];
    const drains: (() => Promise<void>)[] = [];
    for (let i = 0; i < users; i++) {
      const user = await createTestUser(t);
      const api = accountsFrom(user, address);
      const account = (await api.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "watched" })).account!;
      for (let n = 0; n < limits.watchersPerUserMax; n++) opened.push(startOf(api.watchAccount({ accountId: account.id }, { signal: cancel.signal }), drains));
    }
    const starts = await Promise.all(opened);
    const counts = tally(starts);
    console.log(`watch shares (${engine}): ${users} customers x ${limits.watchersPerUserMax} streams from one address -> ${JSON.stringify(counts)}`);
    expect(counts).toEqual({ admitted: limits.watchersPerAddressMax, WATCHERS_PER_ADDRESS: users * limits.watchersPerUserMax - limits.watchersPerAddressMax });

    const elsewhere = await createTestUser(t);
    const api = accountsFrom(elsewhere, "198.51.100.78");
    const account = (await api.createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "watched" })).account!;
    const other = new AbortController();
    expect(await startOf(api.watchAccount({ accountId: account.id }, { signal: other.signal }), drains)).toBe("admitted");
    other.abort();
    cancel.abort();
    await Promise.all(drains.map((d) => d()));
  });

  test("on the hub: customers leave the staff's reserve of the process cap free", async () => {
    const f = await openLedger(engine);
    const watchers = new AccountWatchers(f.ledger, undefined, { processMax: 4, staffReserve: 2, heartbeatMs: 50 });
    try {
      const teller = await addUser(f.db, [Role.TELLER]);
      const stop = new AbortController();
      const drains: (() => Promise<void>)[] = [];
      const watchOf = async (actor: Awaited<ReturnType<typeof addUser>>) => {
        const account = await createAccount(f.ledger, teller, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: actor.userId });
        return startOf(watchers.watch(actor, { accountId: account.id, startAfter: "" }, stop.signal), drains);
      };
      // Each customer from its own address, so that only the process cap is in play.
      const customers = await Promise.all([1, 2, 3].map(async (i) => ({ ...(await addUser(f.db, [Role.CUSTOMER])), clientAddress: `192.0.2.${i}` })));
      expect([await watchOf(customers[0]!), await watchOf(customers[1]!), await watchOf(customers[2]!)]).toEqual(["admitted", "admitted", "WATCHERS_PER_PROCESS"]);
      expect([await watchOf(teller), await watchOf(teller), await watchOf(teller)]).toEqual(["admitted", "admitted", "WATCHERS_PER_PROCESS"]);
      stop.abort();
      await Promise.all(drains.map((d) => d()));
    } finally {
      await watchers.stop();
      await f.close();
    }
  });
});
