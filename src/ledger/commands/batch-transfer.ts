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
import { DomainError, aborted, invalidArgument } from "../../errors";
import { limits } from "../../limits";
import { accessAccount, isStaff } from "../access";
import { recordRefusal, type BatchState } from "../engine/batch-state";
import { replaysSuccess, storedFailure } from "../engine/delivery";
import { GroupOutcome, type Locks, type TakenKeys, keyId } from "../engine/request";
import { digestedKey, type DigestedKey, type Outcome } from "../idempotency";
import type { Ledger } from "../ledger";
import type { Actor, TransactionView } from "../types";
import { parseRequestId } from "../validate";
import type { CommandContext } from "./frame";
import * as transfer from "./transfer";
import type { ParsedTransfer, TransferInput } from "./transfer";

export interface BatchTransferInput {
  requestId: string;
  transfers: TransferInput[];
  atomic: boolean;
}

/** One item's answer: the posted (or replayed) transfer, or the error a single Transfer would give. */
export type BatchItemResult = { transaction: TransactionView } | { error: ReturnType<DomainError["toJSON"]> };

type Item = { parsed: ParsedTransfer; key: DigestedKey } | { invalid: DomainError };

export interface ParsedBatch {
  requestId: string;
  atomic: boolean;
  /** Each item parsed as a single Transfer would be, with its key; or its own shape error. */
  items: Item[];
  /** The call's own key (method BatchTransfer): the whole answer is stored under it. */
  key: DigestedKey;
}

/** Checks the call's shape (INVALID_ARGUMENT for the whole call) and each item's (that item's
 * own error, exactly as a single Transfer would answer). Item keys are the caller's Transfer
 * keys. */
export function parse(ctx: Pick<CommandContext, "currencies">, actor: Actor, input: BatchTransferInput): ParsedBatch {
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
      const parsed = transfer.parse(ctx, t);
      return { parsed, key: digestedKey({ callerId: actor.userId, method: transfer.TRANSFER_METHOD, requestId: parsed.requestId }, transfer.payload(parsed)) };
    } catch (err) {
      // A malformed item is that item's own error, exactly as a single Transfer would answer.
      if (err instanceof DomainError) return { invalid: err };
      throw err;
    }
  });
  const key = digestedKey({ callerId: actor.userId, method: "TransactionService/BatchTransfer", requestId }, { atomic: input.atomic, transfers: digestTransfers(input.transfers) });
  return { requestId, atomic: input.atomic, items, key };
}

function validItems(b: ParsedBatch): Extract<Item, { parsed: ParsedTransfer }>[] {
  return b.items.filter((i): i is Extract<Item, { parsed: ParsedTransfer }> => "parsed" in i);
}

/** Every valid item's source and payee. */
export function locks(b: ParsedBatch): Locks {
  const valid = validItems(b);
  return {
    accounts: () => {
      const wanted = valid.map((i) => transfer.locks(i.parsed).accounts());
      return { ids: wanted.flatMap((w) => w.ids), numbers: wanted.flatMap((w) => w.numbers) };
    },
  };
}

/** Applies the items, each alone or all or nothing; `taken` holds the item keys already used. */
export function apply(batch: BatchState, taken: TakenKeys, actor: Actor, b: ParsedBatch): GroupOutcome<BatchItemResult[]> {
  return b.atomic ? applyAtomic(batch, taken, actor, b.requestId, b.items) : applyEach(batch, taken, actor, b.items);
}

export async function batchTransfer(ledger: Ledger, actor: Actor, input: BatchTransferInput): Promise<BatchItemResult[]> {
  const b = parse(ledger, actor, input);
  const valid = validItems(b);
  return ledger.engine.submit<BatchItemResult[]>({
    key: b.key,
    itemKeys: valid.map((i) => i.key),
    signal: actor.signal,
    weight: Math.max(1, valid.length),
    ...locks(b),
    apply: (batch, taken) => apply(batch, taken, actor, b),
    failure: { actor, action: "transaction.batch_transfer", targetId: "", details: { request_id: b.requestId, transfers: b.items.length, atomic: b.atomic } },
  });
}

/** Each item on its own: a refused item is undone and answers its error, the others post. */
function applyEach(batch: BatchState, taken: TakenKeys, actor: Actor, items: Item[]): GroupOutcome<BatchItemResult[]> {
  const outcomes = new Map<string, Outcome>();
  const results = items.map((item): BatchItemResult => {
    if ("invalid" in item) return { error: item.invalid.toJSON() };
    const replayed = replayOf(item.key, taken);
    if (replayed) return replayed;
    const mark = batch.mark();
    try {
      const t = transfer.apply(batch, actor, item.parsed);
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
  // A customer's batch: the caller's own side of every item first, with no payee looked at, so
  // that a refusal there names its item whatever the payees are (issue 26, item 4).
  const callerSide = isStaff(actor) ? undefined : callerSideFailure(batch, taken, actor, items);
  if (callerSide) return aborts(batch, taken, actor, requestId, items, callerSide.index, callerSide.error, false);
  const payees: string[] = [];
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
          const t = transfer.apply(batch, actor, item.parsed);
          outcomes.set(keyId(item.key), { ok: t });
          results.push({ transaction: t });
          if (paysSomeoneElse(batch, actor, item.parsed)) payees.push(item.parsed.toNumber ?? item.parsed.toId ?? "");
          continue;
        } catch (err) {
          if (!(err instanceof DomainError)) throw err;
          failure = err;
        }
      }
    }
    batch.undo(mark);
    // A customer's batch aborted by a payee (unknown, frozen, closed, another currency), or by
    // anything after an item that could pay someone else, answers every item alike, naming
    // neither the item nor the condition: otherwise [1 cent to X, a transfer bound to fail]
    // tells for free whether X exists and can be paid (issue 26). Staff may look any account up,
    // and get the precise answer.
    return aborts(batch, taken, actor, requestId, items, index, failure, !isStaff(actor) && (payees.length > 0 || isPayeeSide(failure)), payees);
  }
  return new GroupOutcome(results, outcomes, false);
}

