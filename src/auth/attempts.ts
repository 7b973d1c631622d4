// A password check under the sign-in throttle (throttle.ts), shared by Login and
// ChangePassword: the attempt is reserved before argon2 runs (issue 15, W7), a refused attempt
// is audited through the refusal aggregator (W8: one event per key and window, however often an
// attacker retries), and a check that never ran gives its reservation back.
import { auditBase } from "../audit/recorder";
import type { CallInfo } from "../context";
import type { AuthDeps } from "./deps";
import { cancelReservation, reserveAttempt, throttledError, type ThrottleKeys } from "./throttle";

export interface Attempt {
  keys: ThrottleKeys;
  /** The audited action: "auth.login" or "auth.password_change". */
  action: string;
  /** The user the attempt is for, when the email names one. */
  userId: string | undefined;
}

/** Runs `check` (argon2) if the throttle lets this attempt through; LOGIN_THROTTLED otherwise. */
export async function checkAttempt<T>(deps: AuthDeps, info: CallInfo, attempt: Attempt, check: () => Promise<T>): Promise<T> {
  const refusal = await reserveAttempt(deps.db, attempt.keys, Date.now());
  if (refusal) {
    const actorId = info.principal?.userId ?? attempt.userId ?? "anonymous";
    const targetId = attempt.userId ?? "";
    deps.refusals.note(`${attempt.action}:throttled:${refusal.scope}:${targetId}:${info.clientAddress}`, {
      ...auditBase(info),
      actorId,
      action: attempt.action,
      targetId,
      outcome: "DENIED",
      details: { reason: "throttled", scope: refusal.scope },
    });
    throw throttledError(refusal);
  }
  try {
    return await check();
  } catch (err) {
    // argon2's queue was full (AUTH_BUSY) or the check failed to run: nothing was checked.
    await cancelReservation(deps.db, attempt.keys).catch((cancelErr: unknown) => deps.logger.warn({ err: cancelErr }, "could not give back a sign-in reservation"));
    throw err;
  }
}
