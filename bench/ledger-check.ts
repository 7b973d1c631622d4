// The ledger's invariants, checked by SQL after every measurement, so that no figure comes from a
// broken ledger: every balance equals the sum of its account's entries and its last entry's
// balance_after, every transaction's entries sum to zero, per currency the balances sum to zero,
// entries are in the currency of both their account and their transaction, and no committed
// idempotency key lacks its outcome (the posting engine claims a key with an empty outcome and
// fills it in the same unit of work). Columns only: constraint and index names (migration 0005)
// do not matter. Each check is one statement, so it reads one committed state even while a
// batch that outlived the load generator is still in flight.
import type { SqlClient } from "./sql-client";

export interface LedgerReport {
  ok: boolean;
  accounts: number;
  entries: number;
  transactions: number;
  problems: string[];
}

const CHECKS: { name: string; sql: string }[] = [
  {
    name: "account balance differs from the sum of its entries (or entry_count from their number)",
    sql: `SELECT a.id AS id, CAST(a.balance AS TEXT) AS balance, CAST(COALESCE(e.total, 0) AS TEXT) AS entries_sum
            FROM accounts a
            LEFT JOIN (SELECT account_id, SUM(amount) AS total, COUNT(*) AS n FROM entries GROUP BY account_id) e
              ON e.account_id = a.id
           WHERE a.balance <> COALESCE(e.total, 0) OR a.entry_count <> COALESCE(e.n, 0)
           LIMIT 5`,
  },
  {
    name: "account's last entry (seq = entry_count) is missing or its balance_after is not the balance",
    sql: `SELECT a.id AS id, CAST(a.balance AS TEXT) AS balance, CAST(e.balance_after AS TEXT) AS last_balance_after
            FROM accounts a
            LEFT JOIN entries e ON e.account_id = a.id AND e.seq = a.entry_count
           WHERE a.entry_count > 0 AND (e.id IS NULL OR e.balance_after <> a.balance)
           LIMIT 5`,
  },
  {
    name: "balances of a currency do not sum to zero",
    sql: `SELECT currency, CAST(SUM(balance) AS TEXT) AS total FROM accounts GROUP BY currency HAVING SUM(balance) <> 0 LIMIT 5`,
  },
  {
    name: "transaction's entries do not sum to zero",
    sql: `SELECT transaction_id, CAST(SUM(amount) AS TEXT) AS total FROM entries GROUP BY transaction_id HAVING SUM(amount) <> 0 LIMIT 5`,
  },
  {
    name: "entry in another currency than its account or transaction",
    sql: `SELECT e.id AS entry_id FROM entries e
            JOIN accounts a ON a.id = e.account_id
            JOIN transactions t ON t.id = e.transaction_id
           WHERE a.currency <> t.currency LIMIT 5`,
  },
  {
    name: "idempotency key committed without its outcome",
    sql: `SELECT caller_id, method, request_id FROM idempotency_keys WHERE outcome = '' LIMIT 5`,
  },
];

export async function checkLedger(sql: SqlClient): Promise<LedgerReport> {
  const problems: string[] = [];
  for (const check of CHECKS) {
    const rows = await sql.all(check.sql);
    for (const row of rows) problems.push(`${check.name}: ${JSON.stringify(row)}`);
  }
  const [counts] = await sql.all<{ accounts: unknown; entries: unknown; transactions: unknown }>(
    `SELECT (SELECT COUNT(*) FROM accounts) AS accounts, (SELECT COUNT(*) FROM entries) AS entries,
            (SELECT COUNT(*) FROM transactions) AS transactions`,
  );
  return {
    ok: problems.length === 0,
    accounts: Number(counts?.accounts ?? 0),
    entries: Number(counts?.entries ?? 0),
    transactions: Number(counts?.transactions ?? 0),
    problems,
  };
}
