// The deadline policy, applied to a request's timeout header before connect-es reads it: a call
// without a deadline gets the default, a longer one is clamped to the maximum (never refused: many
// clients default to 60 s or more), a malformed one is refused. Unary and streaming calls have
// their own default and maximum (limits.ts). connect-es then builds the handler's `ctx.signal`
// from the header, so it fires at the effective deadline.
import type { Protocol } from "./rpc-protocol";
import { HEADER } from "./headers";

export interface DeadlinePolicy {
  defaultMs: number;
  maxMs: number;
}

export type TimeoutOutcome = { ok: true; timeoutMs: number } | { ok: false; value: string };

// The specifications allow 8 digits (gRPC) and 10 (Connect); longer values are accepted and
// clamped like any long deadline (connect-es's own client sends 9 digits for a 2-day deadline).
const GRPC_TIMEOUT = /^(\d{1,20})([HMSmun])$/;
const CONNECT_TIMEOUT = /^\d{1,20}$/;
const GRPC_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/** The header that carries the deadline in `protocol`. */
export function timeoutHeader(protocol: Protocol): string {
  return protocol === "connect" ? HEADER.connectTimeoutMs : HEADER.grpcTimeout;
}

/** The effective timeout of a call that asked for `requestedMs` (undefined: no deadline): the
 * default, the maximum, or under a millisecond 0 (see below); the gRPC port (src/transport/)
 * reads the deadline grpc-js parsed and applies this. */
export function effectiveTimeoutMs(requestedMs: number | undefined, policy: DeadlinePolicy): number {
  if (requestedMs === undefined) return policy.defaultMs;
  if (requestedMs > policy.maxMs) return policy.maxMs;
  return requestedMs < 1 ? 0 : requestedMs;
}

/** Rewrites the timeout header of `header` to the effective deadline; returns it, or the
 * malformed value when the header cannot be read. */
export function applyDeadlinePolicy(header: Headers, protocol: Protocol, policy: DeadlinePolicy): TimeoutOutcome {
  const name = timeoutHeader(protocol);
  const value = header.get(name);
  if (value === null) {
    header.set(name, format(protocol, policy.defaultMs));
    return { ok: true, timeoutMs: policy.defaultMs };
  }
  const requestedMs = parse(protocol, value.trim());
  if (requestedMs === undefined) return { ok: false, value: value.slice(0, 32) };
  if (requestedMs > policy.maxMs) {
    header.set(name, format(protocol, policy.maxMs));
    return { ok: true, timeoutMs: policy.maxMs };
  }
  if (requestedMs < 1) {
    // Under a millisecond (gRPC's "u" and "n" units) the deadline has passed by the time the
    // header is read. connect-es would arm a timer that fires only after the work has started
    // (a posting could commit and answer OK); 0 aborts the call's signal at once instead.
    header.set(name, format(protocol, 0));
    return { ok: true, timeoutMs: 0 };
  }
  return { ok: true, timeoutMs: requestedMs };
}

function parse(protocol: Protocol, value: string): number | undefined {
  if (protocol === "connect") return CONNECT_TIMEOUT.test(value) ? Number(value) : undefined;
  const m = GRPC_TIMEOUT.exec(value);
  return m ? Number(m[1]) * GRPC_UNIT_MS[m[2]!]! : undefined;
}

function format(protocol: Protocol, ms: number): string {
  // Whole milliseconds; the longest limit (a day, 86,400,000 ms) fits gRPC's eight digits.
  return protocol === "connect" ? String(Math.ceil(ms)) : `${Math.ceil(ms)}m`;
}
