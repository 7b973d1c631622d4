// Identifiers: UUIDv7 (RFC 9562), time-ordered so that indexes stay append-mostly.
import { randomBytes } from "node:crypto";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Random bytes are drawn 4 KiB at a time: one randomBytes call per id showed in profiles. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function random16(): Buffer {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + 16));
  poolOffset += 16;
  return bytes;
}

/** Ids made in the same millisecond by this process count up in the 12 bits after the time
 * (RFC 9562 section 6.2, method 1), so they sort in the order they were made: lists ordered by
 * id ("newest first") stay in creation order even when several rows share a millisecond. */
let counterMs = -1;
let counter = 0;

export function uuidv7(nowMs: number = Date.now()): string {
  const bytes = random16();
  bytes.writeUIntBE(nowMs, 0, 6);
  if (nowMs === counterMs && counter < 0xfff) {
    counter++;
  } else {
    // A new millisecond starts the counter at a random point in its lower half, leaving at
    // least 2,048 increments before it would wrap (then the order within that ms is random).
    counterMs = nowMs;
    counter = ((bytes[6]! << 8) | bytes[7]!) & 0x7ff;
  }
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** True for a lower-case canonical UUID string (any version). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
