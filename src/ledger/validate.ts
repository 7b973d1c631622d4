// Shape checks of ledger requests. They run before any database work, so a malformed request
// writes nothing (no idempotency record, no audit event): INVALID_ARGUMENT whatever the state.
import type { Currency } from "../config";
import { invalidArgument } from "../errors";
import { isUuid } from "../util/ids";
import { limits } from "../limits";
import type { Amount } from "./types";
import { parseAccountNumber } from "./account-number";

const CURRENCY_SHAPE = /^[A-Z]{3}$/;

/** A currency code that is upper-case ISO 4217 shape and configured on this server. */
export function parseCurrency(currencies: ReadonlyMap<string, Currency>, code: string, field = "currency"): string {
  if (code === "") throw invalidArgument("CURRENCY_REQUIRED", `${field} is required.`, { field });
  if (!CURRENCY_SHAPE.test(code)) {
    throw invalidArgument("CURRENCY_INVALID", `${field} must be an upper-case ISO 4217 code such as USD.`, { field });
  }
  if (!currencies.has(code)) {
    throw invalidArgument("CURRENCY_UNSUPPORTED", `${field} ${code} is not a currency this bank holds.`, {
      field,
      supported: [...currencies.keys()].join(","),
    });
  }
  return code;
}

/** A positive amount of money of at most limits.amountMinorMax minor units. */
export function parseAmount(
  currencies: ReadonlyMap<string, Currency>,
  money: { currency: string; minorUnits: bigint } | undefined,
  field = "amount",
): Amount {
  if (!money) throw invalidArgument("AMOUNT_REQUIRED", `${field} is required.`, { field });
  const currency = parseCurrency(currencies, money.currency, `${field}.currency`);
  if (money.minorUnits <= 0n) {
    throw invalidArgument("AMOUNT_NOT_POSITIVE", `${field} must be greater than zero.`, { field });
  }
  if (money.minorUnits > limits.amountMinorMax) {
    throw invalidArgument("AMOUNT_TOO_LARGE", `${field} must be at most ${limits.amountMinorMax} minor units.`, {
      field,
      max: String(limits.amountMinorMax),
    });
  }
  return { currency, minor: money.minorUnits };
}

/** A canonical lower-case UUID. */
export function parseId(value: string, field: string): string {
  if (value === "") throw invalidArgument("ID_REQUIRED", `${field} is required.`, { field });
  if (!isUuid(value)) throw invalidArgument("ID_INVALID", `${field} must be a lower-case UUID.`, { field });
  return value;
}

export function parseAccountNumberInput(value: string, field = "to_account_number"): string {
  if (value === "") throw invalidArgument("ACCOUNT_NUMBER_REQUIRED", `${field} is required.`, { field });
  const compact = parseAccountNumber(value);
  if (!compact) {
    throw invalidArgument("ACCOUNT_NUMBER_INVALID", `${field} is not a valid account number (14 digits with check digits); check for a mistyped digit.`, { field });
  }
  return compact;
}

/** AIP-155: required, bounded, printable ASCII without spaces. */
export function parseRequestId(value: string): string {
  if (value === "") throw invalidArgument("REQUEST_ID_REQUIRED", "request_id is required: send a fresh UUID per operation and reuse it on retry.", { field: "request_id" });
  if (value.length > limits.requestIdCharsMax || !/^[\x21-\x7e]+$/.test(value)) {
    throw invalidArgument("REQUEST_ID_INVALID", `request_id must be 1 to ${limits.requestIdCharsMax} printable ASCII characters without spaces.`, {
      field: "request_id",
    });
  }
  return value;
}

/** Free text of bounded length, without control characters. */
export function parseText(value: string, field: string, charsMax: number, required = false): string {
  if (required && value.trim() === "") throw invalidArgument("FIELD_REQUIRED", `${field} is required.`, { field });
  if ([...value].length > charsMax) {
    throw invalidArgument("FIELD_TOO_LONG", `${field} must be at most ${charsMax} characters.`, { field, max: String(charsMax) });
  }
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value)) {
    throw invalidArgument("FIELD_INVALID", `${field} must not contain control characters.`, { field });
  }
  // Other people read these texts (statements, staff screens): characters that reorder or hide
  // text could make "pay 100" read as "pay 001". Refused, not stripped: stripping would change a
  // payload behind its idempotency key.
  if (INVISIBLE_OR_BIDI.test(value)) {
    throw invalidArgument("FIELD_INVALID", `${field} must not contain bidirectional-override or invisible formatting characters.`, { field });
  }
  return value;
}

/** Bidi embeddings, overrides and isolates, the Arabic letter mark, zero-width and invisible
 * formatting characters (Unicode Cf that render as nothing), and the BOM. */
const INVISIBLE_OR_BIDI = /[\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0]/u;
