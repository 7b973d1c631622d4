// Token buckets in memory: a rate with a burst, per key, for limits that must be cheap enough to
// check before any expensive work (Register checks them before the password-strength check and
// argon2). Per process: N processes behind a load balancer allow N times the rate, which also
// matches what they protect (each process has its own argon2 slots).
import { ExpiringLru } from "../util/expiring-lru";

export interface TokenBucketOptions {
  /** Tokens the bucket holds: the largest burst. */
  capacity: number;
  /** Tokens added per millisecond. */
  refillPerMs: number;
  /** Buckets kept (the least recently used is forgotten first). */
  keysMax: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class TokenBuckets {
  private readonly buckets: ExpiringLru<string, Bucket>;
  /** A bucket left alone this long is full again, so forgetting it changes nothing. */
  private readonly refillFullMs: number;

  constructor(private readonly opts: TokenBucketOptions) {
    if (opts.capacity < 1 || !(opts.refillPerMs > 0) || opts.keysMax < 1) throw new Error("token bucket: capacity, refill and keys must be positive");
    this.buckets = new ExpiringLru(opts.keysMax);
    this.refillFullMs = Math.ceil(opts.capacity / opts.refillPerMs);
  }

  /** 0 when `key` has `n` tokens now, else how long until it has them. Takes nothing. */
  waitMs(key: string, nowMs: number, n = 1): number {
    const tokens = this.tokensAt(key, nowMs);
    return tokens >= n ? 0 : Math.ceil((n - tokens) / this.opts.refillPerMs);
  }

  /** Takes `n` tokens; the caller has seen waitMs(key, nowMs, n) === 0. */
  take(key: string, nowMs: number, n = 1): void {
    const tokens = this.tokensAt(key, nowMs);
    if (tokens < n) throw new Error("token bucket: take without enough tokens");
    this.buckets.set(key, { tokens: tokens - n, atMs: nowMs }, nowMs + this.refillFullMs);
  }

  private tokensAt(key: string, nowMs: number): number {
    const bucket = this.buckets.get(key, nowMs);
    if (!bucket) return this.opts.capacity;
    return Math.min(this.opts.capacity, bucket.tokens + Math.max(0, nowMs - bucket.atMs) * this.opts.refillPerMs);
  }
}
