// The accounts view's list: a customer's own accounts; for staff every account (or one
// person's), each with its owner, plus "find by number" and opening an account for someone.
import type { Account } from "../../gen/bank/v1/account_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import type { User } from "../../gen/bank/v1/user_pb";
import { AccountPanel } from "./account-panel";
import type { ConsoleContext } from "./context";
import { button, byId, cell, emptyBody, field, form, onSubmit, setText, show, submitting } from "./dom";
import { describeError } from "./errors";
import { detailRow, type DrawerField } from "./drawer";
import { accountStatusLabel, accountTypeLabel, formatTime } from "./format";
import { consoleLimits } from "./limits";
import { Pager } from "./pager";
import { bindSafeForm } from "./safe-form";
import type { KnownAccounts } from "./statement-lines";
import type { AccountsHost } from "./panel-host";

export class AccountsView implements KnownAccounts, AccountsHost {
  private accounts: Account[] = [];
  private ownerFilter: User | undefined;
  private readonly pager: Pager;
  readonly panel: AccountPanel;

  constructor(private readonly ctx: ConsoleContext) {
    this.pager = new Pager("accounts", (pageToken, pageSize) => this.loadPage(pageToken, pageSize), consoleLimits.accountsPageSize);
    this.panel = new AccountPanel(ctx, this);
    byId("accounts-filter-clear").addEventListener("click", () => void this.filterByOwner(undefined));
    onSubmit(form("lookup-form"), () => this.lookup());
    this.bindOpenAccount();
  }

  numberOf(accountId: string): string | undefined {
    if (this.panel.account?.id === accountId) return this.panel.account.number;
    return this.accounts.find((a) => a.id === accountId)?.number;
  }

  /** After sign-in: the forms the roles allow, and the first page. */
  async enter(): Promise<void> {
    const perms = this.ctx.perms;
    show("lookup-form", perms.may(AccountService.method.lookupAccount));
    show("accounts-owner-col", perms.isStaff);
    // Staff see the owner: type and available balance move to the drawer, so the table fits.
    show("accounts-type-col", !perms.isStaff);
    show("accounts-available-col", !perms.isStaff);
    this.renderHeading();
    await this.ctx.directory.ensure(perms, true);
    await this.pager.first();
  }

  reset(): void {
    this.accounts = [];
    this.ownerFilter = undefined;
    emptyBody("accounts-table");
    this.panel.reset();
  }

  /** Lists one person's accounts (or, undefined, everyone's) from the next load on. */
  setOwner(owner: User | undefined): void {
    this.ownerFilter = owner;
    this.renderHeading();
    // The rows shown belong to the old filter: never list them under the new heading.
    this.accounts = [];
    emptyBody("accounts-table");
    show("accounts-empty", false);
  }

  async filterByOwner(owner: User | undefined): Promise<void> {
    this.setOwner(owner);
    await this.pager.first();
  }

  reload(): Promise<void> {
    return this.pager.reload();
  }

  private renderHeading(): void {
    const staff = this.ctx.perms.isStaff;
    const owner = this.ownerFilter;
    setText("accounts-title", !staff ? "Your accounts" : owner ? `Accounts of ${owner.fullName}` : "All accounts");
    show("accounts-filter", staff && owner !== undefined);
    setText("accounts-filter-text", owner ? `Showing the accounts of ${owner.fullName} <${owner.email}>.` : "");
    // Staff open accounts for a customer they have found, never for nobody in particular.
    const mayOpen = this.ctx.perms.may(AccountService.method.createAccount) && (!staff || owner !== undefined);
    show("open-account-form", mayOpen);
    setText("open-account-title", staff && owner ? `Open an account for ${owner.fullName}` : "Open an account");
    setText("accounts-empty", staff && !owner ? "There are no accounts yet." : owner ? `${owner.fullName} has no accounts yet.` : "You have no accounts yet. Open one below.");
  }

  private async loadPage(pageToken: string, pageSize: number) {
    try {
      const res = await this.ctx.api.accounts.listAccounts({ ownerId: this.ownerFilter?.id ?? "", pageSize, pageToken });
      return {
        nextPageToken: res.nextPageToken,
        render: () => {
          this.accounts = res.accounts;
          this.render();
        },
      };
    } catch (err) {
      setText("status", describeError(err, "load"));
      return undefined;
    }
  }

