// The time the domains read: one clock, built by the app (src/app.ts) and handed to each module
// through its deps, so that tests can move time on (a session's recheck, a lockout's end, a
// TOTP step) instead of waiting for it.

export interface Clock {
  /** Milliseconds since the epoch (the Date.now() scale). */
  now(): number;
}

/** The process's own clock. */
export const systemClock: Clock = { now: () => Date.now() };
