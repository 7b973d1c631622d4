// An account's statement, newest first and paged: each line with the other party, the amount,
// the balance after it and the transaction id; holds show as pending. An admin gets "Reverse" on
// the lines that can be reversed.
import type { Account } from "../../gen/bank/v1/account_pb";
import type { StatementEntry, Transaction } from "../../gen/bank/v1/transaction_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { TransactionStatus, TransactionType } from "../../gen/bank/v1/transaction_pb";
import type { ConsoleContext } from "./context";
import { button, cell, emptyBody, setText, show } from "./dom";
import { describeError } from "./errors";
import { consoleLimits } from "./limits";
import { Pager } from "./pager";
import { statementLine, type KnownAccounts } from "./statement-lines";

export class StatementView {
  private account: Account | undefined;
  private readonly pager: Pager;

  constructor(
    private readonly ctx: ConsoleContext,
    private readonly known: KnownAccounts,
    private readonly onReverse: (transactionId: string) => void,
  ) {
    this.pager = new Pager("statement", (pageToken) => this.loadPage(pageToken));
  }

  /** Shows the newest page of `account`'s statement. */
  first(account: Account): Promise<void> {
    this.account = account;
    return this.pager.first();
  }

  reset(): void {
    this.account = undefined;
    emptyBody("statement-table");
  }

  /** Pending holds among the newest entries (see consoleLimits.holdsScanEntries). */
  async pendingHolds(accountId: string): Promise<Transaction[]> {
    const res = await this.ctx.api.transactions.listTransactions({ accountId, pageSize: consoleLimits.holdsScanEntries });
    const holds: Transaction[] = [];
    for (const entry of res.entries) {
      const tx = entry.transaction;
      if (tx && tx.type === TransactionType.HOLD && tx.status === TransactionStatus.PENDING) holds.push(tx);
    }
    return holds;
  }

  private async loadPage(pageToken: string) {
    const account = this.account;
    if (!account) return undefined;
    try {
      const res = await this.ctx.api.transactions.listTransactions({ accountId: account.id, pageSize: consoleLimits.statementPageSize, pageToken });
      return { nextPageToken: res.nextPageToken, render: () => this.render(account, res.entries) };
    } catch (err) {
      setText("status", describeError(err, "load"));
      return undefined;
    }
  }

  private render(account: Account, entries: StatementEntry[]): void {
    if (this.account?.id !== account.id) return;
    const body = emptyBody("statement-table");
    const mayReverse = this.ctx.perms.may(TransactionService.method.reverseTransaction);
    show("statement-actions-col", mayReverse);
    for (const entry of entries) {
      const line = statementLine(entry, account.id, this.ctx.currencies, this.known);
      const tr = document.createElement("tr");
      tr.dataset.transactionId = line.transactionId;
      if (line.pending) tr.className = "pending";
      tr.append(
        cell(line.time, undefined, "Date"),
        cell(line.description, "wrap", "Description"),
        cell(line.type, undefined, "Type"),
        cell(line.otherParty, "party", "Other party"),
        cell(line.amount, `num ${line.amountKind}`, "Amount"),
        cell(line.balance, "num", "Balance"),
        cell(line.transactionId, "mono id", "Transaction"),
      );
      if (mayReverse) {
        const actions = document.createElement("td");
        if (line.reversible) actions.append(button("Reverse", `Reverse ${line.description} of ${line.time} (${line.amount})`, () => this.onReverse(line.transactionId), "secondary"));
        tr.append(actions);
      }
      body.append(tr);
    }
    show("statement-empty", entries.length === 0 && this.pager.page === 1);
  }
}
