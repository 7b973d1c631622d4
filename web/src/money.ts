// Money in the console: bigint minor units end to end. Formatting and parsing work on decimal
// strings and bigints only, so no amount ever passes through a floating-point number. Both follow
// the person's locale (Intl): its decimal mark and digit grouping ("1,234.56" in en-US,
// "1.234,56" in de-DE); the currency stays its ISO code after the number, as the server writes it.
import { consoleLimits } from "./limits";

/** ISO 4217 minor-unit exponents; the server's BANK_CURRENCIES overrides them (see config.ts). */
export const DEFAULT_EXPONENTS: Readonly<Record<string, number>> = { USD: 2, EUR: 2, GBP: 2, JPY: 0, CHF: 2 };

/** A locale tag ("de-DE"), or undefined for the browser's own. */
export type Locale = string | undefined;

interface NumberStyle {
  whole: Intl.NumberFormat;
  decimal: string;
  group: string;
}

const styles = new Map<string, NumberStyle>();

/** The locale's separators and a formatter for whole numbers, in Latin digits (what people type). */
function numberStyle(locale: Locale): NumberStyle {
  const key = locale ?? "";
  let style = styles.get(key);
  if (!style) {
    const whole = new Intl.NumberFormat(locale, { numberingSystem: "latn", useGrouping: true, maximumFractionDigits: 0 });
    const parts = new Intl.NumberFormat(locale, { numberingSystem: "latn", useGrouping: true, minimumFractionDigits: 1 }).formatToParts(1234567.5);
    style = { whole, decimal: parts.find((p) => p.type === "decimal")?.value ?? ".", group: parts.find((p) => p.type === "group")?.value ?? "," };
    styles.set(key, style);
  }
  return style;
}

/** The locale's decimal mark and group separator, e.g. { decimal: ",", group: "." } for de-DE. */
export function separators(locale?: Locale): { decimal: string; group: string } {
  const { decimal, group } = numberStyle(locale);
  return { decimal, group };
}

/** The minor-unit exponent Intl knows for an ISO currency (2 when it does not know the code). */
export function intlExponent(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** "-1,234.56" for (-123456n, 2) in en-US, "-1.234,56" in de-DE; "1,235" for (1235n, 0). The
 * whole part is grouped by Intl (from a bigint, exactly); the fraction is the digits themselves. */
export function formatMinorUnits(minor: bigint, exponent: number, locale?: Locale): string {
  const style = numberStyle(locale);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, "0");
  const whole = style.whole.format(BigInt(digits.slice(0, digits.length - exponent)));
  const fraction = digits.slice(digits.length - exponent);
  return (negative ? "-" : "") + whole + (exponent > 0 ? style.decimal + fraction : "");
}

/** "1,234.56 USD". */
export function formatMoney(minor: bigint, currency: string, exponent: number, locale?: Locale): string {
  return `${formatMinorUnits(minor, exponent, locale)} ${currency}`;
}

/** Like formatMoney but with an explicit "+" for credits, for statement amounts. */
export function formatSignedMoney(minor: bigint, currency: string, exponent: number, locale?: Locale): string {
  return (minor > 0n ? "+" : "") + formatMoney(minor, currency, exponent, locale);
}

/** A plain decimal string ("-1234.56"), the same in every locale: for CSV and machine-readable text. */
export function decimalString(minor: bigint, exponent: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent);
  return (negative ? "-" : "") + whole + (exponent > 0 ? "." + digits.slice(digits.length - exponent) : "");
}

export type ParsedAmount = { ok: true; minor: bigint } | { ok: false; message: string };

const SPACES = /[\s\u00a0\u202f]/g;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Parses what a person types, in their locale ("12.34" and "1,000" in en-US; "12,34" and
 * "1.000" in de-DE), into minor units, exactly. Only positive amounts up to the API maximum are
 * accepted, with at most `exponent` decimals. Refused, each with a sentence saying why: a group
 * separator in the wrong place ("12,50" in en-US, "12.50" in de-DE), a second decimal mark, and
 * the ambiguous "1,250" in a decimal-comma locale (or "1.250" in a decimal-point one) for a
 * currency with fewer than 3 decimals: read as decimals it has too many, so the person probably
 * meant a thousands separator from another convention; they are asked to write it unambiguously. */
