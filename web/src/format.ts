// How the console shows enums, times and money.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountStatus, AccountType, DailyLimitSource, type DailyLimit } from "../../gen/bank/v1/account_pb";
import { AuditOutcome } from "../../gen/bank/v1/audit_event_pb";
import { TransactionStatus, TransactionType } from "../../gen/bank/v1/transaction_pb";
import { DEFAULT_EXPONENTS, formatMoney, formatSignedMoney, intlExponent, parseAmount, type Locale, type ParsedAmount } from "./money";

/** A bank.v1.Money, or the same shape before it is sent. */
export interface MoneyLike {
  currency: string;
  minorUnits: bigint;
}

/** The one formatter (and parser) of every amount a person reads or types: each currency's
 * minor units (the server's list, else ISO 4217 as Intl knows it) and the person's locale. */
export class Currencies {
  constructor(private readonly exponents: Readonly<Record<string, number>>, readonly locale: Locale = undefined, private readonly timeZone: string | undefined = undefined) {}

  static fromPage(content: string | null | undefined, parse: (list: string) => Record<string, number>, locale?: Locale): Currencies {
    const configured = content ? parse(content) : {};
    return new Currencies(Object.keys(configured).length > 0 ? configured : DEFAULT_EXPONENTS, locale);
  }

  codes(): string[] {
    return Object.keys(this.exponents);
  }

  exponent(currency: string): number {
    return this.exponents[currency] ?? DEFAULT_EXPONENTS[currency] ?? intlExponent(currency);
  }

  money(m: MoneyLike | undefined): string {
    return m ? formatMoney(m.minorUnits, m.currency, this.exponent(m.currency), this.locale) : "";
  }

  signed(m: MoneyLike | undefined): string {
    return m ? formatSignedMoney(m.minorUnits, m.currency, this.exponent(m.currency), this.locale) : "";
  }

  /** What a person typed, as minor units of `currency`, in their locale. */
  parse(text: string, currency: string): ParsedAmount {
    return parseAmount(text, currency, this.exponent(currency), this.locale);
  }

  /** A time in the person's time zone and locale, with the zone named ("7 Dec 2026, 01:00 CET"). */
  time(ms: number): string {
    return new Intl.DateTimeFormat(this.locale, { dateStyle: "medium", timeStyle: "short", timeZone: this.timeZone }).format(new Date(ms));
  }
}

export function accountTypeLabel(type: AccountType): string {
  return type === AccountType.SAVINGS ? "Savings" : type === AccountType.CHECKING ? "Checking" : "Account";
}

export function accountStatusLabel(status: AccountStatus): string {
  switch (status) {
    case AccountStatus.ACTIVE:
      return "Active";
    case AccountStatus.FROZEN:
      return "Frozen";
    case AccountStatus.CLOSED:
      return "Closed";
    default:
      return "Unknown";
  }
}

const TRANSACTION_LABELS: Record<TransactionType, string> = {
  [TransactionType.UNSPECIFIED]: "Other",
  [TransactionType.DEPOSIT]: "Deposit",
  [TransactionType.WITHDRAWAL]: "Withdrawal",
  [TransactionType.TRANSFER]: "Transfer",
  [TransactionType.HOLD]: "Hold",
  [TransactionType.CAPTURE]: "Capture",
  [TransactionType.RELEASE]: "Release",
  [TransactionType.REVERSAL]: "Reversal",
};

export function transactionTypeLabel(type: TransactionType): string {
  return TRANSACTION_LABELS[type] ?? "Other";
}

/** "2026-11-26 14:03" in the person's time zone. */
export function formatTime(ts: Timestamp | undefined): string {
  if (!ts) return "";
  const d = timestampDate(ts);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A short device name from a User-Agent header. */
export function deviceLabel(userAgent: string): string {
  if (userAgent === "") return "Unknown device";
  const browser = /(Edg|Firefox|Chrome|Chromium|Safari)\/[\d.]+/.exec(userAgent)?.[0]?.split("/")[0];
  const os = /(Windows|Mac OS X|Android|iPhone|Linux)/.exec(userAgent)?.[0];
  if (browser && os) return `${browser === "Edg" ? "Edge" : browser} on ${os === "Mac OS X" ? "macOS" : os}`;
  return userAgent.length > 60 ? userAgent.slice(0, 57) + "..." : userAgent;
}

const STATUS_LABELS: Record<TransactionStatus, string> = {
  [TransactionStatus.UNSPECIFIED]: "",
  [TransactionStatus.POSTED]: "",
  [TransactionStatus.PENDING]: "pending",
  [TransactionStatus.RELEASED]: "released",
  [TransactionStatus.CAPTURED]: "captured",
  [TransactionStatus.REVERSED]: "reversed",
  [TransactionStatus.EXPIRED]: "expired",
};

/** "pending", "reversed"...; empty for a plain posted transaction. */
export function transactionStatusLabel(status: TransactionStatus): string {
  return STATUS_LABELS[status] ?? "";
}

const ROLE_LABELS: Record<Role, string> = {
  [Role.UNSPECIFIED]: "None",
  [Role.CUSTOMER]: "Customer",
  [Role.TELLER]: "Teller",
  [Role.AUDITOR]: "Auditor",
  [Role.ADMIN]: "Admin",
  [Role.PAYMENT_SERVICE]: "Payment service",
};

/** The roles that can be granted, in the order the console lists them. */
export const GRANTABLE_ROLES: readonly Role[] = [Role.CUSTOMER, Role.TELLER, Role.AUDITOR, Role.ADMIN];

export function roleLabel(role: Role): string {
  return ROLE_LABELS[role] ?? "Unknown";
}

export function rolesLabel(roles: readonly Role[]): string {
  return roles.length === 0 ? "No roles" : roles.map(roleLabel).join(", ");
}

export function auditOutcomeLabel(outcome: AuditOutcome): string {
  switch (outcome) {
    case AuditOutcome.SUCCESS:
      return "Success";
    case AuditOutcome.DENIED:
      return "Denied";
    case AuditOutcome.FAILED:
      return "Failed";
    default:
      return "Unknown";
  }
}

/** "1 second", "12 seconds", "3 minutes": how long to wait, rounded up so that waiting the time
 * said is always enough. */
export function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 90) return seconds === 1 ? "1 second" : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

