// Money in the console: bigint minor units end to end. Formatting and parsing work on decimal
// strings and bigints only, so no amount ever passes through a floating-point number.
import { consoleLimits } from "./limits";

/** ISO 4217 minor-unit exponents; the server's BANK_CURRENCIES overrides them (see config.ts). */
export const DEFAULT_EXPONENTS: Readonly<Record<string, number>> = { USD: 2, EUR: 2, GBP: 2, JPY: 0, CHF: 2 };

/** "-1,234.56" for (-123456n, 2); "1,235" for (1235n, 0). */
export function formatMinorUnits(minor: bigint, exponent: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + grouped + (exponent > 0 ? "." + fraction : "");
}

/** "1,234.56 USD". */
export function formatMoney(minor: bigint, currency: string, exponent: number): string {
  return `${formatMinorUnits(minor, exponent)} ${currency}`;
}

/** Like formatMoney but with an explicit "+" for credits, for statement amounts. */
export function formatSignedMoney(minor: bigint, currency: string, exponent: number): string {
  return (minor > 0n ? "+" : "") + formatMoney(minor, currency, exponent);
}

export type ParsedAmount = { ok: true; minor: bigint } | { ok: false; message: string };

const AMOUNT = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/;

/** Parses what a person types ("12.34", "1,000", "5") into minor units, exactly. Only positive
 * amounts up to the API maximum are accepted, with at most `exponent` decimals. */
export function parseAmount(text: string, currency: string, exponent: number): ParsedAmount {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: false, message: "Enter an amount." };
  const match = AMOUNT.exec(trimmed);
  if (!match) return { ok: false, message: `Enter the amount as a number, like ${example(exponent)}.` };
  const whole = match[1]!.replace(/,/g, "");
  const fraction = match[2] ?? "";
  if (fraction.length > exponent) {
    return { ok: false, message: exponent === 0 ? `${currency} amounts have no decimal places.` : `${currency} amounts have at most ${exponent} decimal places.` };
  }
  const minor = BigInt(whole + fraction.padEnd(exponent, "0"));
  if (minor <= 0n) return { ok: false, message: "The amount must be more than zero." };
  if (minor > consoleLimits.amountMinorMax) return { ok: false, message: "The amount is larger than the bank accepts in one request." };
  return { ok: true, minor };
}

function example(exponent: number): string {
  return exponent === 0 ? "1250" : "12." + "34567".slice(0, exponent).padEnd(exponent, "0");
}

/** Reads "USD:2,JPY:0" (the format of BANK_CURRENCIES) into a map, ignoring malformed items. */
export function parseCurrencyList(list: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const item of list.split(",")) {
    const match = /^([A-Z]{3}):([0-9])$/.exec(item.trim());
    if (match) result[match[1]!] = Number(match[2]);
  }
  return result;
}
