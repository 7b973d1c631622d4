// An account's statement, newest first and paged: each line with the other party, the amount,
// the balance after it and the transaction id; holds show as pending. An admin gets "Reverse" on
// the lines that can be reversed. Live entries (WatchAccount) are added on top of the first page
// when they follow its newest line; when that is not certain, the page is read again.
import type { Account } from "../../gen/bank/v1/account_pb";
import type { StatementEntry, Transaction } from "../../gen/bank/v1/transaction_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { TransactionStatus, TransactionType } from "../../gen/bank/v1/transaction_pb";
import type { ConsoleContext } from "./context";
import { button, byId, cell, emptyBody, setText, show } from "./dom";
import { describeError } from "./errors";
import { consoleLimits } from "./limits";
import { placeOnTop, type ArrivedEntry } from "./live-lines";
import { Pager } from "./pager";
import { statementLine, type KnownAccounts } from "./statement-lines";

export class StatementView {
  private account: Account | undefined;
  private readonly pager: Pager;
  /** Cursors of the first page's lines as shown, newest first; empty on other pages. */
  private shown: string[] = [];
  /** Live entries since the last page was shown: a first page read meanwhile may not have them. */
  private arrived: ArrivedEntry[] = [];
  /** More entries arrived than are kept: the next first page shown is read again. */
  private stale = false;
  private reads = 0;

  constructor(
    private readonly ctx: ConsoleContext,
    private readonly known: KnownAccounts,
    private readonly onReverse: (transactionId: string) => void,
  ) {
    this.pager = new Pager("statement", (pageToken) => this.loadPage(pageToken));
  }

  /** Shows the newest page of `account`'s statement. */
  first(account: Account): Promise<void> {
    if (this.account?.id !== account.id) {
      this.shown = [];
      this.arrived = [];
      this.stale = false;
    }
    this.account = account;
    return this.pager.first();
  }

  reset(): void {
    this.account = undefined;
    this.shown = [];
    this.arrived = [];
    this.stale = false;
    emptyBody("statement-table");
  }

  /** The newest line's cursor when the first page is shown ("" otherwise): where a live feed
   * starts so that it delivers exactly the lines after it. */
  newestCursor(): string {
    return this.pager.page === 1 ? (this.shown[0] ?? "") : "";
  }

  /** A live entry of the shown account: on top of the first page if it follows its newest line,
   * otherwise the first page is read again (other pages are left as they are). */
  addLive(accountId: string, entry: StatementEntry, previousCursor: string): void {
    const account = this.account;
    if (account?.id !== accountId) return;
    this.arrived.push({ entry, previousCursor });
    if (this.arrived.length > consoleLimits.liveRowsMax) {
      this.arrived = [];
      this.stale = true;
    }
    if (this.pager.page !== 1) return;
    const added = this.stale ? undefined : placeOnTop(this.shown, [{ entry, previousCursor }]);
    if (added === undefined || this.shown.length + added.length > consoleLimits.statementPageSize + consoleLimits.liveRowsMax) {
      // A read under way is answered with the arrived entries placed; otherwise read again.
      if (this.reads === 0) void this.pager.first();
      return;
    }
    const body = byId("statement-table").querySelector("tbody")!;
    for (const line of added) body.prepend(this.row(account, line));
    this.shown = [...added.map((e) => e.cursor).reverse(), ...this.shown];
    show("statement-empty", false);
  }

  /** The live feed may have missed entries (it started without a cursor): the first page, when
   * shown, is read again. */
  resync(): void {
    if (this.account && this.pager.page === 1) void this.pager.first();
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
    this.reads++;
    try {
      const res = await this.ctx.api.transactions.listTransactions({ accountId: account.id, pageSize: consoleLimits.statementPageSize, pageToken });
      return { nextPageToken: res.nextPageToken, render: () => this.render(account, res.entries, pageToken === "") };
    } catch (err) {
      setText("status", describeError(err, "load"));
      return undefined;
    } finally {
      this.reads--;
    }
  }

  private render(account: Account, entries: StatementEntry[], firstPage: boolean): void {
    if (this.account?.id !== account.id) return;
    // Entries that arrived while the first page was read: on top when they follow it. A page the
    // entries cannot be placed on with certainty is shown as read, and read again.
    const added = firstPage && !this.stale ? placeOnTop(entries.map((e) => e.cursor), this.arrived) : [];
    const again = firstPage && (added === undefined || this.stale);
    this.arrived = [];
    this.stale = false;
    const lines = [...(added ?? []).reverse(), ...entries];
    const body = emptyBody("statement-table");
    show("statement-actions-col", this.ctx.perms.may(TransactionService.method.reverseTransaction));
    for (const entry of lines) body.append(this.row(account, entry));
    this.shown = firstPage ? lines.map((e) => e.cursor) : [];
    show("statement-empty", lines.length === 0 && this.pager.page === 1);
    if (again) void this.pager.first();
  }

  private row(account: Account, entry: StatementEntry): HTMLTableRowElement {
    const mayReverse = this.ctx.perms.may(TransactionService.method.reverseTransaction);
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
    return tr;
  }
}
