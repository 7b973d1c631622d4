// Per-client-address shares of the main port (issue 25, attack 2): one host must not hold every
// connection or stream of the process. Counted per process, in memory; the limits are in
// src/limits.ts.
//
// - connections per address (connectionsPerAddressMax), checked as a connection arrives; peers
//   are exempt when BANK_TRUST_PROXY=true (they are the proxies), where connectionsMax alone
//   applies;
// - calls in flight per address (callsPerAddressMax): every RPC, unary or streaming, by the
//   client address (the forwarded one behind a trusted proxy);
// - streaming calls without a token (Health.Watch, reflection) per address
//   (anonymousStreamsPerAddressMax) and from all addresses (anonymousStreamsMax, a quarter of the
//   connection cap: the headroom kept for signed-in callers).
import { Code, type ConnectError } from "@connectrpc/connect";
import { connectError } from "./errors";
import type { Limits } from "../limits";

export type AddressCapLimits = {
  readonly [K in keyof Pick<Limits, "connectionsPerAddressMax" | "callsPerAddressMax" | "anonymousStreamsPerAddressMax" | "anonymousStreamsMax">]: number;
};

/** How long a refused caller is told to wait: streams end or are cut well within it. */
const RETRY_AFTER_MS = 1_000;

export class AddressCaps {
  private readonly connections = new Map<string, number>();
  private readonly calls = new Map<string, number>();
  private readonly anonymous = new Map<string, number>();
  private anonymousTotal = 0;

  constructor(private readonly limits: AddressCapLimits) {}

  /** A connection from `address`: a release function, or undefined when the address is at its cap. */
  admitConnection(address: string): (() => void) | undefined {
    if (!take(this.connections, address, this.limits.connectionsPerAddressMax)) return undefined;
    return once(() => give(this.connections, address));
  }

  /** A call from `address` (`anonymousStream`: a streaming call without a token): a release
   * function, or the refusal to answer. */
  admitCall(address: string, anonymousStream: boolean): { release: () => void } | { refusal: ConnectError } {
    if (anonymousStream && this.anonymousTotal >= this.limits.anonymousStreamsMax) {
      return refusal("ANONYMOUS_STREAMS", `This server already holds ${this.limits.anonymousStreamsMax} streams without a token; retry later.`);
    }
    if (anonymousStream && (this.anonymous.get(address) ?? 0) >= this.limits.anonymousStreamsPerAddressMax) {
      return refusal("ANONYMOUS_STREAMS_PER_ADDRESS", `At most ${this.limits.anonymousStreamsPerAddressMax} streams without a token from one client address at once; close one first.`, this.limits.anonymousStreamsPerAddressMax);
    }
    if (!take(this.calls, address, this.limits.callsPerAddressMax)) {
      return refusal("CALLS_PER_ADDRESS", `At most ${this.limits.callsPerAddressMax} calls in flight from one client address at once; retry shortly.`, this.limits.callsPerAddressMax);
    }
    if (anonymousStream) {
      take(this.anonymous, address, Infinity);
      this.anonymousTotal++;
    }
    return {
      release: once(() => {
        give(this.calls, address);
        if (anonymousStream) {
          give(this.anonymous, address);
          this.anonymousTotal--;
        }
      }),
    };
  }

  /** Counts now (tests, and the assertion that releases balance). */
  stats(): { connections: number; calls: number; anonymousStreams: number } {
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    return { connections: sum(this.connections), calls: sum(this.calls), anonymousStreams: this.anonymousTotal };
  }
}

/** The address a socket's peer is counted under (IPv4-mapped IPv6 as IPv4, as observe.ts does). */
export function socketAddress(remote: string | undefined): string {
  return (remote ?? "").replace(/^::ffff:/, "") || "unknown";
}

function take(counts: Map<string, number>, key: string, max: number): boolean {
  const n = counts.get(key) ?? 0;
  if (n >= max) return false;
  counts.set(key, n + 1);
  return true;
}

function give(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function refusal(reason: string, message: string, max?: number): { refusal: ConnectError } {
  return { refusal: connectError(Code.ResourceExhausted, reason, message, { retry_after_ms: String(RETRY_AFTER_MS), ...(max !== undefined ? { max: String(max) } : {}) }) };
}
