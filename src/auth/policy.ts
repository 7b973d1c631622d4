// Input rules for accounts: email normalization and validation, full names, and the password
// policy (length after NFKC, never truncated, zxcvbn-ts score >= 3 also against the user's own
// email and name).
import { invalidArgument } from "../errors";
import { limits } from "../limits";
import { passwordStrength } from "./password-strength";

/** Lowest zxcvbn score accepted ("safely unguessable: moderate protection from offline attacks"). */
const PASSWORD_SCORE_MIN = 3;
/** A pragmatic address check: one @, no spaces or controls, a dotted domain of LDH labels. */
const EMAIL = /^[^\s@\p{Cc}]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/u;
const CONTROL = /\p{Cc}|\p{Cf}/u;
/** Letters and digits a password must keep once the user's own words are removed. */
const USER_WORDS_REST_CHARS_MIN = 6;

/** Trimmed and lower-cased; the form stored and looked up. */
export function normalizeEmail(raw: string): string {
  return raw.normalize("NFKC").trim().toLowerCase();
}

/** Whether a normalized email could have been registered (validEmail accepts it). Sign-in
 * looks up only those: others (a NUL byte, which PostgreSQL refuses in text) are unknown. */
export function isValidEmail(email: string): boolean {
  return email.length > 0 && email.length <= limits.emailCharsMax && EMAIL.test(email);
}

/** The normalized email, or INVALID_ARGUMENT (reason INVALID_EMAIL). */
export function validEmail(raw: string): string {
  const email = normalizeEmail(raw);
  if (!isValidEmail(email)) {
    throw invalidArgument("INVALID_EMAIL", "The email address is not valid.");
  }
  return email;
}

export function validFullName(raw: string): string {
  const name = raw.normalize("NFKC").trim();
  if (name.length === 0 || [...name].length > limits.fullNameCharsMax || CONTROL.test(name)) {
    throw invalidArgument("INVALID_FULL_NAME", `The full name must be 1 to ${limits.fullNameCharsMax} printable characters.`);
  }
  return name;
}

/** The form of a password that is hashed and verified: NFKC, so that the same text typed on
 * different keyboards (composed or decomposed accents) is the same password. */
export function normalizePassword(raw: string): string {
  return raw.normalize("NFKC");
}

/** Checks a new password against the policy; returns its normalized form. */
export async function validNewPassword(raw: string, user: { email: string; fullName: string }): Promise<string> {
  const password = normalizePassword(raw);
  const chars = [...password].length;
  if (chars < limits.passwordCharsMin) {
    throw invalidArgument("PASSWORD_TOO_SHORT", `The password must have at least ${limits.passwordCharsMin} characters.`);
  }
  if (chars > limits.passwordCharsMax) {
    throw invalidArgument("PASSWORD_TOO_LONG", `The password must have at most ${limits.passwordCharsMax} characters.`);
  }
  const inputs = userInputs(user);
  if (builtFromUserWords(password, inputs)) {
    throw invalidArgument("PASSWORD_TOO_WEAK", "The password must not be built from your email address or name.");
  }
  const result = await passwordStrength(password, inputs);
  if (result.score < PASSWORD_SCORE_MIN) {
    const hint = result.warning;
    throw invalidArgument("PASSWORD_TOO_WEAK", "The password is too easy to guess; use a longer passphrase of unrelated words.", hint ? { hint } : {});
  }
  return password;
}

/** The user's own words, which a password must not lean on. */
function userInputs(user: { email: string; fullName: string }): string[] {
  const local = user.email.split("@")[0] ?? "";
  const words = [user.email, local, user.fullName, ...local.split(/[._+-]/), ...user.fullName.split(/\s+/)];
  return [...new Set(words.map((w) => w.toLowerCase()).filter((w) => w.length >= 3))];
}

/** True when little is left of the password once the user's own words are taken out: zxcvbn
 * scores some rearrangements of them ("smith.john") as strong. */
function builtFromUserWords(password: string, words: readonly string[]): boolean {
  const lower = password.toLowerCase();
  let rest = lower;
  for (const word of [...words].sort((a, b) => b.length - a.length)) rest = rest.split(word).join("");
  return rest !== lower && rest.replace(/[^\p{L}\p{N}]/gu, "").length < USER_WORDS_REST_CHARS_MIN;
}
