// The console: signed-out view (sign in, sign up) and signed-in view (accounts, an account's
// deposit/transfer forms and statement, sessions). State lives in this object only.
import type { Account } from "../../gen/bank/v1/account_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import type { User } from "../../gen/bank/v1/user_pb";
import { createApi, tokenSet, type Api } from "./api";
import { byId, button, cell, field, onSubmit, setText, submitting } from "./dom";
import { describeError } from "./errors";
import { accountStatusLabel, accountTypeLabel, deviceLabel, formatTime, transactionTypeLabel, type Currencies } from "./format";
import { consoleLimits } from "./limits";
import { parseAmount } from "./money";
import { withRequestId } from "./request-id";

export class BankConsole {
  private readonly api: Api;
  private user: User | undefined;
  private accounts: Account[] = [];
  private selected: Account | undefined;
  /** Page tokens of the statement pages seen so far; [0] is the first page (""). */
  private statementTokens: string[] = [""];
  private statementNext = "";

  constructor(baseUrl: string, private readonly currencies: Currencies) {
    this.api = createApi(baseUrl, (err) => this.sessionEnded(err));
  }

  start(): void {
    onSubmit(byId<HTMLFormElement>("sign-in-form"), () => this.signIn());
    onSubmit(byId<HTMLFormElement>("sign-up-form"), () => this.signUp());
    onSubmit(byId<HTMLFormElement>("open-account-form"), () => this.openAccount());
    onSubmit(byId<HTMLFormElement>("deposit-form"), () => this.deposit());
    onSubmit(byId<HTMLFormElement>("transfer-form"), () => this.transfer());
    byId("sign-out").addEventListener("click", () => void this.signOut());
    byId("statement-next").addEventListener("click", () => void this.statementPage(this.statementTokens.length));
    byId("statement-first").addEventListener("click", () => void this.statementPage(0));
    const currency = byId<HTMLSelectElement>("open-account-currency");
    for (const code of this.currencies.codes()) currency.add(new Option(code, code, code === "USD", code === "USD"));
    this.showSignedOut("");
  }

  // --- Signing in and out ------------------------------------------------------------------

  private async signIn(): Promise<void> {
    const form = byId<HTMLFormElement>("sign-in-form");
    await submitting(form, "sign-in-error", async (data) => {
      try {
        await this.login(field(data, "email"), field(data, "password", true));
        form.reset();
      } catch (err) {
        return describeError(err, "sign-in");
      }
    });
  }

  private async signUp(): Promise<void> {
    const form = byId<HTMLFormElement>("sign-up-form");
    await submitting(form, "sign-up-error", async (data) => {
      const email = field(data, "email");
      const password = field(data, "password", true);
      try {
        await this.api.auth.register({ email, password, fullName: field(data, "fullName") });
      } catch (err) {
        return describeError(err, "sign-up");
      }
      try {
        await this.login(email, password);
        form.reset();
      } catch (err) {
        return describeError(err, "sign-in");
      }
    });
  }

  private async login(email: string, password: string): Promise<void> {
    const res = await this.api.auth.login({ email, password });
    this.api.session.start(tokenSet(res));
    this.user = res.user;
    await this.showSignedIn();
  }

  private async signOut(): Promise<void> {
    const refreshToken = this.api.session.refreshToken;
    try {
      await this.api.auth.logout({ refreshToken });
    } catch {
      // Signing out locally still forgets the tokens; the session expires on the server.
    }
    this.api.session.clear();
    this.showSignedOut("You have signed out.");
  }

  private sessionEnded(err: unknown): void {
    this.showSignedOut(describeError(err, "refresh"));
  }

  private showSignedOut(message: string): void {
    this.user = undefined;
    this.accounts = [];
    this.selected = undefined;
    byId("signed-in").hidden = true;
    byId("who").hidden = true;
    byId("account-panel").hidden = true;
    byId("signed-out").hidden = false;
    setText("status", message);
    byId("sign-in-email").focus();
  }

  private async showSignedIn(): Promise<void> {
    setText("who-name", this.user ? `${this.user.fullName} (${this.user.email})` : "");
    setText("status", "");
    byId("signed-out").hidden = true;
    byId("who").hidden = false;
    byId("signed-in").hidden = false;
    await Promise.all([this.loadAccounts(), this.loadSessions()]);
    byId("main").focus();
  }

