// Daily limits (API.md Additions, docs/security.md): per account and direction (deposits,
// withdrawals, outgoing transfers), each the currency's configured default, an amount an admin
// set on the account, or an explicit "no limit". They bound every posting in their direction,
// whoever initiates it (a teller's deposit for a customer included); an admin raises an account's
// limit explicitly, audited. Usage is counted on the account row by the posting engine, in the
// same unit of work as the posting (the row is locked, so concurrent requests cannot overshoot),
// and starts again from zero at 00:00 UTC.
import type { DailyLimitDefaults } from "../config";
import { failedPrecondition, invalidArgument, notFound } from "../errors";
import { limits } from "../limits";
import { requireAdmin } from "./access";
import { auditedCommand } from "./audit";
import type { Ledger } from "./ledger";
import { accountColumns, limitColumn, toAccount } from "./rows";
import type { AccountView, Actor, DailyUsage, Direction, LimitSetting } from "./types";
import { parseCurrency, parseId, parseText } from "./validate";
import { audit } from "./audit";

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 UTC. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** When the usage of `day` resets: the next 00:00 UTC. */
export function resetTimeMs(day: number): number {
  return (day + 1) * DAY_MS;
}

export interface EffectiveLimit {
  /** The limit in minor units, or "unlimited". */
  limit: bigint | "unlimited";
  source: "DEFAULT" | "ACCOUNT";
  /** Moved in this direction today (UTC). */
  used: bigint;
}

export function effectiveLimit(account: Pick<AccountView, "limits" | "usage">, defaults: DailyLimitDefaults, direction: Direction, nowMs: number): EffectiveLimit {
  const own = account.limits[direction];
  return {
    limit: own === null ? defaults[direction] : own,
    source: own === null ? "DEFAULT" : "ACCOUNT",
    used: usedToday(account.usage, direction, nowMs),
  };
}

function usedToday(usage: DailyUsage, direction: Direction, nowMs: number): bigint {
  return usage.day === dayOf(nowMs) ? usage[direction] : 0n;
}

/** FAILED_PRECONDITION DAILY_LIMIT_EXCEEDED when `amount` more would pass today's limit. */
export function checkDailyLimit(account: Pick<AccountView, "id" | "limits" | "usage">, defaults: DailyLimitDefaults, direction: Direction, amount: bigint, nowMs: number): void {
  const { limit, used } = effectiveLimit(account, defaults, direction, nowMs);
  if (limit === "unlimited" || used + amount <= limit) return;
  throw failedPrecondition("DAILY_LIMIT_EXCEEDED", `This would pass the account's daily ${DIRECTION_WORDS[direction]} limit; it resets at 00:00 UTC.`, {
    account_id: account.id,
    direction: DIRECTION_FIELDS[direction],
    limit: limit.toString(),
    used: used.toString(),
    resets_at: new Date(resetTimeMs(dayOf(nowMs))).toISOString(),
  });
}

/** The usage after `amount` more in `direction` at `nowMs` (a new day starts from zero). */
export function withUsage(usage: DailyUsage, direction: Direction, amount: bigint, nowMs: number): DailyUsage {
  const day = dayOf(nowMs);
  const base: DailyUsage = usage.day === day ? usage : { day, deposit: 0n, withdrawal: 0n, transferOut: 0n };
  return { ...base, [direction]: base[direction] + amount };
}

const DIRECTION_WORDS: Record<Direction, string> = { deposit: "deposit", withdrawal: "withdrawal", transferOut: "outgoing transfer" };
export const DIRECTION_FIELDS: Record<Direction, string> = { deposit: "deposit", withdrawal: "withdrawal", transferOut: "transfer_out" };

export type LimitInput = { limit: { currency: string; minorUnits: bigint } } | { unlimited: boolean } | undefined;

export interface SetAccountLimitsInput {
  accountId: string;
  deposit: LimitInput;
  withdrawal: LimitInput;
  transferOut: LimitInput;
  reason: string;
}

/** SetAccountLimits (admin): each direction's limit, no limit, or (unset) the default. Audited. */
export async function setAccountLimits(ledger: Ledger, actor: Actor, input: SetAccountLimitsInput): Promise<AccountView> {
  requireAdmin(actor);
  const id = parseId(input.accountId, "account_id");
  const reason = parseText(input.reason, "reason", limits.reasonCharsMax, true);
  const wanted = {
    deposit: parseSetting(ledger, input.deposit, "deposit"),
    withdrawal: parseSetting(ledger, input.withdrawal, "withdrawal"),
    transferOut: parseSetting(ledger, input.transferOut, "transfer_out"),
  };
  return auditedCommand(ledger, actor, "account.set_limits", id, async (tx) => {
    const row = await tx.one(`SELECT ${accountColumns()} FROM accounts WHERE id = ?${tx.engine.lockRows}`, [id]);
    const account = row ? toAccount(row) : undefined;
    if (!account || account.kind !== "CUSTOMER") throw notFound("ACCOUNT_NOT_FOUND", "No such account.", { field: "account_id" });
    for (const [direction, setting] of Object.entries(wanted) as [Direction, { setting: LimitSetting; currency?: string }][]) {
      if (setting.currency !== undefined && setting.currency !== account.currency) {
        throw failedPrecondition("CURRENCY_MISMATCH", `The account holds ${account.currency}.`, { field: `${DIRECTION_FIELDS[direction]}.limit.currency`, account_currency: account.currency });
      }
    }
    const next = { deposit: wanted.deposit.setting, withdrawal: wanted.withdrawal.setting, transferOut: wanted.transferOut.setting };
    const updateTimeMs = Math.max(ledger.now(), account.updateTimeMs);
    await tx.run(
      `UPDATE accounts SET deposit_limit = ?, withdrawal_limit = ?, transfer_out_limit = ?, version = version + 1, update_time = ? WHERE id = ?`,
      [limitColumn(next.deposit), limitColumn(next.withdrawal), limitColumn(next.transferOut), updateTimeMs, id],
    );
    const describe = (s: LimitSetting) => (s === null ? "default" : s === "unlimited" ? "unlimited" : s.toString());
    await audit(tx, actor, {
      action: "account.set_limits",
      targetId: id,
      details: {
        reason,
        deposit: describe(next.deposit), withdrawal: describe(next.withdrawal), transfer_out: describe(next.transferOut),
        previous_deposit: describe(account.limits.deposit), previous_withdrawal: describe(account.limits.withdrawal), previous_transfer_out: describe(account.limits.transferOut),
      },
    }, ledger.now());
    return { ...account, limits: next, version: account.version + 1, updateTimeMs };
  });
}

function parseSetting(ledger: Ledger, input: LimitInput, field: string): { setting: LimitSetting; currency?: string } {
  if (input === undefined) return { setting: null };
  if ("unlimited" in input) {
    if (!input.unlimited) throw invalidArgument("LIMIT_INVALID", `${field}.unlimited must be true when set; leave ${field} unset for the default.`, { field: `${field}.unlimited` });
    return { setting: "unlimited" };
  }
  const currency = parseCurrency(ledger.currencies, input.limit.currency, `${field}.limit.currency`);
  if (input.limit.minorUnits < 0n || input.limit.minorUnits > limits.dailyLimitMinorMax) {
    throw invalidArgument("LIMIT_INVALID", `${field}.limit must be from 0 to ${limits.dailyLimitMinorMax} minor units.`, { field: `${field}.limit` });
  }
  return { setting: input.limit.minorUnits, currency };
}
