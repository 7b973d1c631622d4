// Sign-in throttling, in the database so that every process shares it.
// - Per account: after limits.loginFailuresFree consecutive failures, each further failure
//   blocks the account for an exponentially growing delay, capped at limits.loginBackoffMsMax
//   (never a permanent lock). A success resets it. The key is a hash of the normalized email,
//   not the user id, so that unknown emails are throttled exactly like known ones and the
//   throttle tells an attacker nothing about which emails exist.
// - Per client address: at most limits.loginFailuresPerAddressMax failures per window.
import { createHash } from "node:crypto";
import { LockMode } from "@mikro-orm/core";
import type { Database, Tx } from "../db/database";
import { LoginThrottle, type LoginThrottleEntity } from "../db/entities";
import { resourceExhausted } from "../errors";
import { limits } from "../limits";

export interface ThrottleKeys {
  account: string;
  address: string;
}

export function throttleKeys(normalizedEmail: string, clientAddress: string): ThrottleKeys {
  return { account: `email:${createHash("sha256").update(normalizedEmail).digest("hex")}`, address: `addr:${clientAddress}` };
}

/** RESOURCE_EXHAUSTED (with retry_after_ms) while either key is blocked. Returns whether the
 * account key has failures on record (a successful sign-in then has something to reset). */
export async function assertNotThrottled(db: Database, keys: ThrottleKeys, nowMs: number): Promise<{ accountFailures: boolean }> {
  const rows = await db.read((tx) => tx.em.find(LoginThrottle, { throttleKey: { $in: [keys.account, keys.address] } }, { disableIdentityMap: true }));
  const blockedUntil = Math.max(0, ...rows.map((r) => r.blockedUntil));
  if (blockedUntil > nowMs) {
    throw resourceExhausted("LOGIN_THROTTLED", "Too many failed sign-ins; wait before trying again.", { retry_after_ms: String(blockedUntil - nowMs) });
  }
  return { accountFailures: rows.some((r) => r.throttleKey === keys.account) };
}

/** Counts one failed sign-in against both keys (in the caller's transaction). */
export async function recordLoginFailure(tx: Tx, keys: ThrottleKeys, nowMs: number): Promise<void> {
  const rows = await lockRows(tx, [keys.account, keys.address], nowMs);
  const account = rowOf(rows, keys.account);
  const address = rowOf(rows, keys.address);
  account.failures += 1;
  account.blockedUntil = accountBlockedUntil(account.failures, nowMs);

  const windowOver = address.windowStart + limits.loginAddressWindowMs <= nowMs;
  if (windowOver) address.windowStart = nowMs;
  address.failures = windowOver ? 1 : address.failures + 1;
  address.blockedUntil = address.failures >= limits.loginFailuresPerAddressMax ? address.windowStart + limits.loginAddressWindowMs : 0;
}

/** A successful sign-in forgets the account's failures (not the address's). */
export async function resetAccountFailures(tx: Tx, keys: ThrottleKeys): Promise<void> {
  await tx.em.nativeDelete(LoginThrottle, { throttleKey: keys.account });
}

/** The back-off after `failures` consecutive failures: none for the free ones, then base,
 * 2 x base, 4 x base, ... up to the maximum. */
export function accountBlockedUntil(failures: number, nowMs: number): number {
  if (failures < limits.loginFailuresFree) return 0;
  const exponent = Math.min(failures - limits.loginFailuresFree, 30);
  return nowMs + Math.min(limits.loginBackoffMsBase * 2 ** exponent, limits.loginBackoffMsMax);
}

/** The rows of `keys`, created when missing, locked until COMMIT and loaded into the unit of
 * work (whose flush writes what the caller changes). */
async function lockRows(tx: Tx, keys: readonly string[], nowMs: number): Promise<LoginThrottleEntity[]> {
  // Insert-if-missing first, so that concurrent first failures do not collide on the key.
  await tx.em
    .createQueryBuilder(LoginThrottle)
    .insert(keys.map((throttleKey) => ({ throttleKey, failures: 0, windowStart: nowMs, blockedUntil: 0 })))
    .onConflict("throttleKey")
    .ignore()
    .execute("run");
  // Locked in key order, so that concurrent failures queue instead of deadlocking.
  const rows = await tx.em.find(LoginThrottle, { throttleKey: { $in: [...keys] } }, { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { throttleKey: "asc" } });
  return rows;
}

function rowOf(rows: readonly LoginThrottleEntity[], key: string): LoginThrottleEntity {
  const row = rows.find((r) => r.throttleKey === key);
  if (!row) throw new Error("login_throttle row vanished inside its transaction");
  return row;
}
