// Withdraw: money from an account to outside the bank, within the available balance, posted
// against the account's settlement shard (settlement.ts).
import type { BatchState } from "../engine/batch-state";
import type { Ledger } from "../ledger";
import type { Actor, TransactionView } from "../types";
import type { CommandContext, Locks } from "./frame";
import { applyMove, moveLocks, parseMove, submitMove, type MoveInput, type ParsedMove } from "./settlement";

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
  return submitMove(ledger, actor, input, "WITHDRAWAL");
}
