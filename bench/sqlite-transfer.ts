// The SQLite baseline: ONE TRANSACTION PER TRANSFER in plain SQL through better-sqlite3 (the driver bankd uses) in
// one process, the reference bankd's batching is measured against on SQLite (issue 12: bankd's
// transfers >= 2x this). It writes what one bankd transfer writes, row for row (the rows of
// bench/sql/transfer.sql: transaction, two entries, both accounts, an unsealed audit event, the
// idempotency key with its outcome), naming columns only, so the constraint and index names that
// migration 0005 gave the tables do not matter. bankd instead posts a whole batch of transfers
// in one MikroORM unit of work with set-based statements (src/ledger/engine/). One
// connection and one transfer at a time, as SQLite has a single writer. It runs on the bench
// database itself, so the ledger check after it also covers these transfers.
import { randomUUID, createHash } from "node:crypto";
import { connectSqlite, type SqlClient } from "./sql-client";
import type { Fixture } from "./seed";

export interface SqliteTransfer {
  run: () => Promise<string>;
  close: () => Promise<void>;
}

const ACCOUNT_COLUMNS = `id, number, owner_id, kind, currency, account_type, status, display_name,
  CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held, CAST(overdraft_limit AS TEXT) AS overdraft_limit,
  entry_count, version, create_time, update_time`;

export async function sqliteTransferOperation(file: string, fixture: Fixture, hot: boolean): Promise<SqliteTransfer> {
  const sql = await connectSqlite(file);
  const accounts = fixture.accounts;
  const caller = fixture.users[0]!.id;
  const randomInt = (n: number) => Math.floor(Math.random() * n);
  const run = async () => {
    const a = randomInt(accounts.length);
    let source = accounts[a]!.id;
    let target = accounts[(a + 1 + randomInt(accounts.length - 1)) % accounts.length]!.id;
    if (hot) [source, target] = Math.random() < 0.5 ? [fixture.house.accountId, source] : [source, fixture.house.accountId];
    await transfer(sql, source, target, BigInt(1 + randomInt(1000)), caller);
    return "transfer";
  };
  return { run, close: () => sql.close() };
}

async function transfer(sql: SqlClient, source: string, target: string, amount: bigint, caller: string): Promise<void> {
  const nowMs = Date.now();
  const txId = randomUUID();
  const requestId = randomUUID();
  // IMMEDIATE takes the write lock up front (waiting up to busy_timeout): bankd's audit sealer
  // in the server process seals these events meanwhile, and a deferred transaction that reads
  // first would fail with SQLITE_BUSY when it then needs to write.
  await sql.exec("BEGIN IMMEDIATE");
  try {
    await sql.all(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id IN (?, ?) ORDER BY id`, [source, target]);
    await sql.all(
      `INSERT INTO transactions (id, tx_type, status, currency, amount, from_account_id, to_account_id, description, request_id,
         initiated_by, reverses_id, hold_id, expire_time, create_time, update_time)
       VALUES (?, 'TRANSFER', 'POSTED', 'USD', ?, ?, ?, 'bench', ?, ?, NULL, NULL, NULL, ?, ?)`,
      [txId, amount.toString(), source, target, requestId, caller, nowMs, nowMs],
    );
    const rows = await sql.all<{ id: string; balance: string; entry_count: number }>(
      `UPDATE accounts
          SET balance = balance + CASE id WHEN ? THEN CAST(? AS BIGINT) WHEN ? THEN CAST(? AS BIGINT) END,
              held = held + CASE id WHEN ? THEN CAST(0 AS BIGINT) WHEN ? THEN CAST(0 AS BIGINT) END,
              entry_count = entry_count + 1,
              update_time = ?
        WHERE id IN (?, ?)
        RETURNING id, CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held, entry_count`,
      [source, (-amount).toString(), target, amount.toString(), source, target, nowMs, source, target],
    );
    const by = new Map(rows.map((r) => [r.id, r]));
    await sql.all(
      `INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)`,
      [txId, source, by.get(source)!.entry_count, (-amount).toString(), by.get(source)!.balance, nowMs,
        txId, target, by.get(target)!.entry_count, amount.toString(), by.get(target)!.balance, nowMs],
    );
    await sql.all(
      `INSERT INTO audit_events (id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details)
       VALUES (?, ?, ?, 'transaction.transfer', ?, 'SUCCESS', '127.0.0.1', ?, ?)`,
      [randomUUID(), nowMs, caller, txId, requestId, JSON.stringify({ amount: amount.toString(), currency: "USD", from_account_id: source, to_account_id: target })],
    );
    const outcome = { ok: { id: txId, type: "TRANSFER", status: "POSTED", currency: "USD", amount: { $bigint: amount.toString() }, fromAccountId: source, toAccountId: target, description: "bench", requestId, initiatedBy: caller, reversesId: "", holdId: "", createTimeMs: nowMs, expireTimeMs: null } };
    await sql.all(
      `INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time)
       VALUES (?, 'TransactionService/Transfer', ?, ?, ?, ?, ?)`,
      [caller, requestId, createHash("sha256").update(requestId).digest("hex"), JSON.stringify(Object.fromEntries(["currency", "description", "from_account_id", "minor_units", "to_account_id", "to_account_number"].map((k) => [k, "0".repeat(32)]))), JSON.stringify(outcome), nowMs],
    );
    await sql.exec("COMMIT");
  } catch (err) {
    await sql.exec("ROLLBACK").catch(() => undefined);
    throw err;
  }
}
