// Bulk seeding of accounts and their funding by SQL, for speed (10,000 CreateAccount + Deposit
// RPCs take minutes on a busy 2-core machine, and every Deposit locks the one settlement
// account). It writes exactly the rows bankd's own code writes for those calls, built with
// bankd's own id and account-number functions (dist/src/ids, dist/src/ledger/account-number):
//
//   CreateAccount (src/ledger/accounts.ts insertAccount + idempotent):
//     accounts row (CUSTOMER, ACTIVE, balance 0), audit_events "account.create"
//     {owner_id, currency, type}, idempotency_keys "AccountService/CreateAccount" with the
//     account as its outcome;
//   Deposit (src/ledger/commands/settlement.ts applyMove + engine/batch-state.ts post):
//     transactions row (DEPOSIT, POSTED, from NULL, to the account), two entries (the account
//     +amount with seq 1; the settlement account -amount with the next seq) whose balance_after
//     is the running balance, accounts.balance / entry_count / update_time of both accounts,
//     audit_events "transaction.deposit" {amount, currency, account_id}, idempotency_keys
//     "TransactionService/Deposit" with the transaction as its outcome.
//
// All in one database transaction. The ledger check runs right after seeding, and the bench
// then reads a few seeded balances back through the API, so a drift from what bankd writes
// fails loudly. `--seed api` seeds through the RPCs instead.
import { createHash, randomUUID } from "node:crypto";
import { uuidv7 } from "../src/util/ids";
import { randomAccountNumber } from "../src/ledger/account-number";
import { settlementShardOf } from "../src/ledger/ledger";
import type { SqlClient } from "./sql-client";

export interface SqlSeedAccount {
  ownerId: string;
  displayName: string;
  fundingMinor: bigint;
}

export interface SqlSeedOptions {
  currency: string;
  /** Recorded as the calls' client address. */
  clientAddress: string;
}

/** Rows per INSERT: at most 15 columns each, far below both engines' parameter limits. */
const CHUNK = 400;

