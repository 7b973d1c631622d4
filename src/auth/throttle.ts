// Sign-in throttling, in the database so that every process shares it.
// - Per account: after limits.loginFailuresFree consecutive failures, each further failure
//   blocks the account for an exponentially growing delay, capped at limits.loginBackoffMsMax
//   (never a permanent lock). A success resets it. The key is a hash of the normalized email,
//   not the user id, so that unknown emails are throttled exactly like known ones and the
//   throttle tells an attacker nothing about which emails exist.
// - Per client address: at most limits.loginFailuresPerAddressMax failures per window.
import { createHash } from "node:crypto";
import type { Database, Tx } from "../db/database";
import { resourceExhausted } from "../errors";
import { limits } from "../limits";

export interface ThrottleKeys {
  account: string;
  address: string;
}

interface ThrottleRow {
  throttle_key: string;
  failures: number | string;
  window_start: number | string;
  blocked_until: number | string;
}

export function throttleKeys(normalizedEmail: string, clientAddress: string): ThrottleKeys {
  return { account: `email:${createHash("sha256").update(normalizedEmail).digest("hex")}`, address: `addr:${clientAddress}` };
}

/** RESOURCE_EXHAUSTED (with retry_after_ms) while either key is blocked. Returns whether the
 * account key has failures on record (a successful sign-in then has something to reset). */
export async function assertNotThrottled(db: Database, keys: ThrottleKeys, nowMs: number): Promise<{ accountFailures: boolean }> {
  const rows = await db.read((tx) =>
    tx.all<ThrottleRow>(`SELECT throttle_key, failures, window_start, blocked_until FROM login_throttle WHERE throttle_key IN (?, ?)`, [keys.account, keys.address]),
  );
  const blockedUntil = Math.max(0, ...rows.map((r) => Number(r.blocked_until)));
  if (blockedUntil > nowMs) {
    throw resourceExhausted("LOGIN_THROTTLED", "Too many failed sign-ins; wait before trying again.", { retry_after_ms: String(blockedUntil - nowMs) });
  }
  return { accountFailures: rows.some((r) => r.throttle_key === keys.account) };
}

/** Counts one failed sign-in against both keys (in the caller's transaction). */
export async function recordLoginFailure(tx: Tx, keys: ThrottleKeys, nowMs: number): Promise<void> {
  const account = await lockRow(tx, keys.account, nowMs);
  const failures = Number(account.failures) + 1;
  await updateRow(tx, keys.account, failures, Number(account.window_start), accountBlockedUntil(failures, nowMs));

  const address = await lockRow(tx, keys.address, nowMs);
  const windowOver = Number(address.window_start) + limits.loginAddressWindowMs <= nowMs;
  const windowStart = windowOver ? nowMs : Number(address.window_start);
  const inWindow = windowOver ? 1 : Number(address.failures) + 1;
  const blockedUntil = inWindow >= limits.loginFailuresPerAddressMax ? windowStart + limits.loginAddressWindowMs : 0;
  await updateRow(tx, keys.address, inWindow, windowStart, blockedUntil);
}

/** A successful sign-in forgets the account's failures (not the address's). */
export async function resetAccountFailures(tx: Tx, keys: ThrottleKeys): Promise<void> {
  await tx.run(`DELETE FROM login_throttle WHERE throttle_key = ?`, [keys.account]);
}

/** The back-off after `failures` consecutive failures: none for the free ones, then base,
 * 2 x base, 4 x base, ... up to the maximum. */
export function accountBlockedUntil(failures: number, nowMs: number): number {
  if (failures < limits.loginFailuresFree) return 0;
  const exponent = Math.min(failures - limits.loginFailuresFree, 30);
  return nowMs + Math.min(limits.loginBackoffMsBase * 2 ** exponent, limits.loginBackoffMsMax);
}

async function lockRow(tx: Tx, key: string, nowMs: number): Promise<ThrottleRow> {
  // Insert-if-missing first, so that concurrent first failures do not collide on the key.
  await tx.run(`INSERT INTO login_throttle (throttle_key, failures, window_start, blocked_until) VALUES (?, 0, ?, 0) ON CONFLICT (throttle_key) DO NOTHING`, [key, nowMs]);
  const row = await tx.one<ThrottleRow>(`SELECT throttle_key, failures, window_start, blocked_until FROM login_throttle WHERE throttle_key = ?${tx.engine.lockRows}`, [key]);
  if (!row) throw new Error("login_throttle row vanished inside its transaction");
  return row;
}

async function updateRow(tx: Tx, key: string, failures: number, windowStart: number, blockedUntil: number): Promise<void> {
  await tx.run(`UPDATE login_throttle SET failures = ?, window_start = ?, blocked_until = ? WHERE throttle_key = ?`, [failures, windowStart, blockedUntil, key]);
}
