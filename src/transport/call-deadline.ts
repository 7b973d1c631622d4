// What a handler (and the domain code it calls) may know about when its call must end.
//
// Every call has a deadline: the transport gives unary calls limits.deadlineMsDefault when the
// client names none and clamps longer ones to limits.deadlineMsMax (streams: the stream limits),
// so `ctx.signal` fires at the effective deadline. It also fires when the client goes away and
// when the process drains; its `reason` says which (a ConnectError: deadline_exceeded, canceled,
// or unavailable). Domain code takes the plain signal and deadline, never the Connect context.
import type { HandlerContext } from "@connectrpc/connect";

export interface CallDeadline {
  /** Fires at the deadline, when the client goes away, or when the process drains. */
  signal: AbortSignal;
  /** The absolute deadline, in milliseconds since the epoch (Date.now() scale); undefined only
   * for calls that did not come through the transport (in-memory tests). */
  deadlineMs: number | undefined;
}

/** The deadline and abort signal of the call `ctx` serves. */
export function callDeadline(ctx: HandlerContext): CallDeadline {
  const remainingMs = ctx.timeoutMs();
  return { signal: ctx.signal, deadlineMs: remainingMs === undefined ? undefined : Date.now() + remainingMs };
}

/** Milliseconds left before `deadline` (0 when passed; Infinity when there is none). */
export function remainingMs(deadline: CallDeadline, nowMs = Date.now()): number {
  if (deadline.deadlineMs === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(0, deadline.deadlineMs - nowMs);
}
