// A password check under the sign-in throttle (throttle.ts), shared by Login and
// ChangePassword. Attempts for one account from one address take turns in this process, and
// each is reserved in the database before argon2 runs (issue 15, W7: parallel guesses get no
// more checks than allowed, within a process and across processes); a refused attempt is
// audited through the refusal aggregator (W8: one event per key and window, however often an
// attacker retries), and a check that never ran gives its reservation back.
import { auditBase } from "../audit/recorder";
import type { CallInfo } from "../call-info";
import { resourceExhausted } from "../errors";
import { limits } from "../limits";
import type { AuthDeps } from "./deps";
import { cancelReservation, releaseAttempt, reserveAttempt, throttledError, type ThrottleKeys } from "./throttle";
import { KeyedTurns } from "./turns";

export interface Attempt {
  keys: ThrottleKeys;
  /** The audited action: "auth.login" or "auth.password_change". */
  action: string;
  /** The user the attempt is for, when the email names one. */
  userId: string | undefined;
}

/** Sign-in attempts of one process, one at a time per account and address. */
export function attemptTurns(): KeyedTurns {
  return new KeyedTurns(limits.loginAttemptsQueuedPerPairMax, () =>
    resourceExhausted("AUTH_BUSY", "Too many sign-ins at once; retry shortly.", { retry_after_ms: String(limits.argon2QueueWaitMs) }),
  );
}

/** Runs a whole attempt (the check and the recording of its outcome) in its account and
 * address's turn, so that the next attempt sees this one's outcome. */
export function inTurn<T>(deps: AuthDeps, attempt: Pick<Attempt, "keys">, run: () => Promise<T>): Promise<T> {
  return deps.attemptTurns.run(attempt.keys.pair, run);
}

/** Runs `check` (argon2) if the throttle lets this attempt through; LOGIN_THROTTLED otherwise. */
export async function checkAttempt<T>(deps: AuthDeps, info: CallInfo, attempt: Attempt, check: () => Promise<T>): Promise<T> {
  const refusal = await reserveAttempt(deps.db, attempt.keys, deps.clock.now());
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

/**
 * Runs the unit of work that follows a successful check (`work`, which releases the attempt in
 * it). When that unit of work does not commit (the caller's deadline passed, the caller went
 * away, the database failed), the release went with it; the password was right all the same, so
 * the attempt is released again in its own unit of work, without the call's signal (which has
 * fired): a deadline is the caller giving up, not a wrong password (issue 26, item 11).
 */
export async function afterSuccessfulCheck<T>(deps: AuthDeps, keys: ThrottleKeys, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    await deps.db.transaction((tx) => releaseAttempt(tx, keys)).catch((releaseErr: unknown) => deps.logger.warn({ err: releaseErr }, "could not release a sign-in reservation after a right password"));
    throw err;
  }
}
