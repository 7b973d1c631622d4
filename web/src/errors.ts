// Turns Connect errors into plain sentences for people. The ErrorInfo reason (AIP-193) is the
// most specific signal; then the Connect code, read in the context of what the person was doing.
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";

/** What the person was doing, so that one code can be told in the right words. */
export type Action = "sign-in" | "sign-up" | "refresh" | "load" | "open-account" | "deposit" | "transfer" | "revoke" | "sign-out";

const SIGN_IN_AGAIN = "Your session has ended. Please sign in again.";
const BAD_CREDENTIALS = "The email or password is not right. Check both and try again.";
const TRY_AGAIN_SOON = "The bank is temporarily unavailable. Please try again in a moment.";

/** The reasons bankd sends (src/auth, src/ledger), in words for people. */
const REASONS: Readonly<Record<string, string>> = {
  INVALID_CREDENTIALS: BAD_CREDENTIALS,
  LOGIN_THROTTLED: "Too many failed sign-ins. Wait a little, then try again.",
  AUTH_BUSY: "The bank is busy signing people in. Please try again in a moment.",
  USER_DISABLED: "This user has been disabled. Contact the bank.",
  EMAIL_TAKEN: "An account with this email already exists. Sign in instead.",
  INVALID_EMAIL: "Enter a valid email address.",
  INVALID_FULL_NAME: "Enter your full name.",
  PASSWORD_TOO_WEAK: "This password is too easy to guess. Use a longer passphrase that is not based on your name or email.",
  PASSWORD_TOO_SHORT: "The password must be at least 12 characters long.",
  PASSWORD_TOO_LONG: "The password must be at most 128 characters long.",
  TOKEN_EXPIRED: SIGN_IN_AGAIN,
  TOKEN_INVALID: SIGN_IN_AGAIN,
  TOKEN_MISSING: SIGN_IN_AGAIN,
  SESSION_ENDED: SIGN_IN_AGAIN,
  REFRESH_TOKEN_INVALID: SIGN_IN_AGAIN,
  INSUFFICIENT_FUNDS: "There is not enough money in the account for this.",
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
  DATABASE_UNAVAILABLE: TRY_AGAIN_SOON,
  TRANSACTION_CONFLICT: TRY_AGAIN_SOON,
  SHUTTING_DOWN: "The bank is restarting. Please try again in a moment.",
};

/** A sentence describing `err` for the person doing `action`. */
export function describeError(err: unknown, action: Action): string {
  if (isNetworkError(err)) return "Cannot reach the bank. Check your connection and try again.";
  const error = ConnectError.from(err);
  const reason = error.findDetails(ErrorInfoSchema)[0]?.reason ?? "";
  const known = REASONS[reason];
  if (known) return known;
  return describeCode(error, action);
}

function describeCode(error: ConnectError, action: Action): string {
  switch (error.code) {
    case Code.Unauthenticated:
      return action === "sign-in" ? BAD_CREDENTIALS : SIGN_IN_AGAIN;
    case Code.AlreadyExists:
      return action === "sign-up" ? "An account with this email already exists. Sign in instead." : "That already exists.";
    case Code.NotFound:
      return action === "transfer" ? "No account with that number was found." : "That was not found, or you may not see it.";
    case Code.PermissionDenied:
      return "You are not allowed to do that.";
    case Code.ResourceExhausted:
      return action === "sign-in" ? "Too many failed sign-ins. Wait a little, then try again." : "Too many requests. Wait a moment, then try again.";
    case Code.Unavailable:
    case Code.Aborted:
    case Code.DeadlineExceeded:
      return TRY_AGAIN_SOON;
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
      // The server's messages are written for people (API.md) and never carry internals.
      return sentence(error.rawMessage) ?? "The request was not accepted. Check what you entered.";
    default:
      return "Something went wrong on our side. Please try again later.";
  }
}

function sentence(message: string): string | undefined {
  const text = message.trim();
  if (text === "" || text.length > 300) return undefined;
  const capitalized = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : capitalized + ".";
}

/** fetch() failed before any HTTP response: offline, DNS, connection refused or reset. */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof TypeError) return true;
  return err instanceof ConnectError && err.code === Code.Unknown && err.cause instanceof TypeError;
}

/** Errors after which the same request may be sent again with the same request_id. */
export function isRetryable(err: unknown): boolean {
  if (isNetworkError(err)) return true;
  return err instanceof ConnectError && (err.code === Code.Unavailable || err.code === Code.Aborted);
}
