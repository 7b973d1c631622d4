// One account's live feed: AccountService.WatchAccount over Connect-Web server streaming (fetch,
// same origin), kept open for as long as the account is shown. The stream resumes from the last
// cursor it was given (an entry's, or a heartbeat's), so a reconnect neither repeats nor skips an
// entry. Streams end for ordinary reasons (the server drains, the deadline passes, a slow reader is
// cut off with WATCH_TOO_SLOW, the network fails, the connection goes silent): each is followed by
// a reconnect with a doubling, jittered back-off, bounded like the safe retries of money forms.
// Refusals that another attempt would only repeat (the account is gone or not the caller's, the
// session ended) stop the feed. Each stream's first message, and a message after every committed
// freeze, unfreeze or close, carries the account as it is now (issue 28): a reconnect thus learns
// of a change it missed. A closed account's stream ends with OK after it says so: the feed stops.
import { Code, ConnectError } from "@connectrpc/connect";
import { AccountStatus, type Account } from "../../gen/bank/v1/account_pb";
import type { WatchAccountResponse } from "../../gen/bank/v1/account_service_pb";
import type { StatementEntry } from "../../gen/bank/v1/transaction_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { retryAfterMs } from "./errors";
import { consoleLimits } from "./limits";
import type { Timers } from "./session";

/** connecting: a stream is out, nothing came yet; live: it delivers; waiting: it ended and the
 * next one starts after a back-off; stopped: no more streams (stop(), a refusal, or too many
 * failures in a row). */
export type LiveState = "connecting" | "live" | "waiting" | "stopped";

export interface LiveEvents {
  /** A new entry, in statement order. `previousCursor` is the position just before it (the
   * previous entry's cursor, or where the stream started; "" when that is not known), so the
   * statement can tell whether the entry follows directly the newest line it shows. */
  entry(entry: StatementEntry, previousCursor: string): void;
  /** A stream that started without a cursor delivers: entries committed between the last read
   * and the stream's start are in neither, so what is shown must be read again. */
  resync(): void;
  /** The account as it is now: on each stream's first message and after each status change. */
  account(account: Account): void;
  /** The feed's state changed; `retryInMs` when waiting, `error` the reason it left "live",
   * `gaveUp` when it stopped by itself (a refusal, or too many failures in a row) rather than by
   * stop(). */
  state(state: LiveState, detail: LiveDetail): void;
}

export interface LiveDetail {
  retryInMs?: number;
  error?: unknown;
  gaveUp?: boolean;
  /** Stopped because the account is closed: nothing will ever come again. */
  closed?: boolean;
}

/** Opens one WatchAccount stream after `startAfter` ("" = from now). */
export type OpenStream = (startAfter: string, signal: AbortSignal) => AsyncIterable<WatchAccountResponse>;

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The wait before reconnect number `failures` (0-based count of streams in a row that delivered
 * nothing): doubling from the base up to the maximum, with jitter in [half, full] so that the
 * consoles a drain cut off do not all come back at the same instant. */
