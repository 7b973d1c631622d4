// Daily limits (docs/api.md Additions, docs/security.md): per account and direction (deposits,
// withdrawals, outgoing transfers), each the currency's configured default, an amount an admin
// set on the account, or an explicit "no limit". They bound every posting in their direction,
// whoever initiates it (a teller's deposit for a customer included); an admin raises an account's
// limit explicitly, audited. Usage is counted on the account row by the posting engine, in the
// same unit of work as the posting (the row is locked, so concurrent requests cannot overshoot),
// and starts again from zero at 00:00 UTC. The rules are here (the posting engine applies them);
// the admin command that sets an account's limits is in account-limits.ts.
import type { DailyLimitDefaults } from "../config";
import { failedPrecondition } from "../errors";
import type { AccountView, DailyUsage, Direction } from "./types";

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

/** The limit day of a posting at `nowMs` on an account whose usage is `usage`: the clock's day,
 * or the stored day when that is newer. Another process whose clock runs ahead (seconds, around
 * 00:00 UTC) may already have counted the new day on the row: that count binds this process too,
 * and is never overwritten by an older day (which would reset it). */
export function limitDay(usage: DailyUsage, nowMs: number): number {
  return Math.max(dayOf(nowMs), usage.day);
}

function usedToday(usage: DailyUsage, direction: Direction, nowMs: number): bigint {
  return usage.day === limitDay(usage, nowMs) ? usage[direction] : 0n;
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
    resets_at: new Date(resetTimeMs(limitDay(account.usage, nowMs))).toISOString(),
  });
}

/** The usage after `amount` more in `direction` at `nowMs` (a new day starts from zero). */
export function withUsage(usage: DailyUsage, direction: Direction, amount: bigint, nowMs: number): DailyUsage {
  const day = limitDay(usage, nowMs);
  const base: DailyUsage = usage.day === day ? usage : { day, deposit: 0n, withdrawal: 0n, transferOut: 0n, incoming: 0n };
  return { ...base, [direction]: base[direction] + amount };
}

const DIRECTION_WORDS: Record<Direction, string> = { deposit: "deposit", withdrawal: "withdrawal", transferOut: "outgoing transfer", incoming: "incoming" };
export const DIRECTION_FIELDS: Record<Direction, string> = { deposit: "deposit", withdrawal: "withdrawal", transferOut: "transfer_out", incoming: "incoming" };
