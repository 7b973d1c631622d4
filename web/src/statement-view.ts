// An account's statement, newest first and paged: each line with the other party, the amount,
// the balance after it and the transaction id; holds show as pending. An admin gets "Reverse" on
// the lines that can be reversed. Live entries (WatchAccount) are added on top of the first page
// when they follow its newest line; when that is not certain, the page is read again. From/To
// dates narrow the statement to whole days (then live entries go on top only when the dates
// hold them), and "Download CSV" saves every line of those dates (statement-csv.ts).
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Account } from "../../gen/bank/v1/account_pb";
import type { StatementEntry, Transaction } from "../../gen/bank/v1/transaction_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { TransactionStatus, TransactionType } from "../../gen/bank/v1/transaction_pb";
import type { ConsoleContext } from "./context";
import { button, byId, cell, emptyBody, field, form, onSubmit, setText, show, submitting } from "./dom";
import { describeError } from "./errors";
import { dayRange } from "./format";
import { consoleLimits } from "./limits";
import { placeOnTop, withinDates, type ArrivedEntry } from "./live-lines";
import { Pager } from "./pager";
import { readWholeStatement, statementCsv } from "./statement-csv";
import { statementLine, type KnownAccounts } from "./statement-lines";

/** The dates the statement is narrowed to (request bounds in ms; undefined = no bound), and the
 * form's values they came from (for the CSV file's name). */
interface StatementRange {
  startMs: number | undefined;
  endMs: number | undefined;
  from: string;
  to: string;
}

