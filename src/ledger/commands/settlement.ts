// What deposits and withdrawals share: both post against the currency's settlement account of
// the account (the outside world), so every transaction's entries sum to zero.
import { limits } from "../../limits";
import { accessAccount } from "../access";
import type { BatchState } from "../engine/batch-state";
import type { Actor, Amount, TransactionView } from "../types";
import { parseAmount, parseId, parseRequestId, parseText } from "../validate";
import type { Ledger } from "../ledger";
import { moneyDetails, runMoneyCommand, type CommandContext, type Locks } from "./frame";

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

export interface ParsedMove {
  requestId: string;
  accountId: string;
  amount: Amount;
  description: string;
  /** The settlement shard the account's deposits and withdrawals post against. */
  settlementId: string;
}

export function parseMove(ctx: CommandContext, input: MoveInput): ParsedMove {
  const requestId = parseRequestId(input.requestId);
  const accountId = parseId(input.accountId, "account_id");
  const amount = parseAmount(ctx.currencies, input.amount);
  const description = parseText(input.description, "description", limits.descriptionCharsMax);
  return { requestId, accountId, amount, description, settlementId: ctx.settlementId(amount.currency, accountId) };
}

export function moveLocks(m: ParsedMove): Locks {
  return { accounts: () => ({ ids: [m.accountId, m.settlementId] }) };
}

export type SettlementType = "DEPOSIT" | "WITHDRAWAL";

export const SETTLEMENT = {
  DEPOSIT: { method: "TransactionService/Deposit", action: "transaction.deposit", sign: 1n, direction: "deposit" },
  WITHDRAWAL: { method: "TransactionService/Withdraw", action: "transaction.withdraw", sign: -1n, direction: "withdrawal" },
} as const;

/** Posts a deposit (into the account) or a withdrawal (out of it) against its settlement shard:
 * the caller may operate the account; the account's daily limit of that direction counts it,
 * and a deposit counts against its incoming limit too. */
export function applyMove(batch: BatchState, actor: Actor, m: ParsedMove, type: SettlementType): TransactionView {
  const { action, sign, direction } = SETTLEMENT[type];
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
      { accountId: m.settlementId, amount: -sign * m.amount.minor, held: 0n },
    ],
    dailyLimit: { accountId: account.id, direction, amount: m.amount.minor },
    ...(type === "DEPOSIT" ? { incoming: { accountId: account.id, amount: m.amount.minor } } : {}),
  });
  batch.audit(actor, { action, targetId: t.id, details: moneyDetails(t.amount, t.currency, { account_id: account.id }) });
  return t;
}

export function movePayload(m: ParsedMove) {
  return { account_id: m.accountId, currency: m.amount.currency, minor_units: m.amount.minor, description: m.description };
}

/** Submits a deposit or a withdrawal to the posting engine under its idempotency key: what
 * deposit.ts and withdraw.ts export to the services. */
export async function submitMove(ledger: Ledger, actor: Actor, input: MoveInput, type: SettlementType): Promise<TransactionView> {
  const m = parseMove(ledger, input);
  return runMoneyCommand(ledger, actor, {
    method: SETTLEMENT[type].method,
    action: SETTLEMENT[type].action,
    requestId: m.requestId,
    payload: movePayload(m),
    targetId: m.accountId,
    failureDetails: moneyDetails(m.amount.minor, m.amount.currency),
    ...moveLocks(m),
    apply: (batch) => applyMove(batch, actor, m, type),
  });
}
