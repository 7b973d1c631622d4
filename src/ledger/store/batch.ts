// How a batch takes its keys and locks and writes its rows, per engine: PostgreSQL in three round
// trips (batch-postgres.ts); SQLite statement by statement (batch-sqlite.ts: statements cost no round
// trip there, and its one writer serializes batches). Both take the same locks in the same order:
// keys first (in key order), then transaction rows, then accounts (ascending id).
import type { Tx } from "../../db/database";
import type { LockedAccount } from "../engine/batch-rows";
import type { TransactionView } from "../types";
import { lockAccountsPostgres, lockKeysAndAccounts, lockKeysAndTransactions, writeBatchPostgres } from "./batch-postgres";
import type { BatchWrites } from "./row-sets";
import { lockAccounts, lockTransactions, readEntries, writeBatch } from "./batch-sqlite";
import { claimKeys, keyId, readKeys, type KeyRow, type StoredKey } from "./keys";

export type { BatchWrites } from "./row-sets";
export { keyId, type KeyRow, type StoredKey } from "./keys";

/** What a request sees of the locked transaction rows when it names the accounts to lock. */
export interface LockView {
  transaction(id: string): TransactionView | undefined;
  entriesOf(transactionId: string): readonly { accountId: string; amount: bigint }[];
}

/** What a request needs locked, learned once its transaction rows are locked. */
export interface AccountsToLock {
  ids: readonly string[];
  numbers?: readonly string[];
}

/** What the store needs of a request to lock for it. */
export interface Lockable {
  readonly key?: KeyRow;
  readonly transactionIds?: readonly string[];
  readonly entriesOf?: readonly string[];
  accounts(locked: LockView): AccountsToLock;
}

export interface LockedBatch {
  /** Key ids (keyId) this batch now holds. */
  claimed: Set<string>;
  /** Keys other units of work committed, with their outcomes. */
  taken: Map<string, StoredKey>;
  transactions: Map<string, TransactionView>;
  entries: Map<string, { accountId: string; amount: bigint }[]>;
  accounts: Map<string, LockedAccount>;
  /** PostgreSQL: the database's clock once the locks were held (the daily limits' day). */
  dbNowMs?: number;
}

const NOTHING_LOCKED: LockView = { transaction: () => undefined, entriesOf: () => [] };

const isLive = (request: Lockable, claimed: Set<string>): boolean => !request.key || claimed.has(keyId(request.key));

/** Claims `keys` and locks what `requests` need (a request whose own key was taken needs nothing;
 * PostgreSQL may lock its accounts all the same when that saves a round trip). */
export async function lockBatch(tx: Tx, requests: readonly Lockable[], keys: readonly KeyRow[], nowMs: number): Promise<LockedBatch> {
  const transactionIds = requests.flatMap((r) => r.transactionIds ?? []);
  const entriesOf = requests.flatMap((r) => r.entriesOf ?? []);
  if (tx.dialect === "postgres") {
    if (transactionIds.length === 0 && entriesOf.length === 0) {
      const wanted = requests.map((r) => r.accounts(NOTHING_LOCKED));
      const locked = await lockKeysAndAccounts(tx, { keys, nowMs, transactionIds, entriesOf }, wanted.flatMap((w) => w.ids), wanted.flatMap((w) => w.numbers ?? []));
      return { ...locked, transactions: new Map(), entries: new Map() };
    }
    const locked = await lockKeysAndTransactions(tx, { keys, nowMs, transactionIds, entriesOf });
    const view: LockView = { transaction: (id) => locked.transactions.get(id), entriesOf: (id) => locked.entries.get(id) ?? [] };
    const wanted = requests.filter((r) => isLive(r, locked.claimed)).map((r) => r.accounts(view));
    const accounts = await lockAccountsPostgres(tx, wanted.flatMap((w) => w.ids), wanted.flatMap((w) => w.numbers ?? []));
    return { ...locked, accounts };
  }
  const claimed = await claimKeys(tx, keys, nowMs);
  const taken = await readKeys(tx, keys.filter((k) => !claimed.has(keyId(k))));
  const live = requests.filter((r) => isLive(r, claimed));
  const transactions = await lockTransactions(tx, live.flatMap((r) => r.transactionIds ?? []));
  const entries = await readEntries(tx, live.flatMap((r) => r.entriesOf ?? []));
  const view: LockView = { transaction: (id) => transactions.get(id), entriesOf: (id) => entries.get(id) ?? [] };
  const wanted = live.map((r) => r.accounts(view));
  const accounts = await lockAccounts(tx, wanted.flatMap((w) => w.ids), wanted.flatMap((w) => w.numbers ?? []));
  return { claimed, taken, transactions, entries, accounts };
}

/** Writes everything the batch recorded and asserts what the database returns. */
export function writeLockedBatch(tx: Tx, w: BatchWrites): Promise<void> {
  return tx.dialect === "postgres" ? writeBatchPostgres(tx, w) : writeBatch(tx, w);
}
