// Turns Connect errors into plain sentences for people. The ErrorInfo reason (AIP-193) is the
// most specific signal; then the Connect code, read in the context of what the person was doing.
// Also decides what a failure means for a retry: a definite answer, or an outcome not known.
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { formatWait, type Currencies } from "./format";

/** What the person was doing, so that one code can be told in the right words. */
export type Action =
  | "sign-in" | "sign-up" | "refresh" | "load" | "open-account" | "deposit" | "withdraw" | "transfer" | "revoke" | "sign-out"
  | "lookup" | "hold" | "capture" | "release" | "freeze" | "unfreeze" | "close" | "overdraft" | "limits" | "reverse"
  | "users" | "roles" | "disable" | "enable" | "audit" | "verify" | "enrol" | "reset-second-factor" | "change-password";

const SIGN_IN_AGAIN = "Your session has ended. Please sign in again.";
const BAD_CREDENTIALS = "The email or password is not right. Check both and try again.";
const TRY_AGAIN_SOON = "The bank is temporarily unavailable. Please try again in a moment.";

/** The reasons bankd sends (src/auth, src/ledger), in words for people. */
const REASONS: Readonly<Record<string, string>> = {
  INVALID_CREDENTIALS: BAD_CREDENTIALS,
  USER_DISABLED: "This user has been disabled. Contact the bank.",
  EMAIL_TAKEN: "An account with this email already exists. Sign in instead.",
  INVALID_EMAIL: "Enter a valid email address.",
  INVALID_FULL_NAME: "Enter your full name.",
  PASSWORD_TOO_WEAK: "This password is too easy to guess. Use a longer passphrase that is not based on your name or email.",
  PASSWORD_TOO_SHORT: "The password must be at least 12 characters long.",
  PASSWORD_TOO_LONG: "The password must be at most 128 characters long.",
  PASSWORD_UNCHANGED: "The new password is the same as your current one. Choose a different password.",
  TOKEN_EXPIRED: SIGN_IN_AGAIN,
  TOKEN_INVALID: SIGN_IN_AGAIN,
  TOKEN_MISSING: SIGN_IN_AGAIN,
  SESSION_ENDED: SIGN_IN_AGAIN,
  REFRESH_TOKEN_INVALID: SIGN_IN_AGAIN,
  SESSION_IDLE: "You were signed out after 15 minutes without activity. Please sign in again.",
  SESSION_EXPIRED: "Your session reached its longest time (12 hours for staff). Please sign in again.",
  SECOND_FACTOR_REQUIRED: "Enter the 6-digit code from your authenticator app.",
  SECOND_FACTOR_INVALID: "That code is not right, was already used, or is too old. Enter the code your app shows now.",
  SECOND_FACTOR_ENROLMENT_REQUIRED: "Set up your second factor first.",
  SECOND_FACTOR_ENROLLED: "You already have a second factor. An administrator can reset it.",
  TOTP_CODE_INVALID: "That code does not match. Check that your phone's clock is right and enter the code your app shows now.",
  ENROLMENT_NOT_FOUND: "The set-up has lapsed. Sign out and sign in again to start over.",
  OWN_SECOND_FACTOR: "You cannot reset your own second factor; another administrator must.",
  REASON_REQUIRED: "Enter a reason (up to 500 characters).",
  INSUFFICIENT_FUNDS: "There is not enough money in the account for this.",
  PAYEE_UNAVAILABLE: "The receiving account cannot take this payment. Check the number with the person you are paying.",
  BALANCE_LIMIT_EXCEEDED: "The receiving account cannot hold that much money.",
  ACCOUNT_FROZEN: "The account is frozen, so no money can move in or out of it.",
  ACCOUNT_CLOSED: "The account is closed, so no money can move in or out of it.",
  CURRENCY_MISMATCH: "The two accounts hold different currencies; pay an account in the same currency.",
  SAME_ACCOUNT: "You cannot transfer money to the same account.",
  ACCOUNT_NOT_FOUND: "No account with that number was found.",
  ACCOUNT_NUMBER_INVALID: "That account number is not valid. Check it and try again.",
  ACCOUNT_NUMBER_REQUIRED: "Enter the account number to pay.",
  CURRENCY_UNSUPPORTED: "The bank does not hold that currency.",
  CURRENCY_INVALID: "The bank does not hold that currency.",
  AMOUNT_NOT_POSITIVE: "Enter an amount greater than zero.",
  AMOUNT_TOO_LARGE: "The amount is larger than the bank accepts in one request.",
  REQUEST_ID_REUSED: "This request was already made with different details. Please try again.",
  SESSION_NOT_FOUND: "That session no longer exists.",
  HOLD_NOT_PENDING: "That hold was already captured, released or expired.",
  HOLD_EXPIRED: "That hold has expired.",
  AMOUNT_EXCEEDS_HOLD: "You cannot capture more than the hold.",
  ALREADY_REVERSED: "That transaction was already reversed.",
  ACCOUNT_HAS_HOLDS: "The account has pending holds; capture or release them first.",
  ACCOUNT_NOT_EMPTY: "Only an account with a zero balance can be closed; move the money out first.",
  DATABASE_UNAVAILABLE: TRY_AGAIN_SOON,
  TRANSACTION_CONFLICT: TRY_AGAIN_SOON,
  SHUTTING_DOWN: "The bank is restarting. Please try again in a moment.",
};

