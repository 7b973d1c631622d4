// One statement entry as the console shows it: what happened, to or from whom, how the balance
// moved, and the transaction id (for reversals and for talking to the bank). Pure, so the rules
// are tested without a browser.
import type { StatementEntry } from "../../gen/bank/v1/transaction_pb";
import { TransactionStatus, TransactionType } from "../../gen/bank/v1/transaction_pb";
import { formatTime, transactionStatusLabel, transactionTypeLabel, type Currencies } from "./format";

export interface StatementLine {
  transactionId: string;
  time: string;
  description: string;
  /** "Transfer", "Hold (pending)", "Deposit (reversed)". */
  type: string;
  /** The other account ("4021 5583 1907 26 · Bob Example"), "Outside the bank", or "". */
  otherParty: string;
  /** The signed change of this account's balance; for a hold (release), the amount held
   * (given back). */
  amount: string;
  amountKind: "credit" | "debit" | "held";
  balance: string;
  pending: boolean;
  /** Posted deposits, withdrawals, transfers and captures can be reversed (src/ledger/reversals). */
  reversible: boolean;
}

/** Where the other party's name and number come from, when the server does not say. */
export interface KnownAccounts {
  /** The number of an account the console has loaded, by id. */
  numberOf(accountId: string): string | undefined;
}

const REVERSIBLE: ReadonlySet<TransactionType> = new Set([TransactionType.DEPOSIT, TransactionType.WITHDRAWAL, TransactionType.TRANSFER, TransactionType.CAPTURE]);
/** Types without another party at all: money is only reserved or given back on one account. */
const ONE_SIDED: ReadonlySet<TransactionType> = new Set([TransactionType.HOLD, TransactionType.RELEASE]);

export const OUTSIDE_THE_BANK = "Outside the bank";

export function statementLine(entry: StatementEntry, accountId: string, currencies: Currencies, known: KnownAccounts): StatementLine {
  const tx = entry.transaction;
  const type = tx?.type ?? TransactionType.UNSPECIFIED;
  const status = tx?.status ?? TransactionStatus.UNSPECIFIED;
  const statusLabel = transactionStatusLabel(status);
  const minor = entry.amount?.minorUnits ?? 0n;
  // A hold and its release do not move the ledger balance: they show the amount reserved or
  // given back instead of a signed zero.
  const held = type === TransactionType.HOLD || type === TransactionType.RELEASE;
  return {
    transactionId: tx?.id ?? "",
    time: formatTime(tx?.createTime),
    description: tx?.description || transactionTypeLabel(type),
    type: statusLabel ? `${transactionTypeLabel(type)} (${statusLabel})` : transactionTypeLabel(type),
    otherParty: otherParty(entry, accountId, known),
    amount: held ? `${type === TransactionType.HOLD ? "held" : "released"} ${currencies.money(tx?.amount)}` : currencies.signed(entry.amount),
    amountKind: held ? "held" : minor > 0n ? "credit" : "debit",
    balance: currencies.money(entry.balanceAfter),
    pending: status === TransactionStatus.PENDING,
    reversible: status === TransactionStatus.POSTED && REVERSIBLE.has(type),
  };
}

/** The server's counterparty when it sends one (number, and the name where the caller may see
 * it); otherwise what the transaction itself says: the settlement account is the outside world,
 * and an account the console already knows is shown by its number. */
export function otherParty(entry: StatementEntry, accountId: string, known: KnownAccounts): string {
  const cp = entry.counterparty;
  if (cp && cp.accountNumber) return cp.name ? `${cp.accountNumber} · ${cp.name}` : cp.accountNumber;
  const tx = entry.transaction;
  if (!tx || ONE_SIDED.has(tx.type)) return "";
  const otherId = tx.fromAccountId === accountId ? tx.toAccountId : tx.fromAccountId;
  if (otherId === "") return OUTSIDE_THE_BANK;
  return known.numberOf(otherId) ?? "";
}