export async function seedAccountsBySql(sql: SqlClient, accounts: SqlSeedAccount[], opts: SqlSeedOptions): Promise<string[]> {
  const nowMs = Date.now();
  // The currency's settlement shards: each account's deposit posts against the one its id hashes
  // to (src/ledger/ledger.ts settlementShardOf), as bankd's own Deposit does.
  const shards = await sql.all<{ id: string; balance: string; entry_count: string | number }>(
    `SELECT id, CAST(balance AS TEXT) AS balance, entry_count FROM accounts WHERE kind = 'SETTLEMENT' AND currency = ? ORDER BY shard`,
    [opts.currency],
  );
  if (shards.length === 0) throw new Error(`no settlement account for ${opts.currency}: did bankd start?`);
  const settlement = shards.map((s) => ({ id: s.id, balance: BigInt(s.balance), seq: Number(s.entry_count), touched: false }));

  const rows = { accounts: [] as unknown[][], transactions: [] as unknown[][], entries: [] as unknown[][], audit: [] as unknown[][], keys: [] as unknown[][] };
  const ids: string[] = [];
  for (const a of accounts) {
    const id = uuidv7(nowMs);
    const number = randomAccountNumber();
    ids.push(id);
    const view = { id, number, ownerId: a.ownerId, kind: "CUSTOMER", currency: opts.currency, type: "CHECKING", status: "ACTIVE", displayName: a.displayName, balance: 0n, held: 0n, overdraftLimit: 0n, createTimeMs: nowMs, updateTimeMs: nowMs, version: 1 };
    rows.accounts.push([id, number, a.ownerId, opts.currency, a.displayName, a.fundingMinor.toString(), nowMs, nowMs]);
    rows.audit.push(auditRow(a.ownerId, "account.create", id, { owner_id: a.ownerId, currency: opts.currency, type: "CHECKING" }, opts, nowMs));
    rows.keys.push(keyRow(a.ownerId, "AccountService/CreateAccount", { currency: opts.currency, type: "CHECKING", display_name: a.displayName, owner_id: a.ownerId }, view, nowMs));

    const txId = uuidv7(nowMs);
    const requestId = randomUUID();
    const shard = settlement[settlementShardOf(id, settlement.length)]!;
    shard.balance -= a.fundingMinor;
    shard.seq += 1;
    shard.touched = true;
    rows.transactions.push([txId, opts.currency, a.fundingMinor.toString(), id, requestId, a.ownerId, nowMs, nowMs]);
    rows.entries.push([txId, id, 1, a.fundingMinor.toString(), a.fundingMinor.toString(), nowMs]);
    rows.entries.push([txId, shard.id, shard.seq, (-a.fundingMinor).toString(), shard.balance.toString(), nowMs]);
    rows.audit.push(auditRow(a.ownerId, "transaction.deposit", txId, { amount: a.fundingMinor.toString(), currency: opts.currency, account_id: id }, opts, nowMs));
    const transaction = { id: txId, type: "DEPOSIT", status: "POSTED", currency: opts.currency, amount: a.fundingMinor, fromAccountId: "", toAccountId: id, description: "bench funding", requestId, initiatedBy: a.ownerId, reversesId: "", holdId: "", createTimeMs: nowMs, expireTimeMs: null };
    rows.keys.push(keyRow(a.ownerId, "TransactionService/Deposit", { account_id: id, currency: opts.currency, minor_units: a.fundingMinor, description: "bench funding" }, transaction, nowMs, requestId));
    // The bench's own accounts have explicit "no limit" in every direction, as an admin's
    // SetAccountLimits writes it (the bench measures throughput, not daily limits).
    rows.audit.push(auditRow("system", "account.set_limits", id, { reason: "bench accounts", deposit: "unlimited", withdrawal: "unlimited", transfer_out: "unlimited", incoming: "unlimited", previous_deposit: "default", previous_withdrawal: "default", previous_transfer_out: "default", previous_incoming: "default" }, opts, nowMs));
  }

  // SQLite: take the write lock first (waiting for bankd's writers up to the busy timeout). A
  // deferred BEGIN reads first and upgrades at the first INSERT, which fails at once with
  // SQLITE_BUSY_SNAPSHOT ("database is locked") when bankd committed in between (its audit
  // sealer, seen in .ci/run's bench smoke test).
  await sql.exec(sql.engine === "sqlite" ? "BEGIN IMMEDIATE" : "BEGIN");
  try {
    // The accounts are inserted with their funded balance and entry_count 1: the same end state
    // as CreateAccount followed by one Deposit.
    // The incoming limit (migration 0008) where the build has it: a previous build measured
    // with --baseline-ref may not.
    const incoming = (await sql.all(sql.engine === "postgres"
      ? "SELECT 1 AS present FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'incoming_limit'"
      : "SELECT 1 AS present FROM pragma_table_info('accounts') WHERE name = 'incoming_limit'")).length > 0;
    await insertChunks(sql, `INSERT INTO accounts (id, number, owner_id, kind, currency, account_type, status, display_name, balance, entry_count, create_time, update_time,
      deposit_limit, withdrawal_limit, transfer_out_limit${incoming ? ", incoming_limit" : ""}) VALUES`,
      `(?, ?, ?, 'CUSTOMER', ?, 'CHECKING', 'ACTIVE', ?, CAST(? AS BIGINT), 1, ?, ?, -1, -1, -1${incoming ? ", -1" : ""})`, rows.accounts);
    await insertChunks(sql, `INSERT INTO transactions (id, tx_type, status, currency, amount, from_account_id, to_account_id, description, request_id, initiated_by, reverses_id, hold_id, expire_time, create_time, update_time) VALUES`,
      "(?, 'DEPOSIT', 'POSTED', ?, CAST(? AS BIGINT), NULL, ?, 'bench funding', ?, ?, NULL, NULL, NULL, ?, ?)", rows.transactions);
    await insertChunks(sql, `INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) VALUES`,
      "(?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), ?)", rows.entries);
    for (const shard of settlement.filter((s) => s.touched)) {
      await sql.run(`UPDATE accounts SET balance = CAST(? AS BIGINT), entry_count = ?, update_time = ? WHERE id = ?`, [shard.balance.toString(), shard.seq, nowMs, shard.id]);
    }
    await insertChunks(sql, `INSERT INTO audit_events (id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details) VALUES`,
      "(?, ?, ?, ?, ?, 'SUCCESS', ?, ?, ?)", rows.audit);
    await insertChunks(sql, `INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time) VALUES`,
      "(?, ?, ?, ?, ?, ?, ?)", rows.keys);
    await sql.exec("COMMIT");
  } catch (err) {
    await sql.exec("ROLLBACK").catch(() => undefined);
    throw err;
  }
  return ids;
}

async function insertChunks(sql: SqlClient, head: string, tuple: string, rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await sql.run(`${head} ${chunk.map(() => tuple).join(", ")}`, chunk.flat());
  }
}

function auditRow(actorId: string, action: string, targetId: string, details: Record<string, string>, opts: SqlSeedOptions, nowMs: number): unknown[] {
  // request_id of an audit event is the call's id (x-request-id), a UUID per call.
  return [uuidv7(nowMs), nowMs, actorId, action, targetId, opts.clientAddress, randomUUID(), JSON.stringify(details)];
}

/** An idempotency row as src/ledger/idempotency.ts writes it: per-field digests, their hash,
 * and the outcome with bigints as {"$bigint": "..."}. */
function keyRow(callerId: string, method: string, payload: Record<string, string | bigint>, outcome: unknown, nowMs: number, requestId: string = randomUUID()): unknown[] {
  const fields: Record<string, string> = {};
  for (const name of Object.keys(payload).sort()) {
    const value = payload[name];
    const text = JSON.stringify(typeof value === "bigint" ? `${value}n` : value ?? null);
    fields[name] = createHash("sha256").update(text).digest("hex").slice(0, 32);
  }
  const hash = createHash("sha256").update(JSON.stringify(Object.entries(fields))).digest("hex");
  const encoded = JSON.stringify({ ok: outcome }, (_k, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v));
  return [callerId, method, requestId, hash, JSON.stringify(fields), encoded, nowMs];
}