  // --- Accounts ----------------------------------------------------------------------------

  private async loadAccounts(): Promise<void> {
    try {
      const res = await this.api.accounts.listAccounts({ pageSize: consoleLimits.accountsPageSize });
      this.accounts = res.accounts;
      if (this.selected) this.selected = this.accounts.find((a) => a.id === this.selected!.id) ?? this.selected;
      this.renderAccounts();
    } catch (err) {
      setText("status", describeError(err, "load"));
    }
  }

  private renderAccounts(): void {
    const body = byId("accounts-table").querySelector("tbody")!;
    body.replaceChildren();
    for (const account of this.accounts) {
      const tr = document.createElement("tr");
      tr.dataset.accountNumber = account.number;
      if (account.id === this.selected?.id) tr.className = "selected";
      const name = account.displayName || accountTypeLabel(account.type);
      tr.append(
        cell(name),
        cell(account.number, "mono"),
        cell(accountTypeLabel(account.type)),
        cell(accountStatusLabel(account.status)),
        cell(this.currencies.money(account.ledgerBalance), "num"),
        cell(this.currencies.money(account.availableBalance), "num"),
      );
      const actions = document.createElement("td");
      actions.append(button("View", `View ${name} (${account.number})`, () => void this.select(account)));
      tr.append(actions);
      body.append(tr);
    }
    byId("accounts-empty").hidden = this.accounts.length > 0;
    if (this.selected) this.renderSelected(this.selected);
  }

  private async openAccount(): Promise<void> {
    const form = byId<HTMLFormElement>("open-account-form");
    await submitting(form, "open-account-error", async (data) => {
      const displayName = field(data, "displayName");
      if (displayName === "") return "Give the account a name.";
      const type = field(data, "type") === "savings" ? AccountType.SAVINGS : AccountType.CHECKING;
      try {
        const res = await withRequestId((requestId) => this.api.accounts.createAccount({ requestId, currency: field(data, "currency"), type, displayName }));
        form.reset();
        setText("status", `Opened ${displayName}, number ${res.account?.number ?? ""}.`);
        if (res.account) await this.select(res.account);
        else await this.loadAccounts();
      } catch (err) {
        return describeError(err, "open-account");
      }
    });
  }

  private async select(account: Account): Promise<void> {
    this.selected = account;
    this.renderAccounts();
    byId("account-panel").hidden = false;
    // Viewing an account shows it as it is now: fresh balances and the newest statement page.
    await Promise.all([this.loadAccounts(), this.statementPage(0)]);
  }

  private renderSelected(account: Account): void {
    const name = account.displayName || accountTypeLabel(account.type);
    setText("account-title", `${name} (${account.currency})`);
    setText("account-number", account.number);
    setText("account-balance", this.currencies.money(account.ledgerBalance));
    setText("account-available", this.currencies.money(account.availableBalance));
    setText("account-status", accountStatusLabel(account.status));
    setText("deposit-title", `Deposit into ${name}`);
    setText("transfer-title", `Transfer from ${name}`);
  }

  // --- Money -------------------------------------------------------------------------------

  private async deposit(): Promise<void> {
    const form = byId<HTMLFormElement>("deposit-form");
    await this.moveMoney(form, "deposit-error", "deposit", async (account, amount, description) => {
      await withRequestId((requestId) => this.api.transactions.deposit({ requestId, accountId: account.id, amount, description }));
      return `Deposited ${this.currencies.money(amount)}.`;
    });
  }

  private async transfer(): Promise<void> {
    const form = byId<HTMLFormElement>("transfer-form");
    await this.moveMoney(form, "transfer-error", "transfer", async (account, amount, description, data) => {
      const toAccountNumber = field(data, "toAccountNumber");
      if (toAccountNumber === "") throw new PlainError("Enter the account number to pay.");
      await withRequestId((requestId) =>
        this.api.transactions.transfer({ requestId, fromAccountId: account.id, target: { case: "toAccountNumber", value: toAccountNumber }, amount, description }),
      );
      return `Transferred ${this.currencies.money(amount)} to ${toAccountNumber}.`;
    });
  }

