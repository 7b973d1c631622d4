// Deposits, withdrawals and transfers. Deposits and withdrawals post against the currency's
// settlement account (the outside world), so every transaction's entries sum to zero. Each is a
// request to the posting engine; the checks run on the locked accounts of its batch.
import { invalidArgument, failedPrecondition } from "../errors";
import { limits } from "../limits";
import { accessAccount, accountNotFound, isStaff } from "./access";
import { moneyDetails, runMoneyCommand } from "./commands";
import type { Payload } from "./idempotency";
import type { Ledger } from "./ledger";
import type { BatchState } from "./posting";
import type { Actor, Amount, TransactionView } from "./types";
import { parseAccountNumberInput, parseAmount, parseId, parseRequestId, parseText } from "./validate";

export interface MoneyInput {
  currency: string;
  minorUnits: bigint;
}

export interface MoveInput {
  requestId: string;
  accountId: string;
  amount: MoneyInput | undefined;
  description: string;
}

interface ParsedMove {
  requestId: string;
  accountId: string;
  amount: Amount;
  description: string;
}

function parseMove(ledger: Ledger, input: MoveInput): ParsedMove {
  return {
    requestId: parseRequestId(input.requestId),
    accountId: parseId(input.accountId, "account_id"),
    amount: parseAmount(ledger.currencies, input.amount),
    description: parseText(input.description, "description", limits.descriptionCharsMax),
  };
}

/** Deposit: money from outside the bank into an account (owner, teller, admin). */
export async function deposit(ledger: Ledger, actor: Actor, input: MoveInput): Promise<TransactionView> {
  return settle(ledger, actor, parseMove(ledger, input), "DEPOSIT");
}

/** Withdraw: money from an account to outside the bank, within the available balance. */
export async function withdraw(ledger: Ledger, actor: Actor, input: MoveInput): Promise<TransactionView> {
  return settle(ledger, actor, parseMove(ledger, input), "WITHDRAWAL");
}

function settle(ledger: Ledger, actor: Actor, m: ParsedMove, type: "DEPOSIT" | "WITHDRAWAL"): Promise<TransactionView> {
  const action = type === "DEPOSIT" ? "transaction.deposit" : "transaction.withdraw";
  const sign = type === "DEPOSIT" ? 1n : -1n;
  const settlementId = ledger.settlementId(m.amount.currency, m.accountId);
  return runMoneyCommand(ledger, actor, {
    method: type === "DEPOSIT" ? "TransactionService/Deposit" : "TransactionService/Withdraw",
    action,
    requestId: m.requestId,
    payload: { account_id: m.accountId, currency: m.amount.currency, minor_units: m.amount.minor, description: m.description },
    targetId: m.accountId,
    failureDetails: moneyDetails(m.amount.minor, m.amount.currency),
    accounts: () => ({ ids: [m.accountId, settlementId] }),
    apply: (batch) => {
      const account = accessAccount(actor, batch.account(m.accountId), "operate");
      const t = batch.post({
        transaction: {
          type, status: "POSTED", currency: m.amount.currency, amount: m.amount.minor,
          fromAccountId: type === "DEPOSIT" ? null : account.id,
          toAccountId: type === "DEPOSIT" ? account.id : null,
          description: m.description, requestId: m.requestId, initiatedBy: actor.userId,
        },
        legs: [
          { accountId: account.id, amount: sign * m.amount.minor, held: 0n },
          { accountId: settlementId, amount: -sign * m.amount.minor, held: 0n },
        ],
        dailyLimit: { accountId: account.id, direction: type === "DEPOSIT" ? "deposit" : "withdrawal", amount: m.amount.minor },
        ...(type === "DEPOSIT" ? { incoming: { accountId: account.id, amount: m.amount.minor } } : {}),
      });
      batch.audit(actor, { action, targetId: t.id, details: moneyDetails(t.amount, t.currency, { account_id: account.id }) });
      return t;
    },
  });
}

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
export function parseTransfer(ledger: Ledger, input: TransferInput): ParsedTransfer {
  const requestId = parseRequestId(input.requestId);
  const fromId = parseId(input.fromAccountId, "from_account_id");
  if ((input.toAccountId === "") === (input.toAccountNumber === "")) {
    throw invalidArgument("TARGET_REQUIRED", "Give exactly one of to_account_id and to_account_number.", { field: "target" });
  }
  const toId = input.toAccountId === "" ? undefined : parseId(input.toAccountId, "to_account_id");
  const toNumber = input.toAccountNumber === "" ? undefined : parseAccountNumberInput(input.toAccountNumber);
  const amount = parseAmount(ledger.currencies, input.amount);
  const description = parseText(input.description, "description", limits.descriptionCharsMax);
  if (toId === fromId) throw sameAccount();
  return { requestId, fromId, toId, toNumber, amount, description };
}

/** The normalized fields of a transfer: the payload of its idempotency key (Transfer and every
 * BatchTransfer item share it, so an item that repeats a Transfer replays it). */
export function transferPayload(t: ParsedTransfer): Payload {
  return { from_account_id: t.fromId, to_account_id: t.toId ?? null, to_account_number: t.toNumber ?? null, currency: t.amount.currency, minor_units: t.amount.minor, description: t.description };
}

export const TRANSFER_METHOD = "TransactionService/Transfer";

/** Transfer: from an account the caller may operate to any active customer account of the same currency. */
export async function transfer(ledger: Ledger, actor: Actor, input: TransferInput): Promise<TransactionView> {
  const t = parseTransfer(ledger, input);
  return runMoneyCommand(ledger, actor, {
    method: TRANSFER_METHOD,
    action: "transaction.transfer",
    requestId: t.requestId,
    payload: transferPayload(t),
    targetId: t.fromId,
    failureDetails: moneyDetails(t.amount.minor, t.amount.currency, { to_account_id: t.toId ?? null }),
    accounts: () => transferAccounts(t),
    apply: (batch) => applyTransfer(batch, actor, t),
  });
}

export function transferAccounts(t: ParsedTransfer): { ids: string[]; numbers: string[] } {
  return { ids: t.toId ? [t.fromId, t.toId] : [t.fromId], numbers: t.toNumber ? [t.toNumber] : [] };
}

/** Posts a transfer in a batch: the caller may operate the source; any active customer account
 * of the same currency may receive (settlement accounts are not payees). */
export function applyTransfer(batch: BatchState, actor: Actor, t: ParsedTransfer): TransactionView {
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

function sameAccount() {
  return failedPrecondition("SAME_ACCOUNT", "The source and target accounts are the same.", { field: "to_account_id" });
}
