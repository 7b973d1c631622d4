// How the console shows enums, times and money.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { AccountStatus, AccountType } from "../../gen/bank/v1/account_pb";
import { TransactionType } from "../../gen/bank/v1/transaction_pb";
import { DEFAULT_EXPONENTS, formatMoney, formatSignedMoney } from "./money";

/** A bank.v1.Money, or the same shape before it is sent. */
export interface MoneyLike {
  currency: string;
  minorUnits: bigint;
}

export class Currencies {
  constructor(private readonly exponents: Readonly<Record<string, number>>) {}

  static fromPage(content: string | null | undefined, parse: (list: string) => Record<string, number>): Currencies {
    const configured = content ? parse(content) : {};
    return new Currencies(Object.keys(configured).length > 0 ? configured : DEFAULT_EXPONENTS);
  }

  codes(): string[] {
    return Object.keys(this.exponents);
  }

  exponent(currency: string): number {
    return this.exponents[currency] ?? DEFAULT_EXPONENTS[currency] ?? 2;
  }

  money(m: MoneyLike | undefined): string {
    return m ? formatMoney(m.minorUnits, m.currency, this.exponent(m.currency)) : "";
  }

  signed(m: MoneyLike | undefined): string {
    return m ? formatSignedMoney(m.minorUnits, m.currency, this.exponent(m.currency)) : "";
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