  render(): void {
    const body = emptyBody("accounts-table");
    const staff = this.ctx.perms.isStaff;
    const selectedId = this.panel.account?.id;
    for (const account of this.accounts) {
      const tr = document.createElement("tr");
      tr.dataset.accountNumber = account.number;
      if (account.id === selectedId) tr.className = "selected";
      const name = account.displayName || accountTypeLabel(account.type);
      if (staff) tr.append(cell(this.ctx.directory.label(account.ownerId), "owner", "Owner"));
      tr.append(cell(name, "wrap", "Name"), cell(account.number, "mono", "Number"));
      if (!staff) tr.append(cell(accountTypeLabel(account.type), undefined, "Type"));
      tr.append(cell(accountStatusLabel(account.status), undefined, "Status"), cell(this.ctx.currencies.money(account.ledgerBalance), "num", "Balance"));
      if (!staff) tr.append(cell(this.ctx.currencies.money(account.availableBalance), "num", "Available"));
      const owner = staff ? ` of ${this.ctx.directory.get(account.ownerId)?.fullName ?? "another person"}` : "";
      const actions = document.createElement("td");
      actions.className = "actions";
      actions.append(button("View", `View ${name}${owner} (${account.number})`, () => void this.ctx.selectAccount(account)));
      tr.append(actions);
      detailRow(tr, "accounts-table", account.id, `${name}${owner} (${account.number})`, actions, () => this.details(account), this.ctx.drawer);
      body.append(tr);
    }
    show("accounts-empty", this.accounts.length === 0 && this.pager.page === 1);
  }

  /** Every field of a listed account, for the drawer. */
  private details(account: Account): { title: string; fields: DrawerField[] } {
    const money = (m: Account["ledgerBalance"]) => this.ctx.currencies.money(m);
    const owner = this.ctx.directory.get(account.ownerId);
    const fields: DrawerField[] = [];
    if (this.ctx.perms.isStaff) fields.push({ label: "Owner", value: owner ? `${owner.fullName} <${owner.email}>` : "Not known here" }, { label: "Owner id", value: account.ownerId, kind: "id" });
    fields.push(
      { label: "Name", value: account.displayName || accountTypeLabel(account.type) },
      { label: "Number", value: account.number, kind: "id" },
      { label: "Account id", value: account.id, kind: "id" },
      { label: "Type", value: accountTypeLabel(account.type) },
      { label: "Currency", value: account.currency },
      { label: "Status", value: accountStatusLabel(account.status) },
      { label: "Balance", value: money(account.ledgerBalance) },
      { label: "Available", value: money(account.availableBalance) },
      { label: "Held", value: money(account.held) },
      { label: "Overdraft limit", value: money(account.overdraftLimit) },
      { label: "Opened", value: formatTime(account.createTime) },
      { label: "Last changed", value: formatTime(account.updateTime) },
    );
    return { title: account.displayName || accountTypeLabel(account.type), fields };
  }

  /** Keeps the list's copy of an account current after the panel read it again. */
  updated(account: Account): void {
    const i = this.accounts.findIndex((a) => a.id === account.id);
    if (i >= 0) this.accounts[i] = account;
    this.render();
  }

  private async lookup(): Promise<void> {
    const target = form("lookup-form");
    await submitting(target, "lookup-error", async (data) => {
      const number = field(data, "number");
      if (number === "") return "Enter an account number.";
      try {
        const res = await this.ctx.api.accounts.lookupAccount({ number });
        if (!res.account) return "No account with that number was found.";
        target.reset();
        await this.ctx.selectAccount(res.account);
      } catch (err) {
        return describeError(err, "lookup");
      }
    });
  }

  private bindOpenAccount(): void {
    bindSafeForm(this.ctx.retries, {
      prefix: "open-account",
      method: "AccountService.CreateAccount",
      action: "open-account",
      build: (data) => {
        const displayName = field(data, "displayName");
        if (displayName === "") return "Give the account a name.";
        const type = field(data, "type") === "savings" ? AccountType.SAVINGS : AccountType.CHECKING;
        const owner = this.ctx.perms.isStaff ? this.ownerFilter : undefined;
        const request = { currency: field(data, "currency"), type, displayName, ownerId: owner?.id ?? "" };
        return { request, what: `opening of ${displayName}${owner ? ` for ${owner.fullName}` : ""}` };
      },
      send: (request, requestId) => this.ctx.api.accounts.createAccount({ ...request, requestId }),
      done: async (res, request) => {
        if (res.account) await this.ctx.selectAccount(res.account);
        await this.pager.first();
        return `Opened ${request.displayName}, number ${res.account?.number ?? ""}.`;
      },
    });
  }
}
