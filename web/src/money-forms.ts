// The account panel's money movements: deposit, withdraw, transfer, place/capture/release a
// hold, reverse a transaction. Each goes through the money-safe retries (safe-form.ts): one
// request_id per intent, kept across every retry of it.
import type { PanelHost } from "./panel-host";
import type { ConsoleContext } from "./context";
import { field } from "./dom";
import { bindSafeForm } from "./safe-form";
import type { MoneyLike } from "./format";

export class MoneyForms {
  constructor(private readonly ctx: ConsoleContext, private readonly panel: PanelHost) {
    this.bindDeposit();
    this.bindWithdraw();
    this.bindTransfer();
    this.bindHold();
    this.bindCapture();
    this.bindRelease();
    this.bindReverse();
  }

  /** The selected account's id and the amount typed, exactly, in its currency. */
  private amount(data: FormData, name = "amount"): { accountId: string; amount: MoneyLike } | string {
    const account = this.panel.account;
    if (!account) return "Choose an account first.";
    const parsed = this.ctx.currencies.parse(field(data, name), account.currency);
    if (!parsed.ok) return parsed.message;
    return { accountId: account.id, amount: { currency: account.currency, minorUnits: parsed.minor } };
  }

  private moneyContext() {
    const account = this.panel.account;
    return account ? { currencies: this.ctx.currencies, currency: account.currency } : undefined;
  }

  private money(m: MoneyLike): string {
    return this.ctx.currencies.money(m);
  }

  /** After a movement: the panel, its statement and the list read again. */
  private async changed(message: string): Promise<string> {
    await this.ctx.accountChanged();
    return message;
  }

  private bindDeposit(): void {
    bindSafeForm(this.ctx.retries, {
      prefix: "deposit",
      method: "TransactionService.Deposit",
      action: "deposit",
      money: () => this.moneyContext(),
      build: (data) => {
        const m = this.amount(data);
        if (typeof m === "string") return m;
        const request = { ...m, description: field(data, "description") };
        return { request, what: `deposit of ${this.money(m.amount)} into ${this.panel.name}` };
      },
      send: (request, requestId) => this.ctx.api.transactions.deposit({ ...request, requestId }),
      done: (_res, request) => this.changed(`Deposited ${this.money(request.amount)}.`),
    });
  }

  private bindWithdraw(): void {
    bindSafeForm(this.ctx.retries, {
      prefix: "withdraw",
      method: "TransactionService.Withdraw",
      action: "withdraw",
      money: () => this.moneyContext(),
      build: (data) => {
        const m = this.amount(data);
        if (typeof m === "string") return m;
        const request = { ...m, description: field(data, "description") };
        return { request, what: `withdrawal of ${this.money(m.amount)} from ${this.panel.name}` };
      },
      send: (request, requestId) => this.ctx.api.transactions.withdraw({ ...request, requestId }),
      done: (_res, request) => this.changed(`Withdrew ${this.money(request.amount)}.`),
    });
  }

  private bindTransfer(): void {
    bindSafeForm(this.ctx.retries, {
      prefix: "transfer",
      method: "TransactionService.Transfer",
      action: "transfer",
      money: () => this.moneyContext(),
      build: (data) => {
        const toAccountNumber = field(data, "toAccountNumber");
        const m = this.amount(data);
        if (typeof m === "string") return m;
        if (toAccountNumber === "") return "Enter the account number to pay.";
        const request = { fromAccountId: m.accountId, target: { case: "toAccountNumber" as const, value: toAccountNumber }, amount: m.amount, description: field(data, "description") };
        return { request, what: `transfer of ${this.money(m.amount)} to ${toAccountNumber}` };
      },
      send: (request, requestId) => this.ctx.api.transactions.transfer({ ...request, requestId }),
      done: (_res, request) => this.changed(`Transferred ${this.money(request.amount)} to ${request.target.value}.`),
    });
  }

  private bindHold(): void {
    bindSafeForm(this.ctx.retries, {
      prefix: "hold",
      method: "TransactionService.CreateHold",
      action: "hold",
      money: () => this.moneyContext(),
      build: (data) => {
        const m = this.amount(data);
        if (typeof m === "string") return m;
        const request = { ...m, description: field(data, "description") };
        return { request, what: `hold of ${this.money(m.amount)} on ${this.panel.name}` };
      },
      send: (request, requestId) => this.ctx.api.transactions.createHold({ ...request, requestId }),
      done: (_res, request) => this.changed(`Placed a hold of ${this.money(request.amount)}.`),
    });
  }

  private bindCapture(): void {
    bindSafeForm(this.ctx.retries, {
      prefix: "capture",
      method: "TransactionService.CaptureHold",
      action: "capture",
      money: () => this.moneyContext(),
      build: (data) => {
        const holdId = field(data, "holdId");
        const hold = this.panel.holds.find((h) => h.id === holdId);
        if (!hold) return "Choose a hold to capture.";
        // Empty amount: the whole hold (CaptureHoldRequest.amount unset).
        if (field(data, "amount") === "") {
          const whole: { holdId: string; amount?: MoneyLike } = { holdId };
          return { request: whole, what: `capture of the whole hold of ${this.money(hold.amount!)}` };
        }
        const m = this.amount(data);
        if (typeof m === "string") return m;
        return { request: { holdId, amount: m.amount }, what: `capture of ${this.money(m.amount)} of a hold` };
      },
      send: (request, requestId) => this.ctx.api.transactions.captureHold({ ...request, requestId }),
      done: (res) => this.changed(`Captured ${this.money(res.transaction?.amount ?? { currency: "", minorUnits: 0n })} of the hold; the rest, if any, was released.`),
    });
  }

  private bindRelease(): void {
    bindSafeForm(this.ctx.retries, {
      prefix: "release",
      method: "TransactionService.ReleaseHold",
      action: "release",
      build: (data) => {
        const holdId = field(data, "holdId");
        const hold = this.panel.holds.find((h) => h.id === holdId);
        if (!hold) return "Choose a hold to release.";
        return { request: { holdId }, what: `release of a hold of ${this.money(hold.amount!)}` };
      },
      send: (request, requestId) => this.ctx.api.transactions.releaseHold({ ...request, requestId }),
      done: () => this.changed("Released the hold."),
    });
  }

  private bindReverse(): void {
    bindSafeForm(this.ctx.retries, {
      prefix: "reverse",
      method: "TransactionService.ReverseTransaction",
      action: "reverse",
      confirm: (what) => `Send the ${what}? It posts the opposite amount and is recorded in the audit log with your reason.`,
      build: (data) => {
        const transactionId = field(data, "transactionId");
        const reason = field(data, "reason");
        if (transactionId === "") return "Pick a statement line to reverse, or paste its transaction id.";
        if (reason === "") return "Give the reason for the reversal; it is recorded in the audit log.";
        return { request: { transactionId, reason }, what: `reversal of transaction ${transactionId}` };
      },
      send: (request, requestId) => this.ctx.api.transactions.reverseTransaction({ ...request, requestId }),
      done: (res) => this.changed(`Reversed the transaction; the reversal is ${res.transaction?.id ?? ""}.`),
    });
  }
}
