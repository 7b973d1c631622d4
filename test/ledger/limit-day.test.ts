// Goal (money-rules issue, item 2): the limit day never goes backwards. Two processes' ledgers on
// one database, with clocks 5 s apart around 00:00 UTC (injected), alternate withdrawals from one
// account: the one behind must count the newer day's usage it finds on the row, never write its
// older day back (which used to reset the count at every alternation: 6x the daily limit left
// the account in the review). At most one day's limit leaves the account on the new day. (On
// PostgreSQL the limit day is also never earlier than the database's clock, read in the batch's
// lock statement; the injected clocks here are days ahead of it.)
import { Role } from "../../gen/bank/v1/access_pb";
import { Database } from "../../src/db/database";
import { createAccount } from "../../src/ledger/accounts";
import { setAccountLimits } from "../../src/ledger/account-limits";
import { Ledger } from "../../src/ledger/ledger";
import { deposit, withdraw } from "../../src/ledger/commands";
import { loadConfig } from "../../src/config";
import { DomainError } from "../../src/errors";
import { limits } from "../../src/limits";
import { engines } from "../support/db";
import { addUser, entriesMatchBalances, openLedger, rid, usd, type LedgerFixture } from "./support";

const DAY_MS = 86_400_000;
const LIMIT = limits.dailyWithdrawalMinorDefault;

describe.each(engines())("the limit day on %s", (engine) => {
  let f: LedgerFixture;
  let behind: { db: Database; ledger: Ledger };
  // Midnight a few days from now: both clocks are injected, the database's is not asked.
  const midnight = (Math.floor(Date.now() / DAY_MS) + 3) * DAY_MS;
  const clocks = { ahead: midnight + 2_000, behind: midnight - 3_000 };
  beforeAll(async () => {
    f = await openLedger(engine);
    f.clock.frozen = true;
    f.clock.nowMs = clocks.ahead;
    const db = await Database.open(f.testDb.config);
    behind = { db, ledger: await Ledger.open(db, loadConfig({ BANK_DATA_DIR: f.testDb.dataDir }).currencies, { clock: () => clocks.behind }) };
  });
  afterAll(async () => {
    await behind.ledger.stop();
    await behind.db.close();
    await f.close();
  });

  test("two processes 5 s apart across midnight move at most one day's withdrawal limit on the new day", async () => {
    const teller = await addUser(f.db, [Role.ADMIN, Role.TELLER]);
    const account = await createAccount(f.ledger, teller, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" });
    // Funded in one deposit, its deposit and incoming limits lifted by an admin first.
    await setAccountLimits(f.ledger, teller, { accountId: account.id, deposit: { unlimited: true }, withdrawal: undefined, transferOut: undefined, incoming: { unlimited: true }, reason: "fund", updateMask: ["deposit", "incoming"] });
    await deposit(f.ledger, teller, { requestId: rid(), accountId: account.id, amount: usd(10n * LIMIT), description: "" });
    f.clock.nowMs = clocks.ahead;
    const step = LIMIT / 4n;
    let moved = 0n;
    let refused = 0;
    for (let i = 0; i < 24; i++) {
      const ledger = i % 2 === 0 ? f.ledger : behind.ledger;
      try {
        await withdraw(ledger, teller, { requestId: rid(), accountId: account.id, amount: usd(step), description: "" });
        moved += step;
      } catch (err) {
        if (!(err instanceof DomainError) || err.reason !== "DAILY_LIMIT_EXCEEDED") throw err;
        refused++;
      }
    }
    console.log(`${engine}: ${moved} moved in 24 alternating withdrawals of ${step} (limit ${LIMIT}), ${refused} refused`);
    expect(moved).toBeLessThanOrEqual(LIMIT);
    expect(refused).toBeGreaterThan(0);
    expect(await entriesMatchBalances(f.db)).toEqual([]);
  });

  test("on PostgreSQL the limit day is never earlier than the database's clock (a process whose clock is two days behind counts today)", async () => {
    const teller = await addUser(f.db, [Role.ADMIN, Role.TELLER]);
    const lagging = { nowMs: Date.now() - 2 * DAY_MS };
    const db = await Database.open(f.testDb.config);
    const ledger = await Ledger.open(db, loadConfig({ BANK_DATA_DIR: f.testDb.dataDir }).currencies, { clock: () => lagging.nowMs });
    try {
      const account = await createAccount(ledger, teller, { requestId: rid(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" });
      await deposit(ledger, teller, { requestId: rid(), accountId: account.id, amount: usd(1_000), description: "" });
      const [row] = await db.read((tx) => tx.all<{ usage_day: string | number; today: string | number }>(
        engine === "postgres"
          ? "SELECT usage_day, CAST(floor(extract(epoch FROM clock_timestamp()) * 1000 / 86400000) AS bigint) AS today FROM accounts WHERE id = ?"
          : "SELECT usage_day, 0 AS today FROM accounts WHERE id = ?",
        [account.id],
      ));
      const expected = engine === "postgres" ? Number(row!.today) : Math.floor(lagging.nowMs / DAY_MS);
      expect(Number(row!.usage_day)).toBe(expected);
    } finally {
      await ledger.stop();
      await db.close();
    }
  });
});
