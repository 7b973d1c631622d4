// CreateHold: reserves money on an account (held grows, the ledger balance does not move) until
// it is captured, released or expires (hold-state.ts). Tellers and admins.
import { invalidArgument } from "../../errors";
import { limits } from "../../limits";
import { accessAccount, requireOperator } from "../access";
import type { BatchState } from "../engine/batch-state";
import type { Ledger } from "../ledger";
import type { Actor, Amount, TransactionView } from "../types";
import { parseAmount, parseId, parseRequestId, parseText } from "../validate";
import { moneyDetails, runMoneyCommand, type CommandContext, type Locks } from "./frame";
import type { MoneyInput } from "./settlement";

export interface CreateHoldInput {
  requestId: string;
  accountId: string;
  amount: MoneyInput | undefined;
  description: string;
  /** Unset: now + limits.holdTtlSecondsDefault. */
  expireTimeMs?: number;
}

export interface ParsedHold {
  requestId: string;
  accountId: string;
  amount: Amount;
  description: string;
  /** As asked (null: the default), for the idempotency key. */
  askedExpireTimeMs: number | null;
  expireTimeMs: number;
}

export function parse(ctx: Pick<CommandContext, "currencies" | "now">, input: CreateHoldInput): ParsedHold {
  const requestId = parseRequestId(input.requestId);
  const accountId = parseId(input.accountId, "account_id");
  const amount = parseAmount(ctx.currencies, input.amount);
  const description = parseText(input.description, "description", limits.descriptionCharsMax);
  const nowMs = ctx.now();
  const expireTimeMs = input.expireTimeMs ?? nowMs + limits.holdTtlSecondsDefault * 1000;
  if (expireTimeMs <= nowMs || expireTimeMs > nowMs + limits.holdTtlSecondsMax * 1000) {
    throw invalidArgument("EXPIRE_TIME_INVALID", `expire_time must be in the future and at most ${limits.holdTtlSecondsMax / 86400} days away.`, { field: "expire_time" });
  }
  return { requestId, accountId, amount, description, askedExpireTimeMs: input.expireTimeMs ?? null, expireTimeMs };
}

export function locks(h: ParsedHold): Locks {
  return { accounts: () => ({ ids: [h.accountId] }) };
}

/** Holds the amount on an account the caller may operate, within its available balance. */
export function apply(batch: BatchState, actor: Actor, h: ParsedHold): TransactionView {
  const account = accessAccount(actor, batch.account(h.accountId), "operate");
  const t = batch.post({
    transaction: {
      type: "HOLD", status: "PENDING", currency: h.amount.currency, amount: h.amount.minor, fromAccountId: account.id, toAccountId: null,
      description: h.description, requestId: h.requestId, initiatedBy: actor.userId, expireTimeMs: h.expireTimeMs,
    },
    legs: [{ accountId: account.id, amount: 0n, held: h.amount.minor }],
  });
  batch.audit(actor, { action: "transaction.hold.create", targetId: t.id, details: moneyDetails(t.amount, t.currency, { account_id: account.id, expire_time: h.expireTimeMs }) });
  return t;
}

export async function createHold(ledger: Ledger, actor: Actor, input: CreateHoldInput): Promise<TransactionView> {
  requireOperator(actor);
  const h = parse(ledger, input);
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/CreateHold",
    action: "transaction.hold.create",
    requestId: h.requestId,
    payload: { account_id: h.accountId, currency: h.amount.currency, minor_units: h.amount.minor, description: h.description, expire_time: h.askedExpireTimeMs },
    targetId: h.accountId,
    failureDetails: moneyDetails(h.amount.minor, h.amount.currency),
    ...locks(h),
    apply: (batch) => apply(batch, actor, h),
  });
}