/** The answer of an atomic batch that failed at `index` (already undone). */
function aborts(batch: BatchState, taken: TakenKeys, actor: Actor, requestId: string, items: Item[], index: number, failure: DomainError, opaque: boolean, payees: readonly string[] = []): GroupOutcome<BatchItemResult[]> {
  const abortedItem = opaque
    ? aborted("BATCH_ABORTED", "Not posted: a transfer of this atomic batch could not be made, so none was.").toJSON()
    : aborted("BATCH_ABORTED", `Not posted: transfer ${index} of this atomic batch failed (${failure.reason}), so none was.`, { failed_index: String(index) }).toJSON();
  // The audit says what was asked for: the failing item's payee and the other people's
  // accounts the batch paid before it (a probe's targets), as numbers or ids.
  const failed = items[index]!;
  const target = "parsed" in failed ? (failed.parsed.toNumber ?? failed.parsed.toId ?? "") : "";
  batch.audit(actor, {
    action: "transaction.batch_transfer",
    targetId: "",
    outcome: "FAILED",
    details: { request_id: requestId, atomic: true, transfers: items.length, failed_index: index, reason: failure.reason, target, payees_before: payees.slice(0, limits.auditAggregateTargetsMax).join(",") },
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

/**
 * The first failure on the caller's own side of an atomic batch, found without looking at any
 * payee the caller does not own: each item's shape, its source account (the caller's to
 * operate), and the source's funds, status, currency and daily transfer limit with every
 * earlier item of the batch counted (payments to the caller's own accounts credit them for the
 * items after). Nothing is applied.
 */
function callerSideFailure(batch: BatchState, taken: TakenKeys, actor: Actor, items: Item[]): { index: number; error: DomainError } | undefined {
  const debits = new Map<string, bigint>();
  const change = new Map<string, bigint>();
  for (const [index, item] of items.entries()) {
    if ("invalid" in item) return { index, error: item.invalid };
    const replayed = replayOf(item.key, taken);
    if (replayed) {
      if ("error" in replayed) return { index, error: DomainError.fromJSON(replayed.error) };
      continue;
    }
    const p = item.parsed;
    try {
      const source = accessAccount(actor, batch.account(p.fromId), "operate", "from_account_id");
      const key = `${source.id}:${p.amount.currency}`;
      const gross = (debits.get(key) ?? 0n) + p.amount.minor;
      const net = (change.get(key) ?? 0n) - p.amount.minor;
      batch.check(
        {
          transaction: { type: "TRANSFER", status: "POSTED", currency: p.amount.currency, amount: p.amount.minor, fromAccountId: source.id, toAccountId: null, description: p.description, requestId: p.requestId, initiatedBy: actor.userId },
          legs: [{ accountId: source.id, amount: net, held: 0n }],
          dailyLimit: { accountId: source.id, direction: "transferOut", amount: gross },
        },
        [batch.account(source.id)!],
      );
      debits.set(key, gross);
      change.set(key, net);
      const target = p.toId ? batch.account(p.toId) : batch.accountByNumber(p.toNumber!);
      if (target && target.ownerId === actor.userId && target.id !== source.id) {
        const credited = `${target.id}:${p.amount.currency}`;
        change.set(credited, (change.get(credited) ?? 0n) + p.amount.minor);
      }
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return { index, error: err };
    }
  }
  return undefined;
}

/** True when a transfer's payee is not one of the caller's own accounts. */
function paysSomeoneElse(batch: BatchState, actor: Actor, p: ParsedTransfer): boolean {
  const target = p.toId ? batch.account(p.toId) : batch.accountByNumber(p.toNumber!);
  return !target || target.ownerId !== actor.userId;
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
  return { actor, action: "transaction.transfer", targetId: t.fromId, details: { request_id: t.requestId, ...transfer.failureDetails(t) } };
}

/** One digest of the items as sent, so that the call's request_id reused with other transfers is
 * REQUEST_ID_REUSED naming "transfers". */
function digestTransfers(transfers: readonly TransferInput[]): string {
  const canonical = transfers.map((t) => [t.requestId, t.fromAccountId, t.toAccountId, t.toAccountNumber, t.amount?.currency ?? null, t.amount?.minorUnits.toString() ?? null, t.description]);
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}