export function parseAmount(text: string, currency: string, exponent: number, locale?: Locale): ParsedAmount {
  const style = numberStyle(locale);
  const { decimal } = style;
  // Where the locale groups with a (narrow, no-break) space, any space a person types is one.
  const spaceGroup = /^[\s\u00a0\u202f]$/.test(style.group);
  const group = spaceGroup ? " " : style.group;
  const trimmed = text.trim();
  const like = `like ${example(exponent, locale)}`;
  if (trimmed === "") return { ok: false, message: "Enter an amount." };
  const t = spaceGroup ? trimmed.replace(SPACES, " ") : trimmed;
  if (!new RegExp(`^[0-9${escapeRegExp(decimal + group)}]+$`).test(t)) {
    const otherMark = decimal === "," ? "." : ",";
    if (/^[0-9.,\s\u00a0\u202f']+$/.test(t) && t.includes(otherMark)) {
      return { ok: false, message: `Use "${decimal}" as the decimal mark, ${like}.` };
    }
    return { ok: false, message: `Enter the amount as a number, ${like}.` };
  }
  const pieces = t.split(decimal);
  if (pieces.length > 2) return { ok: false, message: `Use "${decimal}" once, for the decimals, ${like}.` };
  const [whole = "", fraction = ""] = pieces;
  const separatorsWrong = `Check the separators: here "${style.group === " " || spaceGroup ? "space" : style.group}" groups thousands and "${decimal}" marks the decimals, ${like}.`;
  if (whole === "" || (pieces.length === 2 && fraction === "")) return { ok: false, message: `Enter the amount as a number, ${like}.` };
  if (fraction.includes(group)) return { ok: false, message: separatorsWrong };
  if (whole.includes(group)) {
    const regular = new RegExp(`^[1-9]\\d{0,2}(?:${escapeRegExp(group)}\\d{3})+$`).test(whole);
    const intl = style.whole.format(BigInt(whole.split(group).join("")));
    const asIntl = (spaceGroup ? intl.replace(SPACES, " ") : intl) === whole;
    if (!regular && !asIntl) return { ok: false, message: separatorsWrong };
  }
  if ((decimal === "," || decimal === ".") && exponent < 3 && /^[1-9]\d{0,2}$/.test(whole) && fraction.length === 3) {
    const decimals = fraction.replace(/0+$/, "");
    const orDecimals = exponent > 0 && decimals.length <= exponent ? `, or ${whole}${decimals === "" ? "" : decimal + decimals} for decimals` : "";
    return { ok: false, message: `"${trimmed}" is ambiguous: "${decimal}" marks the decimals here, and ${currency} has ${exponent === 0 ? "no decimal places" : `${exponent} decimal places`}. Write ${whole}${fraction} for the whole number${orDecimals}.` };
  }
  if (fraction.length > exponent) {
    return { ok: false, message: exponent === 0 ? `${currency} amounts have no decimal places.` : `${currency} amounts have at most ${exponent} decimal places.` };
  }
  const minor = BigInt(whole.split(group).join("") + fraction.padEnd(exponent, "0"));
  if (minor <= 0n) return { ok: false, message: "The amount must be more than zero." };
  if (minor > consoleLimits.amountMinorMax) return { ok: false, message: "The amount is larger than the bank accepts in one request." };
  return { ok: true, minor };
}

/** "12.34" (en-US), "12,34" (de-DE), "1250" without decimals. */
function example(exponent: number, locale: Locale): string {
  return exponent === 0 ? "1250" : "12" + numberStyle(locale).decimal + "34567".slice(0, exponent).padEnd(exponent, "0");
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
