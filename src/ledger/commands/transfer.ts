// Transfer: from an account the caller may operate to any active customer account of the same
// currency, named by id or by number. A BatchTransfer item is this same command (batch-transfer.ts):
// the same parse, key, locks and rules.
import { failedPrecondition, invalidArgument } from "../../errors";
import { limits } from "../../limits";
import { accessAccount, accountNotFound, isStaff } from "../access";
import type { BatchState } from "../engine/batch-state";
import type { Payload } from "../idempotency";
import type { Ledger } from "../ledger";
import type { Actor, Amount, TransactionView } from "../types";
import { parseAccountNumberInput, parseAmount, parseId, parseRequestId, parseText } from "../validate";
import { moneyDetails, runMoneyCommand, type CommandContext, type Locks } from "./frame";
import type { MoneyInput } from "./settlement";

export interface TransferInput {
  requestId: string;
  fromAccountId: string;
  /** Exactly one of toAccountId and toAccountNumber is set. */
  toAccountId: string;
  /** Digits, with or without spaces. */
  toAccountNumber: string;
  amount: MoneyInput | undefined;
  description: string;
}

/** A transfer whose shape has been checked: what the engine applies, alone or in a batch. */
export interface ParsedTransfer {
  requestId: string;
  fromId: string;
  toId: string | undefined;
  toNumber: string | undefined;
  amount: Amount;
  description: string;
}

/** Checks a transfer's shape (INVALID_ARGUMENT whatever the state, nothing written). */
export function parse(ctx: Pick<CommandContext, "currencies">, input: TransferInput): ParsedTransfer {
  const requestId = parseRequestId(input.requestId);
  const fromId = parseId(input.fromAccountId, "from_account_id");
  if ((input.toAccountId === "") === (input.toAccountNumber === "")) {
    throw invalidArgument("TARGET_REQUIRED", "Give exactly one of to_account_id and to_account_number.", { field: "target" });
  }
  const toId = input.toAccountId === "" ? undefined : parseId(input.toAccountId, "to_account_id");
  const toNumber = input.toAccountNumber === "" ? undefined : parseAccountNumberInput(input.toAccountNumber);
  const amount = parseAmount(ctx.currencies, input.amount);
  const description = parseText(input.description, "description", limits.descriptionCharsMax);
  if (toId === fromId) throw sameAccount();
  return { requestId, fromId, toId, toNumber, amount, description };
}

/** The normalized fields of a transfer: the payload of its idempotency key (Transfer and every
 * BatchTransfer item share it, so an item that repeats a Transfer replays it). */
export function payload(t: ParsedTransfer): Payload {
  return { from_account_id: t.fromId, to_account_id: t.toId ?? null, to_account_number: t.toNumber ?? null, currency: t.amount.currency, minor_units: t.amount.minor, description: t.description };
}

export const TRANSFER_METHOD = "TransactionService/Transfer";

/** The source and the payee, by id or by number: both known before anything is locked. */
export function locks(t: ParsedTransfer): Locks & { accounts(): { ids: string[]; numbers: string[] } } {
  return { accounts: () => ({ ids: t.toId ? [t.fromId, t.toId] : [t.fromId], numbers: t.toNumber ? [t.toNumber] : [] }) };
}

/** Posts a transfer in a batch: the caller may operate the source; any active customer account
 * of the same currency may receive (settlement accounts are not payees). */
export function apply(batch: BatchState, actor: Actor, t: ParsedTransfer): TransactionView {
  const source = accessAccount(actor, batch.account(t.fromId), "operate", "from_account_id");
  const target = t.toId ? batch.account(t.toId) : batch.accountByNumber(t.toNumber!);
  const transaction = {
    type: "TRANSFER" as const, status: "POSTED" as const, currency: t.amount.currency, amount: t.amount.minor,
    fromAccountId: source.id, toAccountId: target?.id ?? null, description: t.description, requestId: t.requestId, initiatedBy: actor.userId,
  };
  const sourceLeg = { accountId: source.id, amount: -t.amount.minor, held: 0n };
  const dailyLimit = { accountId: source.id, direction: "transferOut" as const, amount: t.amount.minor };
  if (!target || target.kind !== "CUSTOMER") {
    // The caller's own side is checked first: whether a number exists is learned only by a
    // transfer that could have moved money (security W10).
    if (!isStaff(actor)) batch.check({ transaction, legs: [sourceLeg], dailyLimit }, [batch.account(source.id)!]);
    throw accountNotFound(t.toId ? "to_account_id" : "to_account_number");
  }
  if (target.id === source.id) throw sameAccount();
  const posted = batch.post({
    transaction,
    legs: [sourceLeg, { accountId: target.id, amount: t.amount.minor, held: 0n }],
    dailyLimit,
    incoming: { accountId: target.id, amount: t.amount.minor },
    // A customer paying someone else learns nothing about the payee's account from a refusal.
    opaqueAccountId: !isStaff(actor) && target.ownerId !== actor.userId ? target.id : undefined,
  });
  batch.audit(actor, { action: "transaction.transfer", targetId: posted.id, details: moneyDetails(posted.amount, posted.currency, { from_account_id: source.id, to_account_id: target.id }) });
  return posted;
}

/** The audit facts of a transfer's refusal (a Transfer's, or a BatchTransfer item's). */
export function failureDetails(t: ParsedTransfer) {
  return moneyDetails(t.amount.minor, t.amount.currency, { to_account_id: t.toId ?? null });
}

/** Transfer: from an account the caller may operate to any active customer account of the same currency. */
export async function transfer(ledger: Ledger, actor: Actor, input: TransferInput): Promise<TransactionView> {
  const t = parse(ledger, input);
  return runMoneyCommand(ledger, actor, {
    method: TRANSFER_METHOD,
    action: "transaction.transfer",
    requestId: t.requestId,
    payload: payload(t),
    targetId: t.fromId,
    failureDetails: failureDetails(t),
    ...locks(t),
    apply: (batch) => apply(batch, actor, t),
  });
}

function sameAccount() {
  return failedPrecondition("SAME_ACCOUNT", "The source and target accounts are the same.", { field: "to_account_id" });
}
