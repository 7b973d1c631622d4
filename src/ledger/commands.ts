// The frame every money command runs in: a posting request to the engine (posting-engine.ts)
// with the command's idempotency key (AIP-155: the caller, the method and the request_id, with
// the digests of the normalized payload). The engine claims the key in the batch's unit of work,
// applies the command, and stores its outcome (a transaction or a business failure, with a
// FAILED audit event) for replay.
import { digestedKey, type Payload } from "./idempotency";
import type { Ledger } from "./ledger";
import type { AuditDetails, BatchState } from "./posting";
import type { AccountsToLock, LockView } from "./posting-engine";
import type { Actor, TransactionView } from "./types";

export interface MoneyCommand {
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
  /** Transaction rows to lock before the accounts (a hold, a transaction to reverse). */
  transactionIds?: readonly string[];
  /** Transactions whose entries the command needs (a reversal). */
  entriesOf?: readonly string[];
  /** The accounts to lock, once the transaction rows are locked. */
  accounts(locked: LockView): AccountsToLock;
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
