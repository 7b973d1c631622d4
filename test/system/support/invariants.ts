// The bank's invariants, checked from the stored rows (docs/api.md "Double-entry", docs/architecture.md
// "Money rules"). Each check returns the list of violations (empty = holds), so that a scenario
// can print all of them at once.
import { big, type Probe, type Query } from "./probe";

interface AccountRow {
  id: string;
  kind: string;
  currency: string;
  balance: unknown;
  held: unknown;
  overdraft_limit: unknown;
  entry_count: unknown;
}

const ACCOUNTS_SQL = `SELECT id, kind, currency, CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held,
  CAST(overdraft_limit AS TEXT) AS overdraft_limit, CAST(entry_count AS TEXT) AS entry_count FROM accounts`;

export interface SnapshotExpectation {
  /** Accounts whose balances the scenario tracks, and their expected sum per currency (the
   * money deposited into them; transfers among them do not change it). */
  accountIds: readonly string[];
  totals: ReadonlyMap<string, bigint>;
}

/** What one consistent snapshot must show: per currency all balances (settlement included) sum to
 * zero, the tracked accounts sum to what was deposited, no customer account is below its floor
 * (-overdraft_limit) and none has a negative available balance. */
export async function checkSnapshot(q: Query, expect?: SnapshotExpectation): Promise<string[]> {
  const rows = await q.all<AccountRow>(ACCOUNTS_SQL);
  const violations: string[] = [];
  const all = new Map<string, bigint>();
  const tracked = new Map<string, bigint>();
  const trackedIds = new Set(expect?.accountIds ?? []);
  for (const r of rows) {
    const balance = big(r.balance);
    all.set(r.currency, (all.get(r.currency) ?? 0n) + balance);
    if (trackedIds.has(r.id)) tracked.set(r.currency, (tracked.get(r.currency) ?? 0n) + balance);
    if (r.kind !== "SETTLEMENT") {
      const floor = -big(r.overdraft_limit);
      if (balance < floor) violations.push(`account ${r.id} balance ${balance} below its floor ${floor}`);
      if (balance - big(r.held) + big(r.overdraft_limit) < 0n) violations.push(`account ${r.id} available balance negative (balance ${balance}, held ${big(r.held)})`);
    }
  }
  for (const [currency, sum] of all) if (sum !== 0n) violations.push(`${currency}: all balances sum to ${sum}, not 0`);
  for (const [currency, want] of expect?.totals ?? []) {
    const got = tracked.get(currency) ?? 0n;
    if (got !== want) violations.push(`${currency}: tracked accounts sum to ${got}, expected ${want}`);
  }
  return violations;
}

/** The ledger at rest: every account's balance equals the sum of its entries (and entry_count
 * their number), each account's entries are numbered 1..n with balance_after their running sum,
 * every transaction's entries sum to zero, and per currency all entries sum to zero. */
export async function checkLedger(probe: Probe): Promise<string[]> {
  return probe.snapshot(async (q) => {
    const violations = await checkSnapshot(q);
    const accounts = await q.all<AccountRow>(ACCOUNTS_SQL);
    const sums = new Map(
      (await q.all<{ account_id: string; total: unknown; n: unknown }>(`SELECT account_id, CAST(SUM(amount) AS TEXT) AS total, COUNT(*) AS n FROM entries GROUP BY account_id`)).map((r) => [
        r.account_id,
        { total: big(r.total), n: big(r.n) },
      ]),
    );
    for (const a of accounts) {
      const s = sums.get(a.id) ?? { total: 0n, n: 0n };
      if (s.total !== big(a.balance)) violations.push(`account ${a.id}: balance ${big(a.balance)} but its entries sum to ${s.total}`);
      if (s.n !== big(a.entry_count)) violations.push(`account ${a.id}: entry_count ${big(a.entry_count)} but ${s.n} entries`);
    }
    const unbalanced = await q.all<{ transaction_id: string; total: unknown }>(
      `SELECT transaction_id, CAST(SUM(amount) AS TEXT) AS total FROM entries GROUP BY transaction_id HAVING SUM(amount) <> 0`,
    );
    for (const r of unbalanced) violations.push(`transaction ${r.transaction_id}: entries sum to ${big(r.total)}, not 0`);
    const perCurrency = await q.all<{ currency: string; total: unknown }>(
      `SELECT a.currency AS currency, CAST(SUM(e.amount) AS TEXT) AS total FROM entries e JOIN accounts a ON a.id = e.account_id GROUP BY a.currency`,
    );
    for (const r of perCurrency) if (big(r.total) !== 0n) violations.push(`${r.currency}: all entries sum to ${big(r.total)}, not 0`);
    violations.push(...(await checkRunningBalances(q)));
    return violations;
  });
}

async function checkRunningBalances(q: Query): Promise<string[]> {
  const rows = await q.all<{ account_id: string; seq: unknown; amount: unknown; balance_after: unknown }>(
    // Ordered by the BIGINT column (qualified: the text alias would sort "10" before "2").
    `SELECT e.account_id AS account_id, CAST(e.seq AS TEXT) AS seq, CAST(e.amount AS TEXT) AS amount, CAST(e.balance_after AS TEXT) AS balance_after
       FROM entries e ORDER BY e.account_id, e.seq`,
  );
  const violations: string[] = [];
  let account = "";
  let running = 0n;
  let expectedSeq = 0n;
  for (const r of rows) {
    if (r.account_id !== account) {
      account = r.account_id;
      running = 0n;
      expectedSeq = 0n;
    }
    running += big(r.amount);
    expectedSeq += 1n;
    if (big(r.seq) !== expectedSeq) violations.push(`account ${account}: entry seq ${big(r.seq)} where ${expectedSeq} was expected`);
    if (big(r.balance_after) !== running) violations.push(`account ${account} seq ${big(r.seq)}: balance_after ${big(r.balance_after)}, running sum ${running}`);
    if (violations.length > 20) break;
  }
  return violations;
}

export interface SnapshotReaderResult {
  snapshots: number;
  violations: string[];
  errors: number;
}

/** Takes consistent snapshots in a loop until stopped; database errors (a restart, a stopped
 * cluster) are counted, not violations. */
export function startSnapshotReader(probe: Probe, expect: SnapshotExpectation, intervalMs = 100): { stop(): Promise<SnapshotReaderResult> } {
  const result: SnapshotReaderResult = { snapshots: 0, violations: [], errors: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const v = await probe.snapshot((q) => checkSnapshot(q, expect));
        result.snapshots++;
        if (v.length > 0 && result.violations.length < 50) result.violations.push(...v.map((s) => `snapshot ${result.snapshots}: ${s}`));
      } catch {
        result.errors++;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}
