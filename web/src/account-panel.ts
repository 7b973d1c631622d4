// One account: its facts and daily limits, the forms the person's roles allow on it in its
// current state (money movements, holds, freeze, overdraft, limits, close, reversal), and its
// statement, kept current by a live feed (WatchAccount). A form the caller cannot use is not shown.
// A freeze, unfreeze or close made elsewhere (a teller, another tab) arrives on the feed (issue 28):
// the status and the forms follow at once, with a visible notice of the change.
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountStatus, type Account, type AccountLimits } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import type { Transaction } from "../../gen/bank/v1/transaction_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import type { AccountsHost, PanelHost } from "./panel-host";
import type { ConsoleContext } from "./context";
import { byId, show, setText } from "./dom";
import { describeError } from "./errors";
import { accountStatusLabel, accountTypeLabel, dailyLimitText, formatTime, type MoneyLike } from "./format";
import { AccountForms } from "./account-forms";
import { LiveFeed } from "./live-feed";
import { MoneyForms } from "./money-forms";
import { StatementView } from "./statement-view";

export class AccountPanel implements PanelHost {
  account: Account | undefined;
  holds: Transaction[] = [];
  readonly statement: StatementView;
  readonly live: LiveFeed;
  private factsReading: Promise<void> | undefined;
  private factsAgain = false;

  constructor(private readonly ctx: ConsoleContext, private readonly list: AccountsHost) {
    this.statement = new StatementView(ctx, list, (id) => this.pickForReversal(id));
    this.live = new LiveFeed(ctx, {
      entry: (accountId, entry, previousCursor) => {
        this.statement.addLive(accountId, entry, previousCursor);
        this.refreshFacts(accountId);
      },
      resync: (accountId) => {
        this.statement.resync();
        this.refreshFacts(accountId);
      },
      account: (accountId, account) => this.reported(accountId, account),
    }, list);
    new MoneyForms(ctx, this);
    new AccountForms(ctx, this);
  }

  get name(): string {
    const a = this.account;
    return a ? a.displayName || accountTypeLabel(a.type) : "";
  }

  /** Shows `account` and reads it, its statement and its holds afresh. */
  async show(account: Account): Promise<void> {
    const changed = this.account?.id !== account.id;
    this.account = account;
    if (changed) {
      this.holds = [];
      setText("account-status-news", "");
    }
    byId("account-panel").hidden = false;
    this.render();
    await this.refresh();
  }

  reset(): void {
    this.account = undefined;
    this.holds = [];
    this.live.stop();
    byId("account-panel").hidden = true;
    this.statement.reset();
  }

  /** Reads the account, its statement and its pending holds again (after anything changed), and
   * follows it live from the newest line shown. */
  async refresh(): Promise<void> {
    const current = this.account;
    if (!current) return;
    await this.readFacts(current.id);
    const account = this.account;
    if (account?.id !== current.id) return;
    await this.statement.first(account);
    if (this.account?.id === current.id) this.live.follow(current.id, this.statement.newestCursor());
  }

  /** Balances, status and holds again after a live entry; one read at a time, and one more if
   * entries came while it ran. */
  private refreshFacts(accountId: string): void {
    if (this.factsReading) {
      this.factsAgain = true;
      return;
    }
    this.factsReading = (async () => {
      do {
        this.factsAgain = false;
        await this.readFacts(accountId);
      } while (this.factsAgain && this.account?.id === accountId);
    })().finally(() => (this.factsReading = undefined));
  }

  /** The account as the live feed reports it: shown at once; a status other than the one shown
   * (a freeze, an unfreeze or a close made elsewhere) is announced, and the holds read again. */
  private reported(accountId: string, account: Account): void {
    const shown = this.account;
    if (shown?.id !== accountId || isOlder(account, shown)) return;
    this.account = account;
    this.render();
    this.list.updated(account);
    if (account.status === shown.status) return;
    setText("account-status-news", statusNews(account));
    this.refreshFacts(accountId);
  }

  private async readFacts(accountId: string): Promise<void> {
    try {
      const [res, holds] = await Promise.all([this.ctx.api.accounts.getAccount({ accountId }), this.loadHolds(accountId)]);
      if (this.account?.id !== accountId || !res.account) return;
      // A read that started before a change the feed already showed must not undo it.
      if (isOlder(res.account, this.account)) return;
      this.account = res.account;
      this.holds = holds;
      this.render();
      this.list.updated(res.account);
    } catch (err) {
      setText("status", describeError(err, "load"));
    }
  }

  /** Applies an account a mutation answered with (freeze, overdraft...), then refreshes. */
  async replaced(account: Account | undefined): Promise<void> {
    if (account && account.id === this.account?.id) {
      // The person's own change: an earlier notice of someone else's no longer holds.
      if (account.status !== this.account.status) setText("account-status-news", "");
      this.account = account;
      this.render();
    }
    await this.ctx.accountChanged();
  }

  private loadHolds(accountId: string): Promise<Transaction[]> {
    const perms = this.ctx.perms;
    if (!perms.may(TransactionService.method.captureHold) && !perms.may(TransactionService.method.releaseHold)) return Promise.resolve([]);
    return this.statement.pendingHolds(accountId);
  }

  private pickForReversal(transactionId: string): void {
    const input = byId<HTMLInputElement>("reverse-transaction");
    input.value = transactionId;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    byId("reverse-reason").focus();
  }

