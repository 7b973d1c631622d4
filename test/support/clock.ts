// The clock of the bankd apps a test file starts in this process (startTestApp, startSecondApp):
// the system's time plus what the tests have moved it on by. Time still flows (timeouts, the
// database's own clock and real elapsed time stay consistent with it); a test that needs a
// window to end (a session recheck, a TOTP step) moves it on instead of sleeping. Shared by the
// apps of one test file as processes on one host share theirs (jest gives each file its own
// modules). A bankd started as a child process reads the system clock, which tests cannot move.
import type { Clock } from "../../src/util/clock";

export class TestClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves the clock on by `ms` (never back: nothing in bankd expects time to run backwards). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`a test clock moves forward only (asked to move by ${ms} ms)`);
    this.offsetMs += ms;
  }
}

/** The in-process apps' clock (see above). */
export const testClock = new TestClock();
