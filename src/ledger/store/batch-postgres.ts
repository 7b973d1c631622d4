// The posting engine's statements on PostgreSQL: a batch in three round trips, whatever its size
// (docs/architecture.md, "A batch in three round trips"):
//   1. BEGIN (sent with the next statement by the driver, postgres-dialect.ts) and the lock
//      statement: claim the batch's idempotency keys, then lock its accounts in ascending id
//      order, and read the keys that were already taken;
//   2. the write statement: transactions, entries, balances, statuses, key outcomes and audit
//      events in one statement of data-modifying CTEs, returning what conservation is asserted on;
//   3. COMMIT.
// A batch that settles or reverses transactions locks their rows between the keys and the
// accounts (it must read them to know which accounts to lock): one more round trip. A key another
// transaction committed while this batch waited to claim it is invisible to the lock statement's
// snapshot: it is read by one more statement (rare: two callers racing with the same request_id).
//
// Every statement text is a constant, so the driver prepares each once per connection (named
// statements). Row sets travel as one JSON parameter per table or as text[] parameters. Lookups
// of accounts and transactions also filter on `id = ANY(text[])`, which a generic plan estimates
// as a handful of rows and serves from the primary key whatever the row set's size (without it,
// the generic plan of a join with a row set of unknown size scanned every account). Keys are
// looked up by joining the row set on the whole primary key: `= ANY` on two of its three columns
// made PostgreSQL 15 walk every key of the caller once per array element (a BatchTransfer of
// 1,000 items cost 0.39 ms of database CPU per item instead of 0.20).
import type { Row, Tx } from "../../db/database";
import type { JsonColumn } from "../../db/engine";
import { assert, type LockedAccount } from "../engine/batch-rows";
import type { TransactionView } from "../types";
import {
  ACCOUNT_DELTA_COLUMNS, ACCOUNT_SET, AUDIT_COLUMNS, ENTRY_COLUMNS, INSERT_AUDITS, INSERT_ENTRIES, INSERT_TRANSACTIONS, OUTCOME_COLUMNS, STATUS_COLUMNS,
  TRANSACTION_COLUMNS, assertStoredAccounts, batchParams, type BatchWrites,
} from "./row-sets";
import { accountColumns, toLockedAccount, toTransaction, transactionColumns } from "./columns";
import { KEY_MATCH, keyId, readKeys, type KeyRow, type StoredKey } from "./keys";

const recordset = (param: string, alias: string, columns: readonly JsonColumn[]): string =>
  `jsonb_to_recordset(CAST(${param} AS jsonb)) AS ${alias} (${columns.map((c) => `${c.name} ${c.type}`).join(", ")})`;

/** The keys to claim ($1..$5 as text[]) and the claim time ($6). The claim runs first: the CTEs
 * that lock rows wait for it through `(SELECT count(*) FROM claimed) >= 0`. */
const CLAIM_CTES = `r AS (
    SELECT * FROM unnest(CAST($1 AS text[]), CAST($2 AS text[]), CAST($3 AS text[]), CAST($4 AS text[]), CAST($5 AS text[]))
      AS r (caller_id, method, request_id, payload_hash, payload_fields)
  ), claimed AS (
    INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time)
    SELECT r.caller_id, r.method, r.request_id, r.payload_hash, r.payload_fields, '', $6 FROM r
     ORDER BY r.caller_id, r.method, r.request_id
    ON CONFLICT DO NOTHING RETURNING caller_id, method, request_id
  )`;

/** Claimed keys, and the taken ones this statement's snapshot sees. */
const KEY_RESULTS = `(SELECT json_agg(json_build_array(c.caller_id, c.method, c.request_id)) FROM claimed c) AS claimed,
  (SELECT json_agg(json_build_array(k.caller_id, k.method, k.request_id, k.payload_hash, k.payload_fields, k.outcome))
     FROM idempotency_keys k JOIN r ON k.caller_id = r.caller_id AND k.method = r.method AND k.request_id = r.request_id
    WHERE NOT EXISTS (SELECT 1 FROM claimed c WHERE c.caller_id = r.caller_id AND c.method = r.method AND c.request_id = r.request_id)) AS taken`;

/** The database's clock once the statement's locks are held (epoch ms): the day of the daily
 * limits on PostgreSQL is never earlier than the database's. */
const DB_NOW = "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS bigint) AS db_now_ms";

