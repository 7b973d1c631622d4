// Signs an idle staff screen out (issue 27): no input for consoleLimits.staffIdleMs ends the
// session, with a warning consoleLimits.idleWarningLeadMs before. Only people's input counts
// (keys, pointer, wheel, touch, typing): the console's own calls (token refresh, live statement)
// are not activity. The timers are injectable, as TokenKeeper's, for tests.
import { consoleLimits } from "./limits";
import { realTimers, type Timers } from "./session";

export interface IdleHandlers {
  /** The warning is due: the screen is signed out in `msLeft` unless there is input. */
  warn(msLeft: number): void;
  /** Input after a warning: hide it. */
  resumed(): void;
  /** No input for the whole idle time. */
  idle(): void;
}

export class IdleWatch {
  private warnTimer: unknown;
  private idleTimer: unknown;
  private running = false;
  private warned = false;

  constructor(
    private readonly handlers: IdleHandlers,
    private readonly timers: Timers = realTimers,
    private readonly idleMs: number = consoleLimits.staffIdleMs,
    private readonly leadMs: number = consoleLimits.idleWarningLeadMs,
  ) {}

  get active(): boolean {
    return this.running;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.warned = false;
    this.clear();
  }

  /** A person did something: the idle time starts again. */
  activity(): void {
    if (!this.running) return;
    if (this.warned) {
      this.warned = false;
      this.handlers.resumed();
    }
    this.schedule();
  }

  private schedule(): void {
    this.clear();
    this.warnTimer = this.timers.setTimeout(() => {
      this.warned = true;
      this.handlers.warn(this.leadMs);
    }, Math.max(0, this.idleMs - this.leadMs));
    this.idleTimer = this.timers.setTimeout(() => {
      this.stop();
      this.handlers.idle();
    }, this.idleMs);
  }

  private clear(): void {
    this.timers.clearTimeout(this.warnTimer);
    this.timers.clearTimeout(this.idleTimer);
    this.warnTimer = undefined;
    this.idleTimer = undefined;
  }
}

/** The input events that count as a person being there. */
export const ACTIVITY_EVENTS = ["keydown", "pointerdown", "wheel", "touchstart", "input"] as const;
