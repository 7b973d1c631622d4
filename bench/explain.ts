// EXPLAIN (ANALYZE, BUFFERS) of the statements bankd runs per call on the hot paths, on the
// seeded bench database (PostgreSQL only; run by `--profile`). pg_stat_statements needs
// shared_preload_libraries and a server restart, which a shared server cannot take, so the
// per-statement cost is read from the plans instead. The writes run inside a transaction that
// is rolled back, so the ledger is untouched.
import { randomUUID } from "node:crypto";
import type { Fixture } from "./seed";
import type { SqlClient } from "./sql-client";

const ACCOUNT_COLUMNS = `id, number, owner_id, kind, currency, account_type, status, display_name, CAST(balance AS TEXT) AS balance,
  CAST(held AS TEXT) AS held, CAST(overdraft_limit AS TEXT) AS overdraft_limit, entry_count, version, create_time, update_time`;
const TRANSACTION_COLUMNS = `t.id, t.tx_type, t.status, t.currency, CAST(t.amount AS TEXT) AS amount, t.from_account_id, t.to_account_id,
  t.description, t.request_id, t.initiated_by, t.reverses_id, t.hold_id, t.expire_time, t.create_time`;

interface Statement {
  /** Where bankd runs it. */
  source: string;
  sql: string;
  params: unknown[];
}

export async function explainHotPaths(sql: SqlClient, f: Fixture): Promise<string> {
  const [a, b] = [f.accounts[0]!.id, f.accounts[1]!.id];
  const user = f.users[0]!.id;
  const now = Date.now();
  const txId = randomUUID();
  const requestId = randomUUID();
  const [session] = await sql.all<{ id: string }>("SELECT id FROM sessions LIMIT 1");
  const transfer: Statement[] = [
    { source: "posting.ts lockAccounts", sql: `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id IN (?, ?) ORDER BY id FOR UPDATE`, params: [a, b] },
    {
      source: "posting.ts lockAndPost / post (oneStatementPost: time, transaction, balances, entries)",
      sql: `WITH ts AS (SELECT GREATEST(CAST(? AS BIGINT), MAX(update_time)) AS t FROM accounts WHERE id IN (?, ?)),
            new_transaction AS (
              INSERT INTO transactions (id, tx_type, status, currency, amount, from_account_id, to_account_id, description, request_id, initiated_by, reverses_id, hold_id, expire_time, create_time, update_time)
              VALUES (?, 'TRANSFER', 'POSTED', 'USD', 5, ?, ?, 'bench', ?, ?, NULL, NULL, NULL, (SELECT t FROM ts), (SELECT t FROM ts))),
            updated AS (
              UPDATE accounts SET balance = balance + CASE id WHEN ? THEN CAST(-5 AS BIGINT) WHEN ? THEN CAST(5 AS BIGINT) END,
                     held = held + CASE id WHEN ? THEN CAST(0 AS BIGINT) WHEN ? THEN CAST(0 AS BIGINT) END,
                     entry_count = entry_count + 1, update_time = (SELECT t FROM ts)
               WHERE id IN (?, ?) RETURNING id, balance, held, entry_count),
            new_entries AS (
              INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time)
              SELECT ?, updated.id, updated.entry_count, leg.amount, updated.balance, (SELECT t FROM ts)
                FROM updated JOIN (VALUES (0, ?, CAST(-5 AS BIGINT)), (1, ?, CAST(5 AS BIGINT))) AS leg (ord, account_id, amount) ON leg.account_id = updated.id
               ORDER BY leg.ord RETURNING 1)
          SELECT id, CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held, entry_count, (SELECT COUNT(*) FROM new_entries) AS entries_written,
                 (SELECT t FROM ts) AS create_time FROM updated`,
      params: [now, a, b, txId, a, b, requestId, user, a, b, a, b, a, b, txId, a, b],
    },
    {
      source: "audit/recorder.ts recordAudit",
      sql: `INSERT INTO audit_events (id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details) VALUES (?, ?, ?, 'transaction.transfer', ?, 'SUCCESS', '127.0.0.1', ?, '{}')`,
      params: [randomUUID(), now, user, txId, requestId],
    },
    {
      source: "ledger/idempotency.ts claim",
      sql: `INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time) VALUES (?, 'TransactionService/Transfer', ?, 'h', '{}', '{}', ?)`,
      params: [user, requestId, now],
    },
  ];
  const reads: Statement[] = [
    { source: "ledger/accounts.ts getAccount, reads.ts getBalance", sql: `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`, params: [a] },
    {
      source: "ledger/reads.ts listTransactions (first page)",
      sql: `SELECT ${TRANSACTION_COLUMNS}, e.seq AS entry_seq, CAST(e.amount AS TEXT) AS entry_amount, CAST(e.balance_after AS TEXT) AS entry_balance_after
              FROM entries e JOIN transactions t ON t.id = e.transaction_id WHERE e.account_id = ? ORDER BY e.seq DESC LIMIT ?`,
      params: [f.house.accountId, 51],
    },
    {
      source: "auth/authenticator.ts sessionLive (every sessionRecheckMs per token)",
      sql: `SELECT s.revoked_time, s.expire_time, u.disabled FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ? AND s.user_id = ?`,
      params: [session?.id ?? "", user],
    },
    { source: "audit/sealer.ts hasUnsealed (every auditSealIntervalMs)", sql: `SELECT 1 AS waiting FROM audit_events WHERE seq IS NULL LIMIT 1`, params: [] },
  ];
  const out: string[] = [];
  await sql.exec("BEGIN");
  try {
    for (const s of [...transfer, ...reads]) out.push(await explain(sql, s));
  } finally {
    await sql.exec("ROLLBACK");
  }
  return out.join("\n\n");
}

async function explain(sql: SqlClient, s: Statement): Promise<string> {
  const rows = await sql.all<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${s.sql}`, s.params);
  return [`-- ${s.source}`, ...rows.map((r) => Object.values(r)[0])].join("\n");
}
