// TOTP codes for tests that sign staff in (issue 27): computed from the secret EnrollTotp gave,
// as an authenticator app would. The server accepts each time step once per user (replay), so a
// user's second sign-in within one 30 s step needs the next step's code (the server tolerates
// one step ahead) or, past that, waiting for time to move on. This is the one place that knows:
// it remembers the last step used per secret (per test file: jest isolates modules).
import { setTimeout as delay } from "node:timers/promises";
import { Secret, TOTP } from "otpauth";

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
  const now = stepAt(Date.now());
  const step = Math.max(now, (lastStepBySecret.get(secret) ?? -1) + 1);
  if (step > now + 1) return undefined;
  usedStep(secret, step);
  return codeAtStep(secret, step);
}

/** As codeNow, waiting for the next step boundary (at most 30 s) when both usable steps are
 * spent. */
export async function nextCode(secret: string): Promise<string> {
  for (;;) {
    const code = codeNow(secret);
    if (code !== undefined) return code;
    await delay(STEP_SECONDS * 1000 - (Date.now() % (STEP_SECONDS * 1000)) + 50);
  }
}
