// The account panel's live feed: at most one WatchAccount stream, for the account shown, with a
// small indicator of its state ("Live", "Reconnecting in 2 s", "Paused" with a Reconnect button)
// and a polite announcement of each new entry for screen readers. The stream stops when the
// account is closed in the console, another view is opened, or the person signs out.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Account } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import type { StatementEntry } from "../../gen/bank/v1/transaction_pb";
import type { ConsoleContext } from "./context";
import { byId, setText, show } from "./dom";
import { describeError, isNetworkError } from "./errors";
import { formatWait } from "./format";
import { endsTheFeed, LiveWatch, type LiveDetail, type LiveState } from "./live-watch";
import { statementLine, type KnownAccounts } from "./statement-lines";

/** Where the feed's news goes: the statement and the balances of the account shown. */
export interface LiveSink {
  entry(accountId: string, entry: StatementEntry, previousCursor: string): void;
  /** Entries may have been missed (a stream started without a cursor): read again. */
  resync(accountId: string): void;
  /** The account as the stream reports it (its first message, and after a status change). */
  account(accountId: string, account: Account): void;
}

export class LiveFeed {
  private watch: LiveWatch | undefined;
  private accountId = "";
  /** Where a paused feed resumes (another view was opened meanwhile). */
  private pausedCursor: string | undefined;

  constructor(
    private readonly ctx: ConsoleContext,
    private readonly sink: LiveSink,
    private readonly known: KnownAccounts,
  ) {
    byId("live-reconnect").addEventListener("click", () => this.restart());
    // Back online: no need to wait out the back-off.
    window.addEventListener("online", () => this.watch?.reconnectNow());
  }

  /** Follows `accountId` from `cursor` ("" = from now), unless the feed already does. */
  follow(accountId: string, cursor: string): void {
    if (this.watch?.running && this.accountId === accountId) return;
    this.stop();
    if (!this.ctx.perms.may(AccountService.method.watchAccount)) return;
    this.accountId = accountId;
    const watch = new LiveWatch((startAfter, signal) => this.ctx.api.accounts.watchAccount({ accountId, startAfter }, { signal }), cursor, {
      entry: (entry, previousCursor) => {
        if (this.watch !== watch) return;
        this.sink.entry(accountId, entry, previousCursor);
        this.announce(accountId, entry);
      },
      resync: () => void (this.watch === watch && this.sink.resync(accountId)),
      account: (account) => void (this.watch === watch && account.id === accountId && this.sink.account(accountId, account)),
      state: (state, detail) => void (this.watch === watch && this.render(state, detail)),
    });
    this.watch = watch;
    watch.start();
  }

  /** Ends the feed and hides the indicator (the account is no longer shown, or sign-out). */
  stop(): void {
    const watch = this.watch;
    this.watch = undefined;
    this.pausedCursor = undefined;
    watch?.stop();
    show("live-indicator", false);
    setText("live-announce", "");
  }

  /** Another view is opened: the stream stops, and resume() continues where it was. */
  pause(): void {
    const watch = this.watch;
    if (!watch?.running) return;
    const cursor = watch.lastCursor;
    this.stop();
    this.pausedCursor = cursor;
  }

  resume(): void {
    const cursor = this.pausedCursor;
    if (cursor === undefined || this.accountId === "") return;
    this.follow(this.accountId, cursor);
  }

  /** After the feed gave up (too many failed reconnects): start again from where it was. */
  private restart(): void {
    const watch = this.watch;
    if (!watch || watch.running) return;
    this.watch = undefined;
    this.follow(this.accountId, watch.lastCursor);
  }

  private render(state: LiveState, detail: LiveDetail): void {
    byId("live-indicator").dataset.state = state;
    show("live-indicator", state !== "stopped" || detail.gaveUp === true || detail.closed === true);
    // A refusal another stream would only repeat is not offered again.
    show("live-reconnect", state === "stopped" && !detail.closed && !endsTheFeed(detail.error));
    setText("live-text", liveText(state, detail));
  }

  private announce(accountId: string, entry: StatementEntry): void {
    const line = statementLine(entry, accountId, this.ctx.currencies, this.known);
    setText("live-announce", `New entry: ${line.description}, ${line.amount}; balance ${line.balance}.`);
  }
}

function liveText(state: LiveState, detail: LiveDetail): string {
  switch (state) {
    case "connecting":
      return "Connecting for live updates…";
    case "live":
      return "Live: new entries appear as money moves.";
    case "waiting":
      return `Live updates interrupted; reconnecting in ${formatWait(detail.retryInMs ?? 0)}.`;
    case "stopped":
      return detail.closed ? "Live updates ended: the account is closed." : `Live updates paused. ${whyStopped(detail.error)}`;
  }
}

function whyStopped(error: unknown): string {
  // Streams that kept dropping (network, silence) say so; refusals say what the server said.
  if (error === undefined || isNetworkError(error) || (error instanceof ConnectError && error.code === Code.Canceled)) return "The connection to the bank keeps dropping.";
  return describeError(error, "load");
}
