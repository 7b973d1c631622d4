// argon2id hashing with explicit costs from the configuration, through a bounded work queue.
import * as argon2 from "argon2";
import { randomBytes } from "node:crypto";
import type { Config } from "../config";
import { resourceExhausted } from "../errors";
import { limits } from "../limits";
import { WorkQueue } from "../util/work-queue";

/** What createUser needs: turn a (policy-checked, normalized) password into a stored hash. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
}

export type Argon2Costs = Config["argon2"];

/** Argon2 version 1.3 (0x13 = 19), the current one. */
const ARGON2_VERSION = 0x13;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

/** PHC strings use standard base64 without padding. */
function phcBase64(bytes: Buffer): string {
  return bytes.toString("base64").replace(/=+$/, "");
}

export class Argon2Hasher implements PasswordHasher {
  private readonly queue = new WorkQueue({
    concurrencyMax: limits.argon2ConcurrencyMax,
    queueMax: limits.argon2QueueMax,
    waitMsMax: limits.argon2QueueWaitMs,
    busy: () => resourceExhausted("AUTH_BUSY", "Too many sign-ins at once; retry shortly.", { retry_after_ms: String(limits.argon2QueueWaitMs) }),
  });
  /** A hash of a random password with the current costs: verified when the email is unknown,
   * so that an unknown email costs the same time as a wrong password. */
  private dummyHash: string | undefined;

  constructor(private readonly costs: Argon2Costs) {}

  hash(password: string): Promise<string> {
    return this.queue.run(() => this.encode(password));
  }

  /** Verifies and, when the stored hash has other costs, computes the new hash in the same
   * queue slot (rehash on login). */
  async verify(stored: string, password: string): Promise<{ ok: boolean; rehashed?: string }> {
    return this.queue.run(async () => {
      const ok = await verifySafely(stored, password);
      if (!ok || !argon2.needsRehash(stored, this.rehashOptions())) return { ok };
      return { ok, rehashed: await this.encode(password) };
    });
  }

  /** Burns the time of one verification and fails. */
  async verifyDummy(password: string): Promise<false> {
    return this.queue.run(async () => {
      // Made on first use, inside the slot, so that argon2 work always goes through the queue.
      this.dummyHash ??= await this.encode(randomBytes(32).toString("base64url"));
      await verifySafely(this.dummyHash, password);
      return false as const;
    });
  }

  /** The PHC string in the reference implementation's canonical form
   * ($argon2id$v=19$m=19456,t=2,p=1$salt$hash), which every argon2 library reads; node-argon2
   * would write the parameters in another order (m, p, t). */
  private async encode(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const { memoryCostKib: m, timeCost: t, parallelism: p } = this.costs;
    const digest = await argon2.hash(password, { type: argon2.argon2id, version: ARGON2_VERSION, memoryCost: m, timeCost: t, parallelism: p, hashLength: HASH_BYTES, salt, raw: true });
    return `$argon2id$v=${ARGON2_VERSION}$m=${m},t=${t},p=${p}$${phcBase64(salt)}$${phcBase64(digest)}`;
  }

  private rehashOptions() {
    return { memoryCost: this.costs.memoryCostKib, timeCost: this.costs.timeCost, parallelism: this.costs.parallelism, version: ARGON2_VERSION };
  }
}

/** A stored hash we cannot parse fails verification instead of throwing. */
async function verifySafely(stored: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(stored, password);
  } catch {
    return false;
  }
}