/** "2026-11-26 14:03:07": audit events need the seconds. */
export function formatTimeSeconds(ts: Timestamp | undefined): string {
  if (!ts) return "";
  const seconds = String(timestampDate(ts).getSeconds()).padStart(2, "0");
  return `${formatTime(ts)}:${seconds}`;
}

/** One daily limit as a sentence: "25.00 of 1,000.00 USD used today (bank default)". */
export function dailyLimitText(limit: DailyLimit | undefined, currencies: Currencies): string {
  if (!limit) return "Not reported";
  const used = limit.used ? currencies.money(limit.used) : "nothing";
  const source = limit.source === DailyLimitSource.ACCOUNT ? "set for this account" : limit.source === DailyLimitSource.DEFAULT ? "bank default" : "";
  const suffix = source ? ` (${source})` : "";
  if (limit.unlimited) return `No limit; ${used} used today${suffix}`;
  if (!limit.limit) return "Not reported";
  return `${used} of ${currencies.money(limit.limit)} used today${suffix}`;
}

/** A datetime-local value ("2026-11-26T14:03:07") is local time; empty is no bound. */
export function localTimeMs(value: string): number | undefined | "invalid" {
  if (value === "") return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return "invalid";
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? "invalid" : ms;
}

/** Audit detail keys that hold minor units of the event's `currency` (src/ledger moneyDetails). */
const AUDIT_AMOUNT_KEYS: ReadonlySet<string> = new Set(["amount", "released"]);

/** An audit event's details as a person reads them: "amount: 12.34 USD, account_id: ...". The
 * stored text is inside the hash chain and never changed; this is only how it is shown (the view
 * keeps the stored text on hover and focus). Text that is not a JSON object is shown as it is. */
export function auditDetailsText(stored: string, currencies: Currencies): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return stored;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return stored;
  const details = parsed as Record<string, unknown>;
  const currency = typeof details["currency"] === "string" && /^[A-Z]{3}$/.test(details["currency"]) ? details["currency"] : undefined;
  const parts: string[] = [];
  let usedCurrency = false;
  for (const [key, value] of Object.entries(details)) {
    if (key === "currency") continue;
    if (currency && AUDIT_AMOUNT_KEYS.has(key) && typeof value === "string" && /^-?\d{1,20}$/.test(value)) {
      parts.push(`${key}: ${currencies.money({ currency, minorUnits: BigInt(value) })}`);
      usedCurrency = true;
    } else {
      parts.push(`${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
    }
  }
  if (currency && !usedCurrency) parts.push(`currency: ${currency}`);
  return parts.join(", ");
}

/** A statement's dates as the request's bounds: From's day starts at local midnight (start_time,
 * inclusive); To's day is included whole, so end_time (exclusive) is the local midnight that
 * starts the day after it. "Local" is the browser's time zone, the one the statement's times are
 * shown in; a day of 23 or 25 hours (daylight saving) is whole all the same. Empty is no bound. */
export type DayRange = { startMs: number | undefined; endMs: number | undefined } | { problem: string };

export function dayRange(from: string, to: string): DayRange {
  const start = localDayStartMs(from, 0);
  const end = localDayStartMs(to, 1);
  if (start === "invalid" || end === "invalid") return { problem: "Enter the dates as a day, month and year." };
  if (start !== undefined && end !== undefined && end <= start) return { problem: "The To date is before the From date: pick a To date on or after the From date." };
  return { startMs: start, endMs: end };
}

/** Local midnight at the start of `value` ("2026-12-06", an <input type=date>) plus `days`. */
function localDayStartMs(value: string, days: number): number | undefined | "invalid" {
  if (value === "") return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return "invalid";
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(2000, month - 1, day);
  date.setFullYear(year); // years below 100 are years, not 19xx
  if (date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day) return "invalid";
  date.setDate(date.getDate() + days);
  return date.getTime();
}
