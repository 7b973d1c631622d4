// BatchTransfer (docs/api.md Additions): up to limits.batchTransfersMax transfers in one call, one
// request to the posting engine, so one unit of work and one commit for all of them. Every item
// is checked and answered exactly as the same single Transfer would be, and its request_id is the
// same idempotency key as a Transfer's: an item that repeats an earlier Transfer replays it.
// - atomic = false: each item stands alone; a refused item is undone, recorded (key outcome and
//   FAILED event) and answered with its error, the others post.
// - atomic = true: all items post or none does; when one fails, the others answer ABORTED
//   (BATCH_ABORTED) and nothing is written but the call's own idempotency record. An item that
//   replays an earlier commit counts as a success, and answers as that commit (its transaction)
//   even when the batch aborts: it was posted, by that commit. A customer's batch aborted by a
//   payee (unknown, frozen, closed, another currency) answers every item alike.
// The call's own request_id (method BatchTransfer) stores the whole answer and replays it.
import { createHash } from "node:crypto";
import { DomainError, aborted, invalidArgument } from "../errors";
import { limits } from "../limits";
import { moneyDetails } from "./commands";
import { digestedKey, type DigestedKey, type Outcome } from "./idempotency";
import type { Ledger } from "./ledger";
import { applyTransfer, parseTransfer, TRANSFER_METHOD, transferAccounts, transferPayload, type ParsedTransfer, type TransferInput } from "./movements";
import type { BatchState } from "./posting";
import { GroupOutcome, recordRefusal, replaysSuccess, storedFailure, type TakenKeys } from "./posting-engine";
import { keyId } from "./batch-sql";
import type { Actor, TransactionView } from "./types";
import { isStaff } from "./access";
import { parseRequestId } from "./validate";

export interface BatchTransferInput {
  requestId: string;
  transfers: TransferInput[];
  atomic: boolean;
}

/** One item's answer: the posted (or replayed) transfer, or the error a single Transfer would give. */
export type BatchItemResult = { transaction: TransactionView } | { error: ReturnType<DomainError["toJSON"]> };

type Item = { parsed: ParsedTransfer; key: DigestedKey } | { invalid: DomainError };

export async function batchTransfer(ledger: Ledger, actor: Actor, input: BatchTransferInput): Promise<BatchItemResult[]> {
  const requestId = parseRequestId(input.requestId);
  const count = input.transfers.length;
  if (count === 0) throw invalidArgument("BATCH_EMPTY", "transfers must hold at least one transfer.", { field: "transfers" });
  if (count > limits.batchTransfersMax) {
    throw invalidArgument("BATCH_TOO_LARGE", `transfers may hold at most ${limits.batchTransfersMax} transfers.`, { field: "transfers", max: String(limits.batchTransfersMax) });
  }
  const first = new Map<string, number>();
  input.transfers.forEach((t, i) => {
    const earlier = first.get(t.requestId);
    if (t.requestId !== "" && earlier !== undefined) {
      throw invalidArgument("DUPLICATE_REQUEST_ID", `transfers[${i}].request_id repeats transfers[${earlier}].request_id; every transfer needs its own.`, { field: `transfers[${i}].request_id` });
    }
    first.set(t.requestId, i);
  });
  const items = input.transfers.map((t): Item => {
    try {
      const parsed = parseTransfer(ledger, t);
      return { parsed, key: digestedKey({ callerId: actor.userId, method: TRANSFER_METHOD, requestId: parsed.requestId }, transferPayload(parsed)) };
    } catch (err) {
      // A malformed item is that item's own error, exactly as a single Transfer would answer.
      if (err instanceof DomainError) return { invalid: err };
      throw err;
    }
  });
  const valid = items.filter((i): i is Extract<Item, { parsed: ParsedTransfer }> => "parsed" in i);
  const apply = input.atomic ? applyAtomic : applyEach;
  return ledger.engine.submit<BatchItemResult[]>({
    key: digestedKey({ callerId: actor.userId, method: "TransactionService/BatchTransfer", requestId }, { atomic: input.atomic, transfers: digestTransfers(input.transfers) }),
    itemKeys: valid.map((i) => i.key),
    signal: actor.signal,
    weight: Math.max(1, valid.length),
    accounts: () => {
      const wanted = valid.map((i) => transferAccounts(i.parsed));
      return { ids: wanted.flatMap((w) => w.ids), numbers: wanted.flatMap((w) => w.numbers) };
    },
    apply: (batch, taken) => apply(batch, taken, actor, requestId, items),
    failure: { actor, action: "transaction.batch_transfer", targetId: "", details: { request_id: requestId, transfers: count, atomic: input.atomic } },
  });
}

