// The account panel's management forms: freeze/unfreeze with a reason, the overdraft limit, the
// daily limits, closing. None of them moves money and they carry no request_id: sending one
// twice sets the same state twice.
import { AccountStatus } from "../../gen/bank/v1/account_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DailyLimitSettingSchema } from "../../gen/bank/v1/account_service_pb";
import type { PanelHost } from "./panel-host";
import type { ConsoleContext } from "./context";
import { confirmed, field, form, onSubmit, setText, submitting } from "./dom";
import { describeError } from "./errors";

type LimitInit = MessageInitShape<typeof DailyLimitSettingSchema>;

export class AccountForms {
  constructor(private readonly ctx: ConsoleContext, private readonly panel: PanelHost) {
    onSubmit(form("account-status-form"), () => this.freezeOrUnfreeze());
    onSubmit(form("overdraft-form"), () => this.setOverdraft());
    onSubmit(form("limits-form"), () => this.setLimits());
    onSubmit(form("close-form"), () => this.close());
  }

  /** An amount that may be zero (a limit of 0 means none allowed), in the account's currency. */
  private amountOrZero(text: string): { ok: true; minor: bigint } | { ok: false; message: string } {
    const account = this.panel.account!;
    if (/^0+(\.0+)?$/.test(text.trim())) return { ok: true, minor: 0n };
    return this.ctx.currencies.parse(text, account.currency);
  }

  private async freezeOrUnfreeze(): Promise<void> {
    const target = form("account-status-form");
    const account = this.panel.account;
    if (!account) return;
    const unfreeze = account.status === AccountStatus.FROZEN;
    await submitting(target, "account-status-error", async (data) => {
      const reason = field(data, "reason");
      if (reason === "") return `Give the reason to ${unfreeze ? "unfreeze" : "freeze"} the account; it is recorded in the audit log.`;
      if (!unfreeze && !confirmed(`Freeze ${this.panel.name} (${account.number})? No money can move in or out until it is unfrozen.`)) return `Cancelled: ${this.panel.name} was not frozen.`;
      try {
        const req = { accountId: account.id, reason };
        const res = unfreeze ? await this.ctx.api.accounts.unfreezeAccount(req) : await this.ctx.api.accounts.freezeAccount(req);
        target.reset();
        await this.panel.replaced(res.account);
        setText("status", unfreeze ? `Unfroze ${this.panel.name}.` : `Froze ${this.panel.name}: no money moves in or out until it is unfrozen.`);
      } catch (err) {
        return describeError(err, unfreeze ? "unfreeze" : "freeze");
      }
    });
  }

  private async setOverdraft(): Promise<void> {
    const target = form("overdraft-form");
    const account = this.panel.account;
    if (!account) return;
    await submitting(target, "overdraft-error", async (data) => {
      const parsed = this.amountOrZero(field(data, "amount"));
      if (!parsed.ok) return parsed.message;
      const overdraftLimit = { currency: account.currency, minorUnits: parsed.minor };
      try {
        const res = await this.ctx.api.accounts.updateAccount({ accountId: account.id, overdraftLimit, updateMask: { paths: ["overdraft_limit"] } });
        target.reset();
        await this.panel.replaced(res.account);
        setText("status", `The overdraft limit of ${this.panel.name} is now ${this.ctx.currencies.money(overdraftLimit)}.`);
      } catch (err) {
        return describeError(err, "overdraft");
      }
    });
  }

  /** One direction's setting: the bank default (unset), an amount, or no limit. */
  private limitSetting(data: FormData, direction: string): LimitInit | undefined | string {
    const mode = field(data, `${direction}Mode`);
    if (mode === "none") return { setting: { case: "unlimited", value: true } };
    if (mode !== "amount") return undefined;
    const parsed = this.amountOrZero(field(data, `${direction}Amount`));
    if (!parsed.ok) return parsed.message;
    return { setting: { case: "limit", value: { currency: this.panel.account!.currency, minorUnits: parsed.minor } } };
  }

  private async setLimits(): Promise<void> {
    const target = form("limits-form");
    const account = this.panel.account;
    if (!account) return;
    await submitting(target, "limits-error", async (data) => {
      const deposit = this.limitSetting(data, "deposit");
      const withdrawal = this.limitSetting(data, "withdrawal");
      const transferOut = this.limitSetting(data, "transfer");
      for (const s of [deposit, withdrawal, transferOut]) if (typeof s === "string") return s;
      const reason = field(data, "reason");
      if (reason === "") return "Give the reason for the new limits; it is recorded in the audit log.";
      try {
        const res = await this.ctx.api.accounts.setAccountLimits({
          accountId: account.id,
          deposit: deposit as LimitInit | undefined,
          withdrawal: withdrawal as LimitInit | undefined,
          transferOut: transferOut as LimitInit | undefined,
          reason,
          // The form sets every direction at once: a full replacement (AIP-134 "*").
          updateMask: { paths: ["*"] },
        });
        target.reset();
        await this.panel.replaced(res.account);
        setText("status", `Set the daily limits of ${this.panel.name}.`);
      } catch (err) {
        return describeError(err, "limits");
      }
    });
  }

  private async close(): Promise<void> {
    const target = form("close-form");
    const account = this.panel.account;
    if (!account) return;
    await submitting(target, "close-error", async (data) => {
      if (field(data, "confirm") !== "yes") return "Tick the box to confirm that the account closes for good.";
      if (!confirmed(`Close ${this.panel.name} (${account.number}) for good? A closed account cannot be opened again.`)) return `Cancelled: ${this.panel.name} stays open.`;
      try {
        const res = await this.ctx.api.accounts.closeAccount({ accountId: account.id });
        target.reset();
        await this.panel.replaced(res.account);
        setText("status", `Closed ${this.panel.name}.`);
      } catch (err) {
        return describeError(err, "close");
      }
    });
  }
}
