// Idempotent commands (AIP-155): the key (caller, method, request_id) is the primary key of
// idempotency_keys, and the row is inserted in the SAME database transaction as the command's
// effects, with the command's outcome. So:
//   - a command and its key commit together or not at all;
//   - of concurrent duplicates, exactly one inserts the key; the others find it taken (their
//     INSERT waits for the first to commit, then fails with a unique violation), roll their own
//     work back and replay the stored outcome. There is no read-then-write check anywhere;
//   - a business failure (a DomainError from the command) rolls the command back, then a
//     second transaction commits the key with the error and a FAILED audit event; the error is
//     thrown after that commit. Replays throw the same error, whatever happened since (a
//     refused transfer stays refused under its request_id even after a deposit);
//   - the same key with a different payload is FAILED_PRECONDITION REQUEST_ID_REUSED, naming
//     the differing fields. Per-field digests are stored (not the values) to name them.
// Shape errors are thrown before any of this and record nothing.
import { hash } from "node:crypto";
import { type Database, type Tx } from "../db/database";
import { classifyDbError } from "../db/errors";
import { persistKey, readKey } from "./store/keys";
import { DomainError, failedPrecondition } from "../errors";

export interface IdempotencyKey {
  /** The calling user's id. */
  callerId: string;
  /** "TransactionService/Transfer" */
  method: string;
  requestId: string;
}

export type PayloadValue = string | bigint | number | boolean | null;
/** The request's meaningful fields, after normalization (e.g. account number without spaces). */
export type Payload = Record<string, PayloadValue>;

export type Outcome = { ok: unknown } | { error: ReturnType<DomainError["toJSON"]> };

/** A request's key with its payload digests, as idempotency_keys stores it. */
export interface DigestedKey extends IdempotencyKey {
  payloadHash: string;
  /** JSON of the per-field digests (to name the fields of a REQUEST_ID_REUSED). */
  payloadFields: string;
}

/** The key of a request with the digests of its normalized payload. */
export function digestedKey(key: IdempotencyKey, payload: Payload): DigestedKey {
  const fields = fieldDigests(payload);
  return { ...key, payloadHash: payloadHash(fields), payloadFields: JSON.stringify(fields) };
}

export interface IdempotentOptions<T> {
  db: Database;
  key: IdempotencyKey;
  payload: Payload;
  nowMs: number;
  /** The command; it runs in the transaction that claims the key. */
  work: (tx: Tx) => Promise<T>;
  /** Records the FAILED audit event of a business failure, in the transaction of the key. */
  recordFailure: (tx: Tx, error: DomainError) => Promise<void>;
}

export async function idempotent<T>(opts: IdempotentOptions<T>): Promise<T> {
  const fields = fieldDigests(opts.payload);
  const hash = payloadHash(fields);
  try {
    return await opts.db.transaction(async (tx) => {
      const value = await opts.work(tx);
      claim(tx, opts, hash, fields, { ok: value });
      return value;
    });
  } catch (err) {
    if (isKeyTaken(err)) return replay<T>(opts.db, opts.key, hash, fields);
    if (!(err instanceof DomainError)) throw err;
    try {
      await opts.db.transaction(async (tx) => {
        claim(tx, opts, hash, fields, { error: err.toJSON() });
        await opts.recordFailure(tx, err);
      });
    } catch (recordErr) {
      if (isKeyTaken(recordErr)) return replay<T>(opts.db, opts.key, hash, fields);
      throw recordErr;
    }
    throw err;
  }
}

/** Claims the key with its outcome at the transaction's commit (store/keys.ts persistKey). */
function claim(tx: Tx, opts: IdempotentOptions<unknown>, hash: string, fields: Record<string, string>, outcome: Outcome): void {
  persistKey(tx, { ...opts.key, payloadHash: hash, payloadFields: JSON.stringify(fields), outcome: encodeOutcome(outcome) }, opts.nowMs);
}

/** The unique violation of idempotency_keys' primary key: the key is taken. */
function isKeyTaken(err: unknown): boolean {
  if (classifyDbError(err) !== "unique") return false;
  for (let e = err as { table?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.table === "idempotency_keys" || /idempotency_keys/.test(e.message ?? "")) return true;
  }
  return false;
}

async function replay<T>(db: Database, key: IdempotencyKey, hash: string, fields: Record<string, string>): Promise<T> {
  const row = await readKey(db, key);
  // Keys are never deleted, and this one was just found taken.
  if (!row) throw new Error("idempotency key vanished after a conflict");
  if (row.payloadHash !== hash) {
    throw reusedKeyError({ ...key, payloadHash: hash, payloadFields: JSON.stringify(fields) }, { payloadFields: row.payloadFields });
  }
  const outcome = decodeOutcome(row.outcome);
  if ("error" in outcome) throw DomainError.fromJSON(outcome.error);
  return outcome.ok as T;
}

/** FAILED_PRECONDITION REQUEST_ID_REUSED naming the fields whose values differ from the stored. */
export function reusedKeyError(key: DigestedKey, stored: { payloadFields: string }): DomainError {
  const mine = JSON.parse(key.payloadFields) as Record<string, string>;
  const theirs = JSON.parse(stored.payloadFields) as Record<string, string>;
  const names = [...new Set([...Object.keys(theirs), ...Object.keys(mine)])].filter((f) => theirs[f] !== mine[f]).sort();
  return failedPrecondition(
    "REQUEST_ID_REUSED",
    `This request_id was already used with different values (${names.join(", ")}); use a new request_id for a new operation.`,
    { request_id: key.requestId, fields: names.join(",") },
  );
}

function fieldDigests(payload: Payload): Record<string, string> {
  const digests: Record<string, string> = {};
  for (const name of Object.keys(payload).sort()) {
    const value = payload[name];
    const text = JSON.stringify(typeof value === "bigint" ? `${value}n` : value ?? null);
    // One-shot hashing: a money command hashes every field on its hot path.
    digests[name] = hash("sha256", text, "hex").slice(0, 32);
  }
  return digests;
}

function payloadHash(fields: Record<string, string>): string {
  return hash("sha256", JSON.stringify(Object.entries(fields)), "hex");
}

/** JSON with bigints kept exact: {"$bigint": "123"}. */
export function encodeOutcome(outcome: Outcome): string {
  return JSON.stringify(outcome, (_k, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v));
}

export function decodeOutcome(text: string): Outcome {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === "$bigint" && typeof o.$bigint === "string") return BigInt(o.$bigint);
    }
    return v;
  }) as Outcome;
}