/** Each item on its own: a refused item is undone and answers its error, the others post. */
function applyEach(batch: BatchState, taken: TakenKeys, actor: Actor, _requestId: string, items: Item[]): GroupOutcome<BatchItemResult[]> {
  const outcomes = new Map<string, Outcome>();
  const results = items.map((item): BatchItemResult => {
    if ("invalid" in item) return { error: item.invalid.toJSON() };
    const replayed = replayOf(item.key, taken);
    if (replayed) return replayed;
    const mark = batch.mark();
    try {
      const t = applyTransfer(batch, actor, item.parsed);
      outcomes.set(keyId(item.key), { ok: t });
      return { transaction: t };
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      batch.undo(mark);
      outcomes.set(keyId(item.key), { error: err.toJSON() });
      recordRefusal(batch, transferFailure(actor, item.parsed), err);
      return { error: err.toJSON() };
    }
  });
  return new GroupOutcome(results, outcomes, false);
}

/** All or nothing: the first failure undoes the whole group and aborts the other items. */
function applyAtomic(batch: BatchState, taken: TakenKeys, actor: Actor, requestId: string, items: Item[]): GroupOutcome<BatchItemResult[]> {
  const mark = batch.mark();
  const outcomes = new Map<string, Outcome>();
  const results: BatchItemResult[] = [];
  for (const [index, item] of items.entries()) {
    let failure: DomainError | undefined;
    if ("invalid" in item) failure = item.invalid;
    else {
      const replayed = replayOf(item.key, taken);
      if (replayed && "transaction" in replayed) {
        results.push(replayed);
        continue;
      }
      if (replayed) failure = DomainError.fromJSON(replayed.error);
      else {
        try {
          const t = applyTransfer(batch, actor, item.parsed);
          outcomes.set(keyId(item.key), { ok: t });
          results.push({ transaction: t });
          continue;
        } catch (err) {
          if (!(err instanceof DomainError)) throw err;
          failure = err;
        }
      }
    }
    batch.undo(mark);
    // A customer's batch aborted by a payee (unknown, frozen, closed, another currency) answers
    // every item alike, naming neither the item nor the condition: otherwise [1 cent to X, a
    // transfer bound to fail] tells for free whether X exists and can be paid (issue 26). Staff
    // may look any account up, and get the precise answer.
    const opaque = !isStaff(actor) && isPayeeSide(failure);
    const abortedItem = opaque
      ? aborted("BATCH_ABORTED", "Not posted: a payee of this atomic batch cannot take a payment, so no transfer was made.").toJSON()
      : aborted("BATCH_ABORTED", `Not posted: transfer ${index} of this atomic batch failed (${failure.reason}), so none was.`, { failed_index: String(index) }).toJSON();
    // The audit says what was asked for: the failing item's payee (a probe's target).
    const failed = items[index]!;
    const target = "parsed" in failed ? (failed.parsed.toNumber ?? failed.parsed.toId ?? "") : "";
    batch.audit(actor, {
      action: "transaction.batch_transfer",
      targetId: "",
      outcome: "FAILED",
      details: { request_id: requestId, atomic: true, transfers: items.length, failed_index: index, reason: failure.reason, target },
    });
    // An item that replays an earlier commit was posted, by that commit: it answers as that
    // commit, never "Not posted" (a client believing it would pay again under a new id).
    const answerOf = (other: Item, i: number): BatchItemResult => {
      if (i === index && !opaque) return { error: failure.toJSON() };
      const replayed = "key" in other ? replayOf(other.key, taken) : undefined;
      return replayed && "transaction" in replayed ? replayed : { error: abortedItem };
    };
    return new GroupOutcome(items.map(answerOf), new Map(), true);
  }
  return new GroupOutcome(results, outcomes, false);
}

/** A refusal about the payee rather than the caller's own side: the target account is unknown
 * (or not a customer's), or it cannot take the payment (frozen, closed, another currency). */
function isPayeeSide(err: DomainError): boolean {
  if (err.reason === "PAYEE_UNAVAILABLE") return true;
  const field = err.metadata.field;
  return err.reason === "ACCOUNT_NOT_FOUND" && (field === "to_account_id" || field === "to_account_number");
}

/** The answer of an item whose key was already taken: its stored transfer, or its error. */
function replayOf(key: DigestedKey, taken: TakenKeys): BatchItemResult | undefined {
  const stored = taken.get(keyId(key));
  if (!stored) return undefined;
  const ok = replaysSuccess(key, stored);
  return ok ? { transaction: ok.ok as TransactionView } : { error: storedFailure(key, stored).toJSON() };
}

function transferFailure(actor: Actor, t: ParsedTransfer) {
  return { actor, action: "transaction.transfer", targetId: t.fromId, details: { request_id: t.requestId, ...moneyDetails(t.amount.minor, t.amount.currency, { to_account_id: t.toId ?? null }) } };
}

/** One digest of the items as sent, so that the call's request_id reused with other transfers is
 * REQUEST_ID_REUSED naming "transfers". */
function digestTransfers(transfers: readonly TransferInput[]): string {
  const canonical = transfers.map((t) => [t.requestId, t.fromAccountId, t.toAccountId, t.toAccountNumber, t.amount?.currency ?? null, t.amount?.minorUnits.toString() ?? null, t.description]);
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}
