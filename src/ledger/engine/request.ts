// What a command hands the posting engine: a PostingRequest (its keys, what it needs locked, how it
// applies to the locked state, the audit event of a refusal), and what a request with items
// (BatchTransfer) answers (GroupOutcome). Nothing here reads or writes the database.
import type { DomainError } from "../../errors";
import type { KeyRow, StoredKey } from "../store/batch";
import type { AccountsToLock, LockView } from "../store/batch";
import type { BatchState, Failure } from "./batch-state";

export type { AccountsToLock, LockView } from "../store/batch";

/** The idempotency key of a request (AIP-155) with its payload digests. */
export type RequestKey = KeyRow;

/** What the engine tells a request about keys of its items that were already taken (atomic and
 * batched transfers: an item that repeats an earlier commit), by keyId. */
export type TakenKeys = ReadonlyMap<string, StoredKey>;

/** The map key of an idempotency key in TakenKeys and in a GroupOutcome's itemOutcomes (a pure
 * function of the key's caller, method and request_id; defined with the key statements). */
export { keyId } from "../store/batch";

/** What a request needs locked: transaction rows first, then the accounts they lead to. */
export interface Locks {
  /** Transaction rows to lock before the accounts (holds to settle, transactions to reverse). */
  readonly transactionIds?: readonly string[];
  /** Transactions whose entries the request needs (reversals). */
  readonly entriesOf?: readonly string[];
  /** The accounts to lock, given the locked transaction rows. */
  accounts(locked: LockView): AccountsToLock;
}

export interface PostingRequest<T> extends Locks {
  /** The request's own key; a system posting (hold expiry) may have none. */
  readonly key?: RequestKey;
  /** Keys of the request's items (BatchTransfer): claimed with the batch, each answered by the
   * item's outcome (applyGroup) or given back when an atomic group aborts. */
  readonly itemKeys?: readonly RequestKey[];
  /** The call's abort signal: a request whose call ended before its batch starts is dropped. */
  readonly signal?: AbortSignal;
  /** Postings this request may write (its share of limits.postingBatchMax). */
  readonly weight: number;
  /**
   * Applies the request to the batch. A DomainError refuses it (its changes are undone, its
   * key keeps the error and a FAILED event is recorded); GroupOutcome reports items.
   */
  apply(batch: BatchState, taken: TakenKeys): T | GroupOutcome<T>;
  /** The FAILED (or DENIED) audit event of a refusal. */
  readonly failure: Failure;
}

/**
 * What a request with items returns: the value to answer (and store under the request's key),
 * the outcome of each item key it claimed, and whether its changes are to be undone and its
 * item keys given back (an atomic group that aborted).
 */
export class GroupOutcome<T> {
  constructor(
    readonly value: T,
    readonly itemOutcomes: ReadonlyMap<string, { ok: unknown } | { error: ReturnType<DomainError["toJSON"]> }>,
    readonly aborted: boolean,
  ) {}
}

/** Every key a request claims: its own, then its items'. */
export function keysOf(request: PostingRequest<unknown>): RequestKey[] {
  return [...(request.key ? [request.key] : []), ...(request.itemKeys ?? [])];
}
