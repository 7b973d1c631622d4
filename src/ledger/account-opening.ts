// Account opening (issue 25): a rate per principal and a cap per customer.
// - The rate: a token bucket per principal (the caller: a customer for itself, a teller or admin
//   for anyone), in memory and per process (N processes allow N times the rate), checked before
//   anything is read or written: a refusal writes nothing (RESOURCE_EXHAUSTED
//   ACCOUNT_OPENING_RATE with retry_after_ms).
// - The cap: accounts a customer holds (not closed), whoever opened them, counted in the opening
//   transaction under a lock on the owner's user row, so that parallel openings cannot overshoot
//   it (FAILED_PRECONDITION ACCOUNT_LIMIT_REACHED, recorded as the request's outcome like any
//   business refusal).
import type { Config } from "../config";
import { TokenBuckets } from "../auth/rate-limit";
import { resourceExhausted } from "../errors";
import { limits } from "../limits";

const HOUR_MS = 3_600_000;

export class AccountOpening {
  private readonly buckets: TokenBuckets;
  readonly perCustomerMax: number;

  constructor(config: Config["accountOpening"] = { perHour: limits.accountOpensPerHour, perCustomerMax: limits.accountsPerCustomerMax }) {
    this.buckets = new TokenBuckets({ capacity: Math.max(1, Math.ceil(config.perHour / 4)), refillPerMs: config.perHour / HOUR_MS, keysMax: limits.accountOpenersTrackedMax });
    this.perCustomerMax = config.perCustomerMax;
  }

  /** Takes one opening for `principalId`, or throws RESOURCE_EXHAUSTED ACCOUNT_OPENING_RATE
   * with retry_after_ms. A refused opening takes nothing. */
  admit(principalId: string, nowMs: number): void {
    const waitMs = this.buckets.waitMs(principalId, nowMs);
    if (waitMs > 0) {
      throw resourceExhausted("ACCOUNT_OPENING_RATE", "Too many accounts opened in a short time; wait before opening another.", { retry_after_ms: String(waitMs) });
    }
    this.buckets.take(principalId, nowMs);
  }
}
