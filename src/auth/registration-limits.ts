// Register's rate limits (issue 15, W5): per client address and from all addresses together,
// checked in memory before the password-strength check and argon2, so that a flood of
// registrations costs almost nothing and cannot starve sign-ins of argon2 slots.
import type { Config } from "../config";
import { resourceExhausted } from "../errors";
import { limits } from "../limits";
import { TokenBuckets } from "./rate-limit";

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** The global bucket's one key. */
const EVERYONE = "";

export class RegistrationLimits {
  private readonly perAddress: TokenBuckets;
  private readonly everyone: TokenBuckets;

  constructor(config: Config["registration"]) {
    this.perAddress = new TokenBuckets({
      capacity: config.perAddressPerHour,
      refillPerMs: config.perAddressPerHour / HOUR_MS,
      keysMax: limits.registerAddressesTrackedMax,
    });
    this.everyone = new TokenBuckets({
      capacity: Math.max(1, Math.ceil((config.perMinute * limits.registerBurstSeconds) / 60)),
      refillPerMs: config.perMinute / MINUTE_MS,
      keysMax: 1,
    });
  }

  /** Takes one registration for `clientAddress`, or throws RESOURCE_EXHAUSTED
   * REGISTER_THROTTLED with retry_after_ms. A refused registration takes nothing. */
  admit(clientAddress: string, nowMs: number = Date.now()): void {
    const addressWaitMs = this.perAddress.waitMs(clientAddress, nowMs);
    const everyoneWaitMs = this.everyone.waitMs(EVERYONE, nowMs);
    if (addressWaitMs > 0 || everyoneWaitMs > 0) {
      throw resourceExhausted("REGISTER_THROTTLED", "Too many registrations; wait before trying again.", {
        retry_after_ms: String(Math.max(addressWaitMs, everyoneWaitMs)),
        scope: addressWaitMs > 0 ? "address" : "global",
      });
    }
    this.perAddress.take(clientAddress, nowMs);
    this.everyone.take(EVERYONE, nowMs);
  }
}