/** Reasons that mean something else for one action: on ChangePassword, INVALID_CREDENTIALS is
 * about the current password typed, not the email (src/auth/self-service.ts). */
const ACTION_REASONS: Readonly<Partial<Record<Action, Readonly<Record<string, string>>>>> = {
  "change-password": {
    INVALID_CREDENTIALS: "Your current password is not right. Nothing was changed; check it and try again.",
    LOGIN_THROTTLED: "Too many wrong passwords for this account.",
  },
};

/** RESOURCE_EXHAUSTED reasons: what happened; how long to wait is added from the metadata. */
const THROTTLE_REASONS: Readonly<Record<string, string>> = {
  LOGIN_THROTTLED: "Too many failed sign-ins.",
  REGISTER_THROTTLED: "Too many new sign-ups from here.",
  AUTH_BUSY: "The bank is busy signing people in.",
  PASSWORD_CHECK_BUSY: "The bank is busy checking passwords.",
};

/** How amounts in a refusal are written: the console's formatter and the currency of the account
 * the person was acting on (the server's metadata carries minor units without a currency). */
export interface MoneyContext {
  currencies: Currencies;
  currency: string;
}

/** A sentence describing `err` for the person doing `action`. */
export function describeError(err: unknown, action: Action, money?: MoneyContext): string {
  if (isNetworkError(err)) return "Cannot reach the bank. Check your connection and try again.";
  const error = ConnectError.from(err);
  const info = error.findDetails(ErrorInfoSchema)[0];
  const reason = info?.reason ?? "";
  if (error.code === Code.ResourceExhausted) return describeThrottle(reason, retryAfterMs(err), action);
  if (reason === "DAILY_LIMIT_EXCEEDED") return describeDailyLimit(info?.metadata ?? {}, money);
  const known = ACTION_REASONS[action]?.[reason] ?? REASONS[reason];
  if (known) return known;
  return describeCode(error, action);
}

function describeThrottle(reason: string, waitMs: number | undefined, action: Action): string {
  const what = ACTION_REASONS[action]?.[reason] ?? THROTTLE_REASONS[reason] ?? (action === "sign-in" ? THROTTLE_REASONS["LOGIN_THROTTLED"]! : "Too many requests.");
  return waitMs === undefined ? `${what} Wait a moment, then try again.` : `${what} Wait ${formatWait(waitMs)}, then try again.`;
}

/** Which limit a DAILY_LIMIT_EXCEEDED names (metadata direction, src/ledger/daily-limits.ts). */
const LIMIT_NAMES: Readonly<Record<string, string>> = {
  deposit: "the account's daily deposit limit",
  withdrawal: "the account's daily withdrawal limit",
  transfer_out: "the account's daily limit for transfers out",
  incoming: "the receiving account's daily limit for incoming money",
};