const ALL_DATES: StatementRange = { startMs: undefined, endMs: undefined, from: "", to: "" };

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
  private range: StatementRange = ALL_DATES;
  private exporting = false;

  constructor(
    private readonly ctx: ConsoleContext,
    private readonly known: KnownAccounts,
    private readonly onReverse: (transactionId: string) => void,
  ) {
    this.pager = new Pager("statement", (pageToken, pageSize) => this.loadPage(pageToken, pageSize), consoleLimits.statementPageSize);
    const rangeForm = form("statement-range-form");
    onSubmit(rangeForm, () => this.applyRange());
    rangeForm.addEventListener("reset", () => {
      byId("statement-range-error").textContent = "";
      if (this.range === ALL_DATES) return;
      this.range = ALL_DATES;
      if (this.account) void this.pager.first();
    });
    byId("statement-csv").addEventListener("click", () => void this.exportCsv());
  }

  /** Shows the newest page of `account`'s statement. */
  first(account: Account): Promise<void> {
    if (this.account?.id !== account.id) {
      this.shown = [];
      this.arrived = [];
      this.stale = false;
      // Another account's rows are not shown while this one's are read.
      emptyBody("statement-table");
      show("statement-empty", false);
    }
    setText("statement-export", "");
    this.account = account;
    return this.pager.first();
  }

  reset(): void {
    this.account = undefined;
    this.shown = [];
    this.arrived = [];
    this.stale = false;
    this.range = ALL_DATES;
    form("statement-range-form").reset();
    setText("statement-export", "");
    emptyBody("statement-table");
  }

  /** The newest line's cursor when the first page is shown ("" otherwise): where a live feed
   * starts so that it delivers exactly the lines after it. */
  newestCursor(): string {
    return this.pager.page === 1 && this.newestShownIsNewest() ? (this.shown[0] ?? "") : "";
  }

  /** The first page's newest line is the account's newest: no end date, and no start date still
   * to come. (With an end date the newest line shown may be long past, and a feed started after
   * it would bring every later line as news; so, even for an end date still to come, judged by a
   * browser clock that is not the server's, the feed starts from now and the page is read once
   * more.) */
  private newestShownIsNewest(): boolean {
    const { startMs, endMs } = this.range;
    return endMs === undefined && (startMs === undefined || startMs <= Date.now());
  }

  /** A live entry belongs on the statement only when the dates shown hold it (its create_time,
   * compared as the server compares it): one after the To date, or before the From date, is
   * neither put on top nor a reason to read the page again. */
  private liveGoesOnTop(entry: StatementEntry): boolean {
    const created = entry.transaction?.createTime;
    return withinDates(created ? timestampDate(created).getTime() : undefined, this.range.startMs, this.range.endMs);
  }

  /** A live entry of the shown account: on top of the first page if it follows its newest line,
   * otherwise the first page is read again (other pages are left as they are). */
  addLive(accountId: string, entry: StatementEntry, previousCursor: string): void {
    const account = this.account;
    if (account?.id !== accountId) return;
    if (!this.liveGoesOnTop(entry)) return;
    this.arrived.push({ entry, previousCursor });
    if (this.arrived.length > consoleLimits.liveRowsMax) {
      this.arrived = [];
      this.stale = true;
    }
    if (this.pager.page !== 1) return;
    const added = this.stale ? undefined : placeOnTop(this.shown, [{ entry, previousCursor }]);
    if (added === undefined || this.shown.length + added.length > this.pager.pageSize + consoleLimits.liveRowsMax) {
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

  /** The statement's dates from the form: refused in words (no request) when To is before From. */
  private async applyRange(): Promise<void> {
    await submitting(form("statement-range-form"), "statement-range-error", async (data) => {
      const range = this.readRange(data);
      if ("problem" in range) return range.problem;
      this.range = range;
      setText("statement-export", "");
      if (this.account) await this.pager.first();
    });
  }

  private readRange(data: FormData): StatementRange | { problem: string } {
    const from = field(data, "from");
    const to = field(data, "to");
    const range = dayRange(from, to);
    if ("problem" in range) return range;
    const same = this.range.from === from && this.range.to === to;
    return same ? this.range : { ...range, from, to };
  }

  private bounds(range: StatementRange) {
    return {
      startTime: range.startMs === undefined ? undefined : timestampFromMs(range.startMs),
      endTime: range.endMs === undefined ? undefined : timestampFromMs(range.endMs),
    };
  }

  /** Every line of the dates in the form (applied to the view first if they changed), read at
   * the server's largest page size, up to consoleLimits.statementExportRowsMax lines, saved as
   * a CSV file. */
  private async exportCsv(): Promise<void> {
    const account = this.account;
    if (!account || this.exporting) return;
    const rangeForm = form("statement-range-form");
    const range = this.readRange(new FormData(rangeForm));
    clearFormErrors();
    if ("problem" in range) {
      setText("statement-range-error", range.problem);
      return;
    }
    if (range !== this.range) {
      this.range = range;
      void this.pager.first();
    }
    const csvButton = byId<HTMLButtonElement>("statement-csv");
    this.exporting = true;
    csvButton.disabled = true;
    setExport("Reading the statement for the CSV file…", false);
    try {
      const { entries, capped } = await readWholeStatement(
        async (pageToken, pageSize) => {
          const res = await this.ctx.api.transactions.listTransactions({ accountId: account.id, ...this.bounds(range), pageSize, pageToken });
          return { entries: res.entries, nextPageToken: res.nextPageToken };
        },
        consoleLimits.statementExportRowsMax,
        consoleLimits.statementPageSizeMax,
      );
      if (this.account?.id !== account.id) return setExport("", false);
      const name = `statement-${account.number.replace(/\s/g, "")}-${range.from || "start"}-to-${range.to || "now"}.csv`;
      download(name, statementCsv(entries, (currency) => this.ctx.currencies.exponent(currency)));
      const lines = entries.length === 1 ? "1 line" : `${entries.length.toLocaleString()} lines`;
      if (capped) {
        setExport(`Saved ${name} with the newest ${lines} only: a CSV file holds at most ${consoleLimits.statementExportRowsMax.toLocaleString()} lines, and these dates have more. Choose fewer days for the rest.`, true);
      } else {
        setExport(`Saved ${name} (${lines}).`, false);
      }
    } catch (err) {
      setExport(`No CSV file: ${describeError(err, "load")}`, true);
    } finally {
      this.exporting = false;
      csvButton.disabled = false;
    }
  }

  private async loadPage(pageToken: string, pageSize: number) {
    const account = this.account;
    if (!account) return undefined;
    this.reads++;
    try {
      const res = await this.ctx.api.transactions.listTransactions({ accountId: account.id, ...this.bounds(this.range), pageSize, pageToken });
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
    // (Entries that came under other dates are held to these.)
    const arrived = this.arrived.filter((a) => this.liveGoesOnTop(a.entry));
    const added = firstPage && !this.stale ? placeOnTop(entries.map((e) => e.cursor), arrived) : [];
    const again = firstPage && (added === undefined || this.stale);
    this.arrived = [];
    this.stale = false;
    const lines = [...(added ?? []).reverse(), ...entries];
    const body = emptyBody("statement-table");
    show("statement-actions-col", this.ctx.perms.may(TransactionService.method.reverseTransaction));
    for (const entry of lines) body.append(this.row(account, entry));
    this.shown = firstPage ? lines.map((e) => e.cursor) : [];
    setText("statement-empty", this.range === ALL_DATES ? "No transactions yet." : "No transactions on these dates.");
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

/** The export's outcome under the statement; `warn` for what the person must act on. */
function setExport(text: string, warn: boolean): void {
  const line = byId("statement-export");
  line.textContent = text;
  line.className = warn ? "notice" : "hint";
}

function clearFormErrors(): void {
  byId("statement-range-error").textContent = "";
}

/** Saves `text` as a file named `name` (a blob: link clicked; the browser's download). */
function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken the data by then; the URL is released.
  setTimeout(() => URL.revokeObjectURL(url), consoleLimits.downloadUrlLifetimeMs);
}