  /** Shared by deposit and transfer: parse the amount exactly, send, then refresh the views. */
  private async moveMoney(
    form: HTMLFormElement,
    errorId: string,
    action: "deposit" | "transfer",
    send: (account: Account, amount: { currency: string; minorUnits: bigint }, description: string, data: FormData) => Promise<string>,
  ): Promise<void> {
    const account = this.selected;
    if (!account) return;
    await submitting(form, errorId, async (data) => {
      const parsed = parseAmount(field(data, "amount"), account.currency, this.currencies.exponent(account.currency));
      if (!parsed.ok) return parsed.message;
      try {
        const done = await send(account, { currency: account.currency, minorUnits: parsed.minor }, field(data, "description"), data);
        form.reset();
        setText("status", done);
      } catch (err) {
        return err instanceof PlainError ? err.message : describeError(err, action);
      }
      await this.loadAccounts();
      await this.statementPage(0);
    });
  }

  // --- Statement ---------------------------------------------------------------------------

  /** Shows statement page `index`: 0 is the newest; the next page follows the last token. */
  private async statementPage(index: number): Promise<void> {
    const account = this.selected;
    if (!account) return;
    if (index === 0) this.statementTokens = [""];
    else this.statementTokens.push(this.statementNext);
    const pageToken = this.statementTokens[this.statementTokens.length - 1]!;
    try {
      const res = await this.api.transactions.listTransactions({ accountId: account.id, pageSize: consoleLimits.statementPageSize, pageToken });
      this.statementNext = res.nextPageToken;
      this.renderStatement(res.entries);
    } catch (err) {
      if (index > 0) this.statementTokens.pop();
      setText("status", describeError(err, "load"));
    }
  }

  private renderStatement(entries: Awaited<ReturnType<Api["transactions"]["listTransactions"]>>["entries"]): void {
    const body = byId("statement-table").querySelector("tbody")!;
    body.replaceChildren();
    for (const entry of entries) {
      const tx = entry.transaction;
      const credit = (entry.amount?.minorUnits ?? 0n) > 0n;
      const tr = document.createElement("tr");
      tr.append(
        cell(formatTime(tx?.createTime)),
        cell(tx?.description || transactionTypeLabel(tx?.type ?? 0)),
        cell(transactionTypeLabel(tx?.type ?? 0)),
        cell(this.currencies.signed(entry.amount), credit ? "num credit" : "num debit"),
        cell(this.currencies.money(entry.balanceAfter), "num"),
      );
      body.append(tr);
    }
    byId("statement-empty").hidden = entries.length > 0 || this.statementTokens.length > 1;
    setText("statement-page", `Page ${this.statementTokens.length}`);
    byId<HTMLButtonElement>("statement-next").disabled = this.statementNext === "";
    byId<HTMLButtonElement>("statement-first").disabled = this.statementTokens.length === 1;
  }

  // --- Sessions ----------------------------------------------------------------------------

  private async loadSessions(): Promise<void> {
    setText("sessions-error", "");
    try {
      const res = await this.api.auth.listSessions({ pageSize: consoleLimits.sessionsPageSize });
      const body = byId("sessions-table").querySelector("tbody")!;
      body.replaceChildren();
      for (const s of res.sessions) {
        const tr = document.createElement("tr");
        const device = deviceLabel(s.userAgent);
        tr.append(cell(formatTime(s.createTime)), cell(formatTime(s.lastUsedTime)), cell(device));
        const actions = document.createElement("td");
        if (s.current) actions.textContent = "This session";
        else actions.append(button("Revoke", `Revoke the session of ${device} signed in ${formatTime(s.createTime)}`, () => void this.revoke(s.id)));
        tr.append(actions);
        body.append(tr);
      }
    } catch (err) {
      setText("sessions-error", describeError(err, "load"));
    }
  }

  private async revoke(sessionId: string): Promise<void> {
    try {
      await this.api.auth.revokeSession({ sessionId });
      setText("status", "The session was revoked.");
    } catch (err) {
      setText("sessions-error", describeError(err, "revoke"));
      return;
    }
    await this.loadSessions();
  }
}

/** A problem found before calling the server, already in words for people. */
class PlainError extends Error {}
