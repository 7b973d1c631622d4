// Answering the callers of a committed batch (nothing is acknowledged before commit): each request
// resolves with its value, rejects with its refusal, or, when its key was already taken, answers
// as the stored outcome (or REQUEST_ID_REUSED when the payload differs); then the listeners of
// this process learn which accounts gained entries.
import { DomainError, failedPrecondition } from "../../errors";
import type { Logger } from "../../logger";
import type { StoredKey } from "../store/batch";
import { decodeOutcome, reusedKeyError } from "../idempotency";
import type { PostingRequest, RequestKey } from "./request";

/** A queued request with the promise its caller waits on. */
export interface Caller {
  request: PostingRequest<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** How a request ended in a batch that committed. */
export type Answer = { value: unknown } | { error: unknown } | { replay: StoredKey };

export function deliver(p: Caller, answer: Answer): void {
  if ("value" in answer) return p.resolve(answer.value);
  if ("error" in answer) return p.reject(answer.error);
  const key = p.request.key!;
  if (answer.replay.payloadHash !== key.payloadHash) return p.reject(reusedKeyError(key, answer.replay));
  const outcome = decodeOutcome(answer.replay.outcome);
  if ("error" in outcome) return p.reject(DomainError.fromJSON(outcome.error));
  p.resolve(outcome.ok);
}

/** Tells each listener which accounts gained entries in a commit; a failing listener is logged. */
export function notifyCommitted(listeners: readonly ((accountIds: readonly string[]) => void)[], touched: readonly string[], logger?: Logger): void {
  if (touched.length === 0) return;
  for (const listener of listeners) {
    try {
      listener(touched);
    } catch (err) {
      logger?.error({ err }, "a commit listener failed");
    }
  }
}

/** Whether a stored key is a success that replays for `key` (same payload). */
export function replaysSuccess(key: RequestKey, stored: StoredKey | undefined): { ok: unknown } | undefined {
  if (!stored || stored.payloadHash !== key.payloadHash) return undefined;
  const outcome = decodeOutcome(stored.outcome);
  return "ok" in outcome ? outcome : undefined;
}

/** The error a taken item key answers with: REQUEST_ID_REUSED, or its stored error. */
export function storedFailure(key: RequestKey, stored: StoredKey): DomainError {
  if (stored.payloadHash !== key.payloadHash) return reusedKeyError(key, stored);
  const outcome = decodeOutcome(stored.outcome);
  if ("error" in outcome) return DomainError.fromJSON(outcome.error);
  return failedPrecondition("REQUEST_ID_REUSED", "This request_id was already used.", { request_id: key.requestId });
}