export function reconnectDelayMs(failures: number, random: () => number): number {
  const ceiling = Math.min(consoleLimits.liveReconnectDelayMsMax, consoleLimits.liveReconnectDelayMsBase * 2 ** Math.min(failures, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** Errors after which another stream would be refused the same way: stop, do not reconnect.
 * CURSOR_INVALID is not among them (the feed starts again without a cursor and resyncs). */
export function endsTheFeed(err: unknown): boolean {
  if (!(err instanceof ConnectError)) return false;
  switch (err.code) {
    case Code.NotFound:
    case Code.PermissionDenied:
    case Code.Unauthenticated:
    case Code.Unimplemented:
    case Code.FailedPrecondition:
      return true;
    case Code.InvalidArgument:
      return !isCursorInvalid(err);
    default:
      return false;
  }
}

export function isCursorInvalid(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.InvalidArgument && err.findDetails(ErrorInfoSchema)[0]?.reason === "CURSOR_INVALID";
}

export class LiveWatch {
  private stopped = false;
  private started = false;
  private stream: AbortController | undefined;
  private silenceTimer: unknown;
  private waitTimer: unknown;
  private wakeWait: (() => void) | undefined;
  /** Streams in a row that ended before delivering anything. */
  private failures = 0;
  /** A stream said the account is closed. */
  private closed = false;

  constructor(
    private readonly open: OpenStream,
    /** Where the feed starts: the newest statement line's cursor, or "" when none is known. */
    private cursor: string,
    private readonly events: LiveEvents,
    private readonly timers: Timers = realTimers,
    private readonly random: () => number = Math.random,
  ) {}

  /** The position the next stream resumes after. */
  get lastCursor(): string {
    return this.cursor;
  }

  get running(): boolean {
    return this.started && !this.stopped;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.run();
  }

  /** Ends the feed: the stream out is aborted, no other starts. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stream?.abort();
    this.clearSilence();
    this.endWait();
    this.events.state("stopped", {});
  }

  /** Skips the rest of a back-off (the browser is online again, or the person asked). */
  reconnectNow(): void {
    this.endWait();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const error = await this.once();
      if (this.stopped) return;
      // The stream of a closed account ends once it has said so and sent what it owed.
      if (this.closed && error === undefined) {
        this.stopped = true;
        this.events.state("stopped", { closed: true });
        return;
      }
      if (endsTheFeed(error)) {
        this.stopped = true;
        this.events.state("stopped", { error, gaveUp: true });
        return;
      }
      // A cursor this server does not accept cannot become valid: start over from now, and
      // read what is shown again once the new stream delivers.
      if (isCursorInvalid(error)) this.cursor = "";
      if (this.failures >= consoleLimits.liveReconnectsMax) {
        this.stopped = true;
        this.events.state("stopped", { error, gaveUp: true });
        return;
      }
      const delayMs = Math.max(reconnectDelayMs(this.failures, this.random), retryAfterMs(error) ?? 0);
      this.failures++;
      this.events.state("waiting", { retryInMs: delayMs, error });
      await this.wait(delayMs);
    }
  }

  /** One stream, read to its end; answers why it ended (undefined: it simply ended). */
  private async once(): Promise<unknown> {
    const controller = new AbortController();
    this.stream = controller;
    const withoutCursor = this.cursor === "";
    let delivered = false;
    this.events.state("connecting", {});
    this.armSilence(controller);
    try {
      for await (const res of this.open(this.cursor, controller.signal)) {
        if (this.stopped || controller.signal.aborted) break;
        this.armSilence(controller);
        if (!delivered) {
          delivered = true;
          this.failures = 0;
          this.events.state("live", {});
          if (withoutCursor) this.events.resync();
        }
        this.deliver(res);
      }
      return undefined;
    } catch (err) {
      return err;
    } finally {
      this.clearSilence();
      if (this.stream === controller) this.stream = undefined;
    }
  }

  private deliver(res: WatchAccountResponse): void {
    const previous = this.cursor;
    // A heartbeat carries the position after the last entry: the same place to resume from.
    if (res.cursor !== "") this.cursor = res.cursor;
    if (res.entry) this.events.entry(res.entry, previous);
    if (res.account) {
      if (res.account.status === AccountStatus.CLOSED) this.closed = true;
      this.events.account(res.account);
    }
  }

  /** A stream that stays silent longer than a few heartbeats is a dead connection (a proxy or a
   * network that dropped it without a word): abort it, and the loop reconnects. */
  private armSilence(controller: AbortController): void {
    this.clearSilence();
    this.silenceTimer = this.timers.setTimeout(() => controller.abort(), consoleLimits.liveSilenceMsMax);
  }

  private clearSilence(): void {
    if (this.silenceTimer === undefined) return;
    this.timers.clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeWait = resolve;
      this.waitTimer = this.timers.setTimeout(() => this.endWait(), ms);
    });
  }

  private endWait(): void {
    if (this.waitTimer !== undefined) this.timers.clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    const wake = this.wakeWait;
    this.wakeWait = undefined;
    wake?.();
  }
}