  render(): void {
    const a = this.account;
    if (!a) return;
    const money = (m: MoneyLike | undefined) => this.ctx.currencies.money(m);
    setText("account-title", `${this.name} (${a.currency})`);
    setText("account-number", a.number);
    show("account-owner-fact", this.ctx.perms.isStaff);
    setText("account-owner", this.ctx.directory.label(a.ownerId));
    setText("account-balance", money(a.ledgerBalance));
    setText("account-available", money(a.availableBalance));
    setText("account-held", money(a.held) || money({ currency: a.currency, minorUnits: 0n }));
    setText("account-overdraft", money(a.overdraftLimit) || money({ currency: a.currency, minorUnits: 0n }));
    setText("account-status", accountStatusLabel(a.status));
    this.renderLimits(a.limits);
    this.renderForms(a);
  }

  private renderLimits(limits: AccountLimits | undefined): void {
    // Servers without daily limits send no Account.limits: the section is left out entirely.
    show("account-limits", limits !== undefined);
    if (!limits) return;
    const list = byId("account-limits-list");
    list.replaceChildren();
    for (const [label, limit] of [["Deposits", limits.deposit], ["Withdrawals", limits.withdrawal], ["Transfers out", limits.transferOut]] as const) {
      const div = document.createElement("div");
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = dailyLimitText(limit, this.ctx.currencies);
      div.append(dt, dd);
      list.append(div);
    }
    setText("account-limits-reset", limits.resetTime ? `Today's use starts again at ${formatTime(limits.resetTime)} (midnight UTC).` : "");
  }

  private renderForms(a: Account): void {
    const p = this.ctx.perms;
    const T = TransactionService.method;
    const A = AccountService.method;
    const active = a.status === AccountStatus.ACTIVE;
    const closed = a.status === AccountStatus.CLOSED;
    const mayCapture = active && p.may(T.captureHold);
    const mayRelease = active && p.may(T.releaseHold);
    show("deposit-form", active && p.may(T.deposit));
    show("withdraw-form", active && p.may(T.withdraw));
    show("transfer-form", active && p.may(T.transfer));
    show("hold-form", active && p.may(T.createHold));
    show("capture-form", mayCapture && this.holds.length > 0);
    show("release-form", mayRelease && this.holds.length > 0);
    show("holds-empty", (mayCapture || mayRelease) && this.holds.length === 0);
    const mayFreeze = active && p.may(A.freezeAccount);
    const mayUnfreeze = a.status === AccountStatus.FROZEN && p.may(A.unfreezeAccount);
    show("account-status-form", mayFreeze || mayUnfreeze);
    setText("account-status-title", mayUnfreeze ? "Unfreeze the account" : "Freeze the account");
    setText("account-status-submit", mayUnfreeze ? "Unfreeze" : "Freeze");
    // overdraft_limit is admin-only inside UpdateAccount (which owners may call for the name):
    // a field rule the method's access option cannot express, stated in account_service.proto.
    show("overdraft-form", !closed && p.may(A.updateAccount) && p.has(Role.ADMIN));
    // Shown only where the server reports limits (Account.limits), so it can act on them.
    show("limits-form", !closed && p.may(A.setAccountLimits) && a.limits !== undefined);
    // A frozen account cannot be closed (FAILED_PRECONDITION ACCOUNT_FROZEN): no form for it.
    show("close-form", active && p.may(A.closeAccount));
    show("reverse-form", p.may(T.reverseTransaction));
    const note = a.status === AccountStatus.FROZEN ? "This account is frozen: no money moves in or out until it is unfrozen." : closed ? "This account is closed: no money moves in or out." : "";
    setText("account-frozen-note", note);
    show("account-frozen-note", note !== "");
    const name = this.name;
    setText("deposit-title", `Deposit into ${name}`);
    setText("withdraw-title", `Withdraw from ${name}`);
    setText("transfer-title", `Transfer from ${name}`);
    this.renderHoldChoices();
  }

  private renderHoldChoices(): void {
    for (const id of ["capture-hold", "release-hold"]) {
      const select = byId<HTMLSelectElement>(id);
      const previous = select.value;
      select.replaceChildren();
      for (const hold of this.holds) {
        const label = `${hold.description || "Hold"}: ${this.ctx.currencies.money(hold.amount)}, ${formatTime(hold.createTime)}`;
        select.add(new Option(label, hold.id, false, hold.id === previous));
      }
    }
  }
}

/** Whether `a` is an older state of the account than `b` (update_time never goes backwards). */
function isOlder(a: Account, b: Account): boolean {
  const at = a.updateTime;
  const bt = b.updateTime;
  if (!at || !bt) return false;
  return at.seconds < bt.seconds || (at.seconds === bt.seconds && at.nanos < bt.nanos);
}

/** The notice shown when the feed reports a status change made elsewhere. */
function statusNews(account: Account): string {
  const when = formatTime(account.updateTime);
  switch (account.status) {
    case AccountStatus.FROZEN:
      return `This account was frozen (${when}): no money can move in or out until it is unfrozen.`;
    case AccountStatus.ACTIVE:
      return `This account was unfrozen (${when}): money can move again.`;
    case AccountStatus.CLOSED:
      return `This account was closed (${when}).`;
    default:
      return "";
  }
}
