// Account numbers: 14 digits, shown in groups of four ("4021 5583 1907 26").
//
// The first 12 digits are random (customer accounts start with 1-9); the last 2 are ISO 7064
// MOD 97-10 check digits, the scheme IBANs use: the whole number read as an integer is
// congruent to 1 modulo 97. Because 97 is a prime above 10, this rejects every single mistyped
// digit and every swap of two adjacent digits, which Luhn does not fully do (09 <-> 90).
//
// Settlement accounts (one per currency, the outside world) get a fixed number starting with
// six zeros followed by the currency's letters as two-digit codes (A=10 ... Z=35), so they can
// never collide with a random customer number and every process derives the same one.
import { randomInt } from "node:crypto";

const BODY_DIGITS = 12;
const NUMBER_DIGITS = BODY_DIGITS + 2;
const LOWEST_BODY = 10 ** (BODY_DIGITS - 1);
const BODY_LIMIT = 10 ** BODY_DIGITS;

/** The two check digits of a 12-digit body. */
export function checkDigits(body: string): string {
  const remainder = (BigInt(body) * 100n) % 97n;
  return String(98n - remainder).padStart(2, "0");
}

/** A fresh random customer account number (compact digits). */
export function randomAccountNumber(): string {
  const body = String(randomInt(LOWEST_BODY, BODY_LIMIT));
  return body + checkDigits(body);
}

/** The fixed number of a settlement shard of a currency: six digits of shard, then the
 * currency's letters as two-digit codes (USD -> 000000302813 + check for shard 0, the number of
 * the single settlement account of earlier versions). It starts with zeros, so it never collides
 * with a customer number. */
export function settlementAccountNumber(currency: string, shard = 0): string {
  const letters = [...currency].map((c) => String(c.charCodeAt(0) - 55)).join("");
  const body = String(shard).padStart(BODY_DIGITS - letters.length, "0") + letters;
  return body + checkDigits(body);
}

/**
 * Parses what a person typed: digits with optional spaces or hyphens. Returns the compact form,
 * or undefined when the length or the check digits are wrong.
 */
export function parseAccountNumber(input: string): string | undefined {
  if (input.length > 32) return undefined;
  const compact = input.replace(/[\s-]/g, "");
  if (!/^\d+$/.test(compact) || compact.length !== NUMBER_DIGITS) return undefined;
  return BigInt(compact) % 97n === 1n ? compact : undefined;
}

/** "40215583190726" -> "4021 5583 1907 26". */
export function formatAccountNumber(compact: string): string {
  return compact.replace(/(\d{4})(?=\d)/g, "$1 ");
}
