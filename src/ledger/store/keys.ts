// The idempotency keys' statements (AIP-155): the posting engine's set-based claim and read of a
// batch's keys, and the single-key commands' (idempotency.ts) claim through the unit of work and
// replay read.
import type { Database, Tx } from "../../db/database";
import type { JsonColumn } from "../../db/engine";
import { IdempotencyKey as IdempotencyKeyEntity } from "../../db/entities";
import { json } from "./columns";

const text = (name: string): JsonColumn => ({ name, type: "text" });

export interface KeyRow {
  callerId: string;
  method: string;
  requestId: string;
  payloadHash: string;
  payloadFields: string;
}

export interface StoredKey extends KeyRow {
  outcome: string;
}

export const keyId = (k: Pick<KeyRow, "callerId" | "method" | "requestId">): string => `${k.callerId}\u0000${k.method}\u0000${k.requestId}`;

/** A key's three columns as a JSON row set carries them. */
export const KEY_COLUMNS: readonly JsonColumn[] = [text("caller_id"), text("method"), text("request_id")];

/** A row `r` of a key row set is this idempotency_keys row. */
export const KEY_MATCH = "idempotency_keys.caller_id = r.caller_id AND idempotency_keys.method = r.method AND idempotency_keys.request_id = r.request_id";

/**
 * Claims idempotency keys: inserts the ones nobody holds (outcome empty until the batch writes
 * it, in the same transaction) in key order, so that two batches claiming overlapping keys queue
 * instead of deadlocking. A key held by a transaction in flight makes this wait for its commit.
 * Returns the ids (keyId) of the keys this batch now holds.
 */
export async function claimKeys(tx: Tx, keys: readonly KeyRow[], nowMs: number): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = tx.engine.jsonRows("r", [...KEY_COLUMNS, text("payload_hash"), text("payload_fields")]);
  const claimed = await tx.all<{ caller_id: string; method: string; request_id: string }>(
    `INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time)
     SELECT r.caller_id, r.method, r.request_id, r.payload_hash, r.payload_fields, '', ? FROM ${rows} WHERE 1 = 1
      ORDER BY r.caller_id, r.method, r.request_id ON CONFLICT DO NOTHING RETURNING caller_id, method, request_id`,
    [nowMs, json(keys.map((k) => ({ caller_id: k.callerId, method: k.method, request_id: k.requestId, payload_hash: k.payloadHash, payload_fields: k.payloadFields })))],
  );
  return new Set(claimed.map((r) => keyId({ callerId: r.caller_id, method: r.method, requestId: r.request_id })));
}

/** The stored keys (with their outcomes) of these key ids: keys another unit of work committed. */
export async function readKeys(tx: Tx, keys: readonly Pick<KeyRow, "callerId" | "method" | "requestId">[]): Promise<Map<string, StoredKey>> {
  if (keys.length === 0) return new Map();
  const found = await tx.all<{ caller_id: string; method: string; request_id: string; payload_hash: string; payload_fields: string; outcome: string }>(
    `SELECT k.caller_id, k.method, k.request_id, k.payload_hash, k.payload_fields, k.outcome
       FROM idempotency_keys k JOIN ${tx.engine.jsonRows("r", KEY_COLUMNS)}
         ON k.caller_id = r.caller_id AND k.method = r.method AND k.request_id = r.request_id`,
    [json(keys.map((k) => ({ caller_id: k.callerId, method: k.method, request_id: k.requestId })))],
  );
  return new Map(found.map((r) => {
    const stored: StoredKey = { callerId: r.caller_id, method: r.method, requestId: r.request_id, payloadHash: r.payload_hash, payloadFields: r.payload_fields, outcome: r.outcome };
    return [keyId(stored), stored];
  }));
}

/**
 * Inserts the key with its outcome, deferred to the transaction's commit (on PostgreSQL in the
 * same round trip as COMMIT). A key already taken fails the INSERT with a unique violation
 * (after waiting for a concurrent holder of the key to commit or roll back), which rolls the
 * whole transaction back: nothing of this attempt is kept, and the caller replays.
 */
export function persistKey(tx: Tx, key: StoredKey, nowMs: number): void {
  tx.em.persist(tx.em.create(IdempotencyKeyEntity, {
    callerId: key.callerId, method: key.method, requestId: key.requestId, payloadHash: key.payloadHash,
    payloadFields: key.payloadFields, outcome: key.outcome, createTime: nowMs,
  }));
}

/** The stored key, read on its own (the replay of a single-key command). */
export async function readKey(db: Database, key: Pick<KeyRow, "callerId" | "method" | "requestId">): Promise<StoredKey | undefined> {
  const row = await db.read((tx) =>
    tx.one<{ payload_hash: string; payload_fields: string; outcome: string }>(
      `SELECT payload_hash, payload_fields, outcome FROM idempotency_keys WHERE caller_id = ? AND method = ? AND request_id = ?`,
      [key.callerId, key.method, key.requestId],
    ),
  );
  return row && { callerId: key.callerId, method: key.method, requestId: key.requestId, payloadHash: row.payload_hash, payloadFields: row.payload_fields, outcome: row.outcome };
}

/** Whether a key is stored (the request was answered before). */
export async function keyStored(db: Database, key: Pick<KeyRow, "callerId" | "method" | "requestId">): Promise<boolean> {
  const row = await db.read((tx) => tx.one("SELECT 1 AS stored FROM idempotency_keys WHERE caller_id = ? AND method = ? AND request_id = ?", [key.callerId, key.method, key.requestId]));
  return row !== undefined;
}
