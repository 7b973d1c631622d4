// Withdraw: money from an account to outside the bank, within the available balance, posted
// against the account's settlement shard (settlement.ts).
import type { BatchState } from "../engine/batch-state";
import type { Ledger } from "../ledger";
import type { Actor, TransactionView } from "../types";
import { moneyDetails, runMoneyCommand, type CommandContext, type Locks } from "./frame";
import { applyMove, moveLocks, movePayload, parseMove, SETTLEMENT, type MoveInput, type ParsedMove } from "./settlement";

export function parse(ctx: CommandContext, input: MoveInput): ParsedMove {
  return parseMove(ctx, input);
}

/** The account and its settlement shard. */
export function locks(m: ParsedMove): Locks {
  return moveLocks(m);
}

export function apply(batch: BatchState, actor: Actor, m: ParsedMove): TransactionView {
  return applyMove(batch, actor, m, "WITHDRAWAL");
}

export async function withdraw(ledger: Ledger, actor: Actor, input: MoveInput): Promise<TransactionView> {
  const m = parse(ledger, input);
  return runMoneyCommand(ledger, actor, {
    method: SETTLEMENT.WITHDRAWAL.method,
    action: SETTLEMENT.WITHDRAWAL.action,
    requestId: m.requestId,
    payload: movePayload(m),
    targetId: m.accountId,
    failureDetails: moneyDetails(m.amount.minor, m.amount.currency),
    ...locks(m),
    apply: (batch) => apply(batch, actor, m),
  });
}
