// The frame every money command runs in. A command is a file of this folder exporting
//   parse(context, input) -> its validated input (INVALID_ARGUMENT whatever the state, no I/O),
//   locks(parsed)         -> what it needs locked (transaction rows, then accounts),
//   apply(batch, ...)     -> the pure rules on the locked state (BatchState): postings, status
//                            changes and audit events, or a DomainError,
// and the function the services call, which submits it to the posting engine (engine/queue.ts)
// with its idempotency key (AIP-155: the caller, the method and the request_id, with the digests
// of the normalized payload). The engine claims the key in the batch's unit of work, applies the
// command, and stores its outcome (a transaction or a business failure, with a FAILED audit
// event) for replay.
import type { Currency } from "../../config";
import type { AuditDetails, BatchState } from "../engine/batch-state";
import type { Locks } from "../engine/request";
import { digestedKey, type Payload } from "../idempotency";
import type { Ledger } from "../ledger";
import type { Actor, TransactionView } from "../types";

export type { Locks } from "../engine/request";

/** What parsing a command needs of the ledger (no I/O): the configured currencies, the
 * settlement shard of an account, the clock. The Ledger is one. */
export interface CommandContext {
  readonly currencies: ReadonlyMap<string, Currency>;
  settlementId(currency: string, accountId: string): string;
  now(): number;
}

export interface MoneyCommand extends Locks {
  /** "TransactionService/Transfer": part of the idempotency key. */
  method: string;
  /** Audit action, e.g. "transaction.transfer". */
  action: string;
  requestId: string;
  /** The normalized request, hashed to detect a request_id reused with other values. */
  payload: Payload;
  /** The object a FAILED audit event names (the account or hold acted on). */
  targetId: string;
  /** Extra facts for the FAILED event. */
  failureDetails?: AuditDetails;
  /** The command, applied to the batch: posts, settles, audits; a DomainError refuses it. */
  apply(batch: BatchState): TransactionView;
}

export function runMoneyCommand(ledger: Ledger, actor: Actor, command: MoneyCommand): Promise<TransactionView> {
  return ledger.engine.submit<TransactionView>({
    key: digestedKey({ callerId: actor.userId, method: command.method, requestId: command.requestId }, command.payload),
    signal: actor.signal,
    weight: 1,
    transactionIds: command.transactionIds,
    entriesOf: command.entriesOf,
    accounts: command.accounts,
    apply: (batch) => command.apply(batch),
    failure: { actor, action: command.action, targetId: command.targetId, details: { request_id: command.requestId, ...command.failureDetails } },
  });
}

export function moneyDetails(amount: bigint, currency: string, extra: AuditDetails = {}): AuditDetails {
  return { amount: amount.toString(), currency, ...extra };
}