/** Keys first, then the accounts ($7 ids, $8 numbers), in ascending id order. */
export const LOCK_KEYS_ACCOUNTS_SQL = `WITH ${CLAIM_CTES}, locked AS (
    SELECT ${accountColumns()} FROM accounts
     WHERE (id = ANY(CAST($7 AS text[])) OR number = ANY(CAST($8 AS text[]))) AND (SELECT count(*) FROM claimed) >= 0
     ORDER BY id FOR UPDATE
  )
  SELECT ${KEY_RESULTS}, (SELECT json_agg(locked) FROM locked) AS accounts, ${DB_NOW}`;

/** Keys first, then the transaction rows to settle or reverse ($7), in ascending id order, and
 * the entries of the transactions a reversal undoes ($8). */
export const LOCK_KEYS_TRANSACTIONS_SQL = `WITH ${CLAIM_CTES}, locked AS (
    SELECT ${transactionColumns()} FROM transactions
     WHERE id = ANY(CAST($7 AS text[])) AND (SELECT count(*) FROM claimed) >= 0
     ORDER BY id FOR UPDATE
  )
  SELECT ${KEY_RESULTS}, (SELECT json_agg(locked) FROM locked) AS transactions, ${DB_NOW},
    (SELECT json_agg(json_build_array(e.transaction_id, e.account_id, CAST(e.amount AS TEXT)) ORDER BY e.id)
       FROM entries e WHERE e.transaction_id = ANY(CAST($8 AS text[])) AND e.amount <> 0) AS entries`;

/** The accounts ($1 ids, $2 numbers), in ascending id order. */
export const LOCK_ACCOUNTS_SQL = `SELECT ${accountColumns()} FROM accounts
  WHERE id = ANY(CAST($1 AS text[])) OR number = ANY(CAST($2 AS text[])) ORDER BY id FOR UPDATE`;

/** Everything a batch writes, in one statement. Each CTE's row count comes back and is asserted;
 * the accounts come back as stored, for the conservation check. */
export const WRITE_SQL = `WITH t AS (
    ${INSERT_TRANSACTIONS(recordset("$1", "r", TRANSACTION_COLUMNS))} RETURNING 1
  ), e AS (
    ${INSERT_ENTRIES(recordset("$2", "r", ENTRY_COLUMNS))} RETURNING 1
  ), a AS (
    UPDATE accounts SET ${ACCOUNT_SET} FROM ${recordset("$3", "r", ACCOUNT_DELTA_COLUMNS)}
     WHERE accounts.id = r.id AND accounts.id = ANY(CAST($4 AS text[])) RETURNING ${accountColumns("accounts")}
  ), s AS (
    UPDATE transactions SET status = r.status, update_time = r.update_time FROM ${recordset("$5", "r", STATUS_COLUMNS)}
     WHERE transactions.id = r.id AND transactions.id = ANY(CAST($6 AS text[])) AND transactions.status = r.from_status RETURNING 1
  ), k AS (
    DELETE FROM idempotency_keys USING ${recordset("$7", "r", OUTCOME_COLUMNS.slice(0, 3))}
     WHERE ${KEY_MATCH} AND idempotency_keys.outcome = '' RETURNING 1
  ), o AS (
    UPDATE idempotency_keys SET outcome = r.outcome FROM ${recordset("$8", "r", OUTCOME_COLUMNS)}
     WHERE ${KEY_MATCH} AND idempotency_keys.outcome = '' RETURNING 1
  ), au AS (
    ${INSERT_AUDITS(recordset("$9", "r", AUDIT_COLUMNS))} RETURNING 1
  ), n AS (
    SELECT pg_notify('bankd_entries', '') WHERE CAST($10 AS boolean)
  )
  SELECT (SELECT count(*) FROM t) AS transactions, (SELECT count(*) FROM e) AS entries, (SELECT count(*) FROM s) AS statuses,
    (SELECT count(*) FROM k) AS released, (SELECT count(*) FROM o) AS outcomes, (SELECT count(*) FROM au) AS audits,
    (SELECT count(*) FROM n) AS notified, (SELECT json_agg(a) FROM a) AS accounts`;

export interface LockInput {
  keys: readonly KeyRow[];
  nowMs: number;
  transactionIds: readonly string[];
  entriesOf: readonly string[];
}

export interface KeysAndRows {
  claimed: Set<string>;
  taken: Map<string, StoredKey>;
  /** The database's clock when the statement held its locks. */
  dbNowMs: number;
}

function keyParams(keys: readonly KeyRow[], nowMs: number): unknown[] {
  return [keys.map((k) => k.callerId), keys.map((k) => k.method), keys.map((k) => k.requestId), keys.map((k) => k.payloadHash), keys.map((k) => k.payloadFields), nowMs];
}

