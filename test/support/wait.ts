// Bounded waits on an observable condition, instead of sleeping and hoping it happened. The one
// polling helper of the suite: every poll has its own deadline and says what it waited for.
import { setTimeout as delay } from "node:timers/promises";

export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Look again after this long (default 10 ms). */
  intervalMs?: number;
}

/** Resolves with `read()`'s first truthy value; fails with `what` after `timeoutMs`. Checks every
 * `intervalMs` (the value is an observation, such as a database query, not an event we can
 * subscribe to). */
export async function eventually<T>(what: string, read: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(opts.intervalMs ?? 10);
  }
}

/** Resolves once `condition()` holds; fails with `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, opts: WaitOptions = {}): Promise<void> {
  await eventually(what, condition, opts);
}
