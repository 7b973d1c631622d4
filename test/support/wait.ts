// Bounded waits on an observable condition, instead of sleeping and hoping it happened.
import { setTimeout as delay } from "node:timers/promises";

/** Resolves once `condition()` holds; fails with `what` after `timeoutMs`. Checks every
 * `intervalMs` (the condition is an observation, such as a database query, not an event we
 * can subscribe to). */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(opts.intervalMs ?? 10);
  }
}
