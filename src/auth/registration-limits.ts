// Register's rate limits (issue 15, W5): per client address and from all addresses together,
// checked in memory before the password-strength check and argon2, so that a flood of
// registrations costs almost nothing and cannot starve sign-ins of argon2 slots.
// Under BANK_ENV=development (issue 28), loopback clients are not limited: a developer's recipes,
// /docs and console share 127.0.0.1 and used up its five an hour; every other address still is.
import { isIPv4, isIPv6 } from "node:net";
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
  private readonly loopbackUnlimited: boolean;

  constructor(config: Config["registration"]) {
    this.loopbackUnlimited = config.loopbackUnlimited;
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
    // Not counted either: a developer's registrations leave the global bucket to everyone else.
    if (this.loopbackUnlimited && isLoopback(clientAddress)) return;
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

/** 127.0.0.0/8 and ::1, as a socket reports them or X-Forwarded-For names them (behind
 * BANK_TRUST_PROXY the client address is the forwarded one: see docs/security.md). */
export function isLoopback(address: string): boolean {
  const v4 = address.replace(/^::ffff:/i, "");
  if (isIPv4(v4)) return v4.startsWith("127.");
  return isIPv6(address) && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/i.test(address);
}
