// Goal (issue 26, item 3): a WatchAccount stream does not outlive its session, however busy the
// account. The stream used to check its session only after a quiet heartbeat interval, so on an
// account that moved more often than that, entries kept arriving after Logout, RevokeSession and
// DisableUser while unary calls with the same token already got SESSION_ENDED. Now the session is
// checked every limits.sessionRecheckMs whether entries flow or not. Each case watches an account
// that a teller keeps paying into, ends the session, and expects the stream to end with
// UNAUTHENTICATED SESSION_ENDED (before the call's own deadline, which would be
// DEADLINE_EXCEEDED); a stream of another session of the same user goes on.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService, type WatchAccountResponse } from "../../gen/bank/v1/account_service_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { client, type TestApp } from "../support/app";
import { createTestUser, startAppWithUsers, type TestUser } from "../support/users";
import { rid } from "./support";

/** A deadline far beyond the recheck interval and the heartbeat: reached only if the stream
 * outlives its session. */
const STREAM_DEADLINE_MS = 10 * limits.watchHeartbeatMs;

describe.each(engines())("a watch stream ends with its session on a busy account (%s)", (engine) => {
  let t: TestApp;
  let teller: TestUser;
  let admin: TestUser;
  beforeAll(async () => ({ t, teller, admin } = await startAppWithUsers(engine, { teller: [Role.TELLER], admin: [Role.ADMIN] })));
  afterAll(async () => t.stop());

  /** Keeps paying 1 cent into `accountId` until `stop` is set (one deposit at a time). */
  function keepBusy(accountId: string): { stop: () => Promise<number> } {
    let running = true;
    let count = 0;
    const money = client(t.baseUrl, TransactionService, { token: teller.token });
    const loop = (async () => {
      while (running) {
        await money.deposit({ requestId: rid(), accountId, amount: { currency: "USD", minorUnits: 1n }, description: "busy" });
        count++;
      }
    })();
    return { stop: async () => ((running = false), await loop, count) };
  }

  /** Watches with `token`; after `afterEntries` entries calls `end`; returns how the stream ended
   * and how many entries came after `end` resolved. */
  async function watchUntilEnded(token: string, accountId: string, afterEntries: number, end: () => Promise<unknown>): Promise<{ code: string; reason: string; entriesAfterEnd: number }> {
    const stream = client(t.baseUrl, AccountService, { token }).watchAccount({ accountId }, { timeoutMs: STREAM_DEADLINE_MS });
    let entries = 0;
    let ended = false;
    let entriesAfterEnd = 0;
    try {
      for await (const message of stream as AsyncIterable<WatchAccountResponse>) {
        if (!message.entry) continue;
        entries++;
        if (ended) entriesAfterEnd++;
        if (entries === afterEntries) await end().then(() => (ended = true));
      }
      return { code: "OK", reason: "stream ended without error", entriesAfterEnd };
    } catch (err) {
      const e = ConnectError.from(err);
      return { code: Code[e.code], reason: e.findDetails(ErrorInfoSchema)[0]?.reason ?? "", entriesAfterEnd };
    }
  }

  async function busyAccountOf(u: TestUser): Promise<{ id: string; busy: { stop: () => Promise<number> } }> {
    const account = (await client(t.baseUrl, AccountService, { token: u.token }).createAccount({ requestId: rid(), currency: "USD", type: AccountType.CHECKING, displayName: "busy" })).account!;
    return { id: account.id, busy: keepBusy(account.id) };
  }

  test("Logout ends the stream of that session with SESSION_ENDED", async () => {
    const carol = await createTestUser(t);
    const { id, busy } = await busyAccountOf(carol);
    try {
      const outcome = await watchUntilEnded(carol.token, id, 3, () => client(t.baseUrl, AuthService, { token: carol.token }).logout({ refreshToken: carol.refreshToken }));
      expect([outcome.code, outcome.reason]).toEqual(["Unauthenticated", "SESSION_ENDED"]);
    } finally {
      await busy.stop();
    }
  });

  test("RevokeSession from another session ends the revoked session's stream; the other session's stream goes on", async () => {
    const dave = await createTestUser(t);
    const second = await client(t.baseUrl, AuthService).login({ email: dave.email, password: dave.password });
    const { id, busy } = await busyAccountOf(dave);
    try {
      const sessions = await client(t.baseUrl, AuthService, { token: second.accessToken }).listSessions({});
      const first = sessions.sessions.find((s) => !s.current)!;
      const outcome = await watchUntilEnded(dave.token, id, 3, () => client(t.baseUrl, AuthService, { token: second.accessToken }).revokeSession({ sessionId: first.id }));
      expect([outcome.code, outcome.reason]).toEqual(["Unauthenticated", "SESSION_ENDED"]);
      // The second session still watches (its stream gets entries of the busy account).
      let seen = 0;
      const cancel = new AbortController();
      try {
        for await (const m of client(t.baseUrl, AccountService, { token: second.accessToken }).watchAccount({ accountId: id }, { signal: cancel.signal })) {
          if (m.entry && ++seen === 2) cancel.abort();
        }
      } catch (err) {
        expect(ConnectError.from(err).code).toBe(Code.Canceled);
      }
      expect(seen).toBe(2);
    } finally {
      await busy.stop();
    }
  });

  test("DisableUser ends the user's stream with SESSION_ENDED", async () => {
    const erin = await createTestUser(t);
    const { id, busy } = await busyAccountOf(erin);
    try {
      const outcome = await watchUntilEnded(erin.token, id, 3, () => client(t.baseUrl, AdminService, { token: admin.token }).disableUser({ userId: erin.id }));
      expect([outcome.code, outcome.reason]).toEqual(["Unauthenticated", "SESSION_ENDED"]);
    } finally {
      await busy.stop();
    }
  });
});
