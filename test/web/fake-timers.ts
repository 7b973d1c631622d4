// Timers the console's logic tests move by hand (the console takes a Timers object so that
// token refreshes, retries and reconnects can be tested without waiting).
import type { Timers } from "../../web/src/session";

/** Timers the test moves by hand; shared by the token, retry and live feed tests. */
export class FakeTimers implements Timers {
  nowMs = 1_000_000;
  private pending: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  now = () => this.nowMs;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.pending.push({ at: this.nowMs + ms, fn, id });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.pending = this.pending.filter((p) => p.id !== handle);
  };
  /** Delays of the timers pending now, from now. */
  delays(): number[] {
    return this.pending.map((p) => p.at - this.nowMs);
  }
  /** Moves the clock forward, running the timers that come due. */
  async advance(ms: number): Promise<void> {
    this.nowMs += ms;
    for (const due of this.pending.filter((p) => p.at <= this.nowMs)) {
      this.clearTimeout(due.id);
      due.fn();
    }
    await settle();
  }
}

/** Lets pending promise callbacks run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