/** DAILY_LIMIT_EXCEEDED carries metadata direction, limit and used (minor units) and resets_at
 * (RFC 3339, UTC; docs/api.md). The limit is named, the amounts are written in the account's
 * currency by the console's one formatter, the reset time in the person's time zone. Without a
 * currency to read them by, the amounts are left out rather than shown as raw minor units. */
function describeDailyLimit(metadata: Readonly<Record<string, string>>, money: MoneyContext | undefined): string {
  const name = LIMIT_NAMES[metadata["direction"] ?? ""] ?? "the account's daily limit";
  const amount = (raw: string | undefined): string | undefined =>
    money && raw !== undefined && /^\d{1,20}$/.test(raw) ? money.currencies.money({ currency: money.currency, minorUnits: BigInt(raw) }) : undefined;
  const limit = amount(metadata["limit"]);
  const used = amount(metadata["used"]);
  let text = `This would go past ${name}`;
  if (limit) text += ` of ${limit}`;
  if (used) text += ` (${used} used today)`;
  text += ".";
  const resetsMs = metadata["resets_at"] ? Date.parse(metadata["resets_at"]) : NaN;
  if (!Number.isNaN(resetsMs)) text += ` It resets at ${money ? money.currencies.time(resetsMs) : new Date(resetsMs).toLocaleString()}.`;
  return text;
}

function describeCode(error: ConnectError, action: Action): string {
  switch (error.code) {
    case Code.Unauthenticated:
      return action === "sign-in" ? BAD_CREDENTIALS : SIGN_IN_AGAIN;
    case Code.AlreadyExists:
      return action === "sign-up" ? "An account with this email already exists. Sign in instead." : "That already exists.";
    case Code.NotFound:
      return describeNotFound(action);
    case Code.PermissionDenied:
      return "You are not allowed to do that.";
    case Code.Unimplemented:
      return "This bank server does not offer that yet.";
    case Code.Unavailable:
    case Code.Aborted:
    case Code.DeadlineExceeded:
      return TRY_AGAIN_SOON;
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
      // The server's messages are written for people (docs/api.md) and never carry internals.
      return sentence(error.rawMessage) ?? "The request was not accepted. Check what you entered.";
    default:
      return "Something went wrong on our side. Please try again later.";
  }
}

function describeNotFound(action: Action): string {
  switch (action) {
    case "transfer":
    case "lookup":
      return "No account with that number was found.";
    case "capture":
    case "release":
      return "No such hold was found on this account.";
    case "reverse":
      return "No transaction with that id was found.";
    case "roles":
    case "disable":
    case "enable":
    case "reset-second-factor":
      return "That user was not found.";
    default:
      return "That was not found, or you may not see it.";
  }
}

function sentence(message: string): string | undefined {
  const text = message.trim();
  if (text === "" || text.length > 300) return undefined;
  const capitalized = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : capitalized + ".";
}

/** The server's ErrorInfo reason, when it sent one. */
export function reasonOf(err: unknown): string | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  return err.findDetails(ErrorInfoSchema)[0]?.reason;
}

/** The server's ErrorInfo metadata retry_after_ms, when it sent one. */
export function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  const raw = err.findDetails(ErrorInfoSchema)[0]?.metadata["retry_after_ms"];
  if (raw === undefined || !/^\d{1,10}$/.test(raw)) return undefined;
  return Number(raw);
}

/** fetch() failed before any HTTP response: offline, DNS, connection refused or reset. */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof TypeError) return true;
  return err instanceof ConnectError && err.code === Code.Unknown && err.cause instanceof TypeError;
}

/** Codes after which a request may or may not have been carried out: no answer came (network),
 * or the answer does not say (the server or a proxy failed, a deadline passed). Anything else is
 * the server's decision on the request, which a retry with the same request_id would only
 * replay. */
const UNCERTAIN_CODES: ReadonlySet<Code> = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Internal, Code.Unknown, Code.Canceled, Code.DataLoss]);

/** True when a mutating call may have gone through although it failed: the only case in which
 * it is sent again, and then always with the same request_id. */
export function isUncertain(err: unknown): boolean {
  if (isNetworkError(err)) return true;
  if (!(err instanceof ConnectError)) return true;
  return UNCERTAIN_CODES.has(err.code);
}
