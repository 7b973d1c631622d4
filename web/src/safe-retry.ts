// Money-safe retries. One intent (a form submitted with given values) has one request_id; every
// attempt of it sends that id, so the server (AIP-155) posts it at most once and replays the
// first answer to the others. When an attempt fails without a definite answer (no response, the
// server or a proxy failed), the money may have moved: the intent is kept, retried automatically
// with back-off up to a minute, and can be retried at once by the person. A new request_id is
// made only for a new intent: other values, or the same values after a definite answer.
import { isUncertain } from "./errors";
import { consoleLimits } from "./limits";
import { newRequestId } from "./request-id";
import type { Timers } from "./session";

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The delay before automatic retry number `retry` (0-based): doubling from the base, at most a
 * minute. */
export function retryDelayMs(retry: number): number {
  return Math.min(consoleLimits.safeRetryDelayMsMax, consoleLimits.safeRetryDelayMsBase * 2 ** Math.min(retry, 30));
}

/** A stable key for "the same intent": the method and the request without its request_id. */
export function fingerprint(method: string, request: object): string {
  return method + " " + JSON.stringify(request, (_key, value: unknown) => (typeof value === "bigint" ? `${value}n` : value));
}

export type OperationState = "sending" | "uncertain" | "done" | "refused" | "abandoned";

/** What SafeRetries keeps of an operation, whatever its result type. */
export interface Intent {
  readonly key: string;
  readonly requestId: string;
  readonly finished: boolean;
  attempt(): Promise<void>;
  abandon(): void;
}

export interface OperationEvents<T> {
  /** An attempt starts (the first, an automatic retry, or one the person asked for). */
  sending(op: SafeOperation<T>): void;
  /** No definite answer: the intent may or may not have been carried out. `nextRetryMs` is the
   * delay before the next automatic attempt, undefined when there will be none. */
  uncertain(op: SafeOperation<T>, error: unknown, nextRetryMs: number | undefined): void;
  done(op: SafeOperation<T>, value: T): void;
  /** A definite refusal (a business or validation failure): nothing was carried out. */
  refused(op: SafeOperation<T>, error: unknown): void;
}

export class SafeOperation<T> implements Intent {
  state: OperationState = "sending";
  /** Attempts sent so far, automatic ones included. */
  attempts = 0;
  private inFlight = 0;
  private retries = 0;
  private automatic = true;
  private timer: unknown;

  constructor(
    readonly key: string,
    readonly requestId: string,
    private readonly send: (requestId: string) => Promise<T>,
    private readonly events: OperationEvents<T>,
    private readonly timers: Timers,
    private readonly onSettled: (op: Intent) => void,
    private readonly onUncertain: (op: Intent) => void,
  ) {}

  get finished(): boolean {
    return this.state === "done" || this.state === "refused" || this.state === "abandoned";
  }

  /** Sends an attempt now, with the same request_id; concurrent attempts are safe (the server
   * applies one and replays it to the others). */
  async attempt(): Promise<void> {
    if (this.finished) return;
    this.cancelTimer();
    this.attempts++;
    this.inFlight++;
    this.state = "sending";
    this.events.sending(this);
    let value: T;
    try {
      value = await this.send(this.requestId);
    } catch (err) {
      this.inFlight--;
      this.failed(err);
      return;
    }
    this.inFlight--;
    if (this.finished) return;
    this.state = "done";
    this.cancelTimer();
    this.onSettled(this);
    this.events.done(this, value);
  }

  /** The person changed the form: no more automatic attempts of this intent (it stays known, so
   * the same values sent again still carry its request_id). */
  stopAutomatic(): void {
    this.automatic = false;
    this.cancelTimer();
  }

  /** Signed out: no more attempts, and answers still on their way are ignored. */
  abandon(): void {
    this.cancelTimer();
    if (!this.finished) this.state = "abandoned";
  }

  private failed(err: unknown): void {
    if (this.finished) return;
    if (!isUncertain(err)) {
      this.state = "refused";
      this.cancelTimer();
      this.onSettled(this);
      this.events.refused(this, err);
      return;
    }
    // Another attempt of the same intent is still out: its answer decides.
    if (this.inFlight > 0) return;
    this.state = "uncertain";
    this.onUncertain(this);
    const next = this.automatic && this.retries < consoleLimits.safeRetryAutomaticMax ? retryDelayMs(this.retries) : undefined;
    if (next !== undefined) {
      this.retries++;
      this.timer = this.timers.setTimeout(() => void this.attempt(), next);
    }
    this.events.uncertain(this, err, next);
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The console's intents: which request_id each intent has, and the operations under way. */
export class SafeRetries {
  /** Intents whose outcome is not known, by key: sending the same values again reuses the id. */
  private readonly unknownOutcome = new Map<string, string>();
  private readonly live = new Map<string, Intent>();

  constructor(
    private readonly timers: Timers = realTimers,
    private readonly newId: () => string = newRequestId,
  ) {}

  /** Starts (or, for the same values while an attempt is out or awaited, re-sends) an intent. */
  run<T>(method: string, request: object, send: (requestId: string) => Promise<T>, events: OperationEvents<T>): SafeOperation<T> {
    const key = fingerprint(method, request);
    const running = this.live.get(key) as SafeOperation<T> | undefined; // one key, one method: one T
    if (running && !running.finished) {
      void running.attempt();
      return running;
    }
    const requestId = this.unknownOutcome.get(key) ?? this.newId();
    const op = new SafeOperation<T>(key, requestId, send, events, this.timers, (o) => this.settled(o), (o) => this.remember(o));
    this.live.set(key, op);
    void op.attempt();
    return op;
  }

  /** The request_id the next submission of these values would carry, if one is kept. */
  keptRequestId(method: string, request: object): string | undefined {
    return this.unknownOutcome.get(fingerprint(method, request));
  }

  /** Stops every operation (sign-out). The ids of intents with an unknown outcome are kept, so
   * the same person sending the same values after signing in again cannot post them twice. */
  abandonAll(): void {
    for (const op of this.live.values()) op.abandon();
    this.live.clear();
  }

  private remember(op: Intent): void {
    this.unknownOutcome.delete(op.key);
    this.unknownOutcome.set(op.key, op.requestId);
    // Bounded: the oldest unknown outcomes are forgotten first (see limits.ts).
    while (this.unknownOutcome.size > consoleLimits.unknownOutcomesMax) {
      const oldest = this.unknownOutcome.keys().next().value as string;
      this.unknownOutcome.delete(oldest);
    }
  }

  private settled(op: Intent): void {
    this.unknownOutcome.delete(op.key);
    if (this.live.get(op.key) === op) this.live.delete(op.key);
  }
}
