// TOTP codes for tests that sign staff in (issue 27): computed from the secret EnrollTotp gave,
// as an authenticator app would. The server accepts each time step once per user (replay), so a
// user's second sign-in within one 30 s step needs the next step's code (the server tolerates
// one step ahead) or, past that, the next step: the in-process apps' clock (support/clock.ts) is
// moved on to it, rather than waiting up to 30 s. This is the one place that knows: it remembers
// the last step used per secret (per test file: jest isolates modules).
import { Secret, TOTP } from "otpauth";
import { testClock } from "./clock";

const STEP_SECONDS = 30;
const lastStepBySecret = new Map<string, number>();

function totp(secret: string): TOTP {
  return new TOTP({ algorithm: "SHA1", digits: 6, period: STEP_SECONDS, secret: Secret.fromBase32(secret) });
}

export function stepAt(ms: number): number {
  return Math.floor(ms / 1000 / STEP_SECONDS);
}

/** The code of a given time step (for stale or future codes in tests of refusals). */
export function codeAtStep(secret: string, step: number): string {
  return totp(secret).generate({ timestamp: step * STEP_SECONDS * 1000 });
}

/** Records that the server accepted `step` for this secret (a code used outside nextCode). */
export function usedStep(secret: string, step: number): void {
  lastStepBySecret.set(secret, Math.max(step, lastStepBySecret.get(secret) ?? -1));
}

/** A code the server will accept now without waiting (the current step's, or the next one's,
 * within the server's tolerance of one step), never one of a step used before with this
 * secret; undefined when both are spent. */
export function codeNow(secret: string): string | undefined {
  const now = stepAt(testClock.now());
  const step = Math.max(now, (lastStepBySecret.get(secret) ?? -1) + 1);
  if (step > now + 1) return undefined;
  usedStep(secret, step);
  return codeAtStep(secret, step);
}

/** As codeNow; when both usable steps are spent, moves the in-process apps' clock on to the next
 * step's start first (a bankd in a child process reads the system clock: there the code would be
 * refused, and the test says so with the server's answer). */
export function nextCode(secret: string): string {
  const code = codeNow(secret);
  if (code !== undefined) return code;
  const stepMs = STEP_SECONDS * 1000;
  testClock.advance(stepMs - (testClock.now() % stepMs));
  const next = codeNow(secret);
  if (next === undefined) throw new Error("no TOTP step is free after moving the clock on by a step");
  return next;
}