/** The claim's results, reading (one more statement) taken keys this snapshot could not see. */
async function keysOf(tx: Tx, keys: readonly KeyRow[], row: Row): Promise<KeysAndRows> {
  const claimed = new Set(((row.claimed ?? []) as [string, string, string][]).map(([callerId, method, requestId]) => keyId({ callerId, method, requestId })));
  const taken = new Map<string, StoredKey>();
  for (const [callerId, method, requestId, payloadHash, payloadFields, outcome] of (row.taken ?? []) as string[][]) {
    const stored: StoredKey = { callerId: callerId!, method: method!, requestId: requestId!, payloadHash: payloadHash!, payloadFields: payloadFields!, outcome: outcome! };
    taken.set(keyId(stored), stored);
  }
  const unseen = keys.filter((k) => !claimed.has(keyId(k)) && !taken.has(keyId(k)));
  if (unseen.length > 0) for (const [id, stored] of await readKeys(tx, unseen)) taken.set(id, stored);
  return { claimed, taken, dbNowMs: Number(row.db_now_ms) };
}

/** Claims the keys and locks the accounts (a batch without transaction rows to lock). */
export async function lockKeysAndAccounts(tx: Tx, input: LockInput, ids: readonly string[], numbers: readonly string[]): Promise<KeysAndRows & { accounts: Map<string, LockedAccount> }> {
  const [row] = await tx.all(LOCK_KEYS_ACCOUNTS_SQL, [...keyParams(input.keys, input.nowMs), [...new Set(ids)], [...new Set(numbers)]]);
  assert(row !== undefined, "the lock statement returns one row");
  return { ...(await keysOf(tx, input.keys, row)), accounts: lockedAccounts((row.accounts ?? []) as Row[]) };
}

/** Claims the keys and locks the transaction rows, reading the entries reversals need. */
export async function lockKeysAndTransactions(tx: Tx, input: LockInput): Promise<KeysAndRows & {
  transactions: Map<string, TransactionView>;
  entries: Map<string, { accountId: string; amount: bigint }[]>;
}> {
  const [row] = await tx.all(LOCK_KEYS_TRANSACTIONS_SQL, [...keyParams(input.keys, input.nowMs), [...new Set(input.transactionIds)], [...new Set(input.entriesOf)]]);
  assert(row !== undefined, "the lock statement returns one row");
  const transactions = new Map(((row.transactions ?? []) as Row[]).map((r) => [String(r.id), toTransaction(r)]));
  const entries = new Map<string, { accountId: string; amount: bigint }[]>();
  for (const [transactionId, accountId, amount] of (row.entries ?? []) as [string, string, string][]) {
    const list = entries.get(transactionId) ?? [];
    list.push({ accountId, amount: BigInt(amount) });
    entries.set(transactionId, list);
  }
  return { ...(await keysOf(tx, input.keys, row)), transactions, entries };
}

export async function lockAccountsPostgres(tx: Tx, ids: readonly string[], numbers: readonly string[]): Promise<Map<string, LockedAccount>> {
  if (ids.length === 0 && numbers.length === 0) return new Map();
  return lockedAccounts(await tx.all(LOCK_ACCOUNTS_SQL, [[...new Set(ids)], [...new Set(numbers)]]));
}

function lockedAccounts(rows: readonly Row[]): Map<string, LockedAccount> {
  return new Map(rows.map((row) => {
    const account = toLockedAccount(row);
    return [account.id, account];
  }));
}

/** Writes the batch in one statement and asserts every count and stored balance. */
export async function writeBatchPostgres(tx: Tx, w: BatchWrites): Promise<void> {
  const p = batchParams(w);
  const [row] = await tx.all(WRITE_SQL, [
    p.transactions, p.entries, p.accounts, w.accounts.map((a) => a.after.id), p.statuses, [...w.statusChanges.keys()], p.released, p.outcomes,
    p.audits, w.entries.length > 0,
  ]);
  assert(row !== undefined, "the write statement returns one row");
  assert(Number(row.transactions) === w.transactions.length, "every transaction of the batch was inserted");
  assert(Number(row.entries) === w.entries.length, "every entry of the batch was inserted");
  // The rows are locked: only this batch can have moved them.
  assert(Number(row.statuses) === w.statusChanges.size, "every settled or reversed transaction left its previous status exactly once");
  assert(Number(row.released) === w.released.length, "every released key was one this batch claimed");
  assert(Number(row.outcomes) === w.outcomes.length, "every claimed key got its outcome exactly once");
  assert(Number(row.audits) === w.audits.length, "every audit event of the batch was inserted");
  assert(Number(row.notified) === (w.entries.length > 0 ? 1 : 0), "watchers are told of new entries at commit");
  assertStoredAccounts((row.accounts ?? []) as Row[], w.accounts);
}
