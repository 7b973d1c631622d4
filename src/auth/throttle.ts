// Sign-in throttling, in the database so that every process shares it (OWASP "Blocking Brute
// Force Attacks"). Three keys per attempt:
// - pair (account + client address): after limits.loginFailuresFree failures, each further one
//   blocks this address for this account for an exponentially growing delay, capped at
//   limits.loginBackoffMsMax (never a permanent lock). A success resets it. An attacker's
//   failures block only the attacker's own addresses: the owner signing in from elsewhere is
//   not affected by them.
// - account (all addresses together): a slower curve, for guessers who spread over many
//   addresses. After limits.loginAccountFailuresFree failures each further one blocks the
//   account for a delay capped at limits.loginAccountBackoffMsMax (30 s), and that block holds
//   only for addresses that have failed for this account recently: from an address with no
//   recent failures the owner is never made to wait by it.
// - address: at most limits.loginFailuresPerAddressMax failures per window, whatever the
//   accounts (credential stuffing from one address).
// The account and pair keys are hashes of the normalized email, not the user id, so that unknown
// emails are throttled exactly like known ones and the throttle reveals nothing about which
// emails exist.
//
// Reservation (issue 15, W7): an attempt takes its place on the pair key BEFORE the password is
// checked, in a short transaction that locks the pair's row, so that N parallel attempts get at
// most the allowed number of argon2 checks. The reservation counts as a failure until the check
// succeeds, which releases it. The account and address counts are taken after a failed check
// (an overshoot is bounded by the attempts in flight, which argon2's queue bounds).
import { createHash } from "node:crypto";
import { LockMode } from "@mikro-orm/core";
import type { Database, Tx } from "../db/database";
import { LoginThrottle, type LoginThrottleEntity } from "../db/entities";
import { resourceExhausted } from "../errors";
import { limits } from "../limits";

export interface ThrottleKeys {
  pair: string;
  account: string;
  address: string;
}

export type ThrottleScope = "pair" | "account" | "address";

/** Why an attempt was refused before its password was checked. */
export interface ThrottleRefusal {
  scope: ThrottleScope;
  retryAfterMs: number;
}

interface Curve {
  free: number;
  baseMs: number;
  maxMs: number;
}

const PAIR_CURVE: Curve = { free: limits.loginFailuresFree, baseMs: limits.loginBackoffMsBase, maxMs: limits.loginBackoffMsMax };
const ACCOUNT_CURVE: Curve = { free: limits.loginAccountFailuresFree, baseMs: limits.loginBackoffMsBase, maxMs: limits.loginAccountBackoffMsMax };

export function throttleKeys(normalizedEmail: string, clientAddress: string): ThrottleKeys {
  const email = sha256(normalizedEmail);
  return { pair: `pair:${sha256(`${email}\n${clientAddress}`)}`, account: `account:${email}`, address: `addr:${clientAddress}` };
}

/** Takes this attempt's place on the pair key, or says why it may not be checked now. */
export function reserveAttempt(db: Database, keys: ThrottleKeys, nowMs: number): Promise<ThrottleRefusal | undefined> {
  return db.transaction(async (tx) => {
    const pair = await lockPair(tx, keys.pair, nowMs);
    const others = await tx.em.find(LoginThrottle, { throttleKey: { $in: [keys.account, keys.address] } }, { disableIdentityMap: true });
    const refusal = refusalOf(pair, rowOf(others, keys.account), rowOf(others, keys.address), nowMs);
    if (refusal) {
      // Nothing reserved; a row created only to be locked is not kept.
      if (pair.failures === 0) tx.em.remove(pair);
      return refusal;
    }
    countFailure(pair, PAIR_CURVE, nowMs);
    return undefined;
  });
}

/** Gives back a reservation whose password was never checked (argon2 was too busy): a server
 * under load must not count its own refusals as the caller's failures. */
export function cancelReservation(db: Database, keys: ThrottleKeys): Promise<void> {
  return db.transaction(async (tx) => {
    const pair = await tx.em.findOne(LoginThrottle, { throttleKey: keys.pair }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!pair || pair.failures === 0) return;
    pair.failures -= 1;
    if (pair.failures < PAIR_CURVE.free) pair.blockedUntil = 0;
    if (pair.failures === 0) tx.em.remove(pair);
  });
}

/** A failed check: the pair's reservation stands; the account and the address count it too
 * (in the caller's transaction, with the failure's audit event). */
export async function recordFailure(tx: Tx, keys: ThrottleKeys, nowMs: number): Promise<void> {
  const rows = await lockRows(tx, [keys.account, keys.address], nowMs);
  countFailure(rowOf(rows, keys.account) ?? missing(), ACCOUNT_CURVE, nowMs);
  countAddressFailure(rowOf(rows, keys.address) ?? missing(), nowMs);
}

/** A successful check: the pair's failures (the reservation included) are forgotten. The
 * account's are not: they may be someone else's. */
export async function releaseAttempt(tx: Tx, keys: ThrottleKeys): Promise<void> {
  await tx.em.nativeDelete(LoginThrottle, { throttleKey: keys.pair });
}

export function throttledError(refusal: ThrottleRefusal) {
  return resourceExhausted("LOGIN_THROTTLED", "Too many failed sign-ins; wait before trying again.", { retry_after_ms: String(refusal.retryAfterMs) });
}

/** The pair's back-off after `failures` failures: none for the free ones, then base, 2 x base,
 * 4 x base, ... up to limits.loginBackoffMsMax. */
export function pairBlockedUntil(failures: number, nowMs: number): number {
  return blockedUntil(PAIR_CURVE, failures, nowMs);
}

/** The account-wide back-off: the same doubling after more free failures, capped at
 * limits.loginAccountBackoffMsMax. */
export function accountBlockedUntil(failures: number, nowMs: number): number {
  return blockedUntil(ACCOUNT_CURVE, failures, nowMs);
}

function refusalOf(pair: LoginThrottleEntity, account: LoginThrottleEntity | undefined, address: LoginThrottleEntity | undefined, nowMs: number): ThrottleRefusal | undefined {
  if (address && address.blockedUntil > nowMs) return { scope: "address", retryAfterMs: address.blockedUntil - nowMs };
  if (pair.blockedUntil > nowMs) return { scope: "pair", retryAfterMs: pair.blockedUntil - nowMs };
  // The account-wide block holds only for addresses with recent failures for this account.
  if (pair.failures > 0 && account && account.blockedUntil > nowMs) return { scope: "account", retryAfterMs: account.blockedUntil - nowMs };
  return undefined;
}

/** One more failure on a pair or account row; failures older than the memory are forgotten. */
function countFailure(row: LoginThrottleEntity, curve: Curve, nowMs: number): void {
  row.failures = forgotten(row, nowMs) ? 1 : row.failures + 1;
  // window_start of a pair or account row: the time of its last failure.
  row.windowStart = nowMs;
  row.blockedUntil = blockedUntil(curve, row.failures, nowMs);
}

function countAddressFailure(row: LoginThrottleEntity, nowMs: number): void {
  const windowOver = row.windowStart + limits.loginAddressWindowMs <= nowMs;
  if (windowOver) row.windowStart = nowMs;
  row.failures = windowOver ? 1 : row.failures + 1;
  row.blockedUntil = row.failures >= limits.loginFailuresPerAddressMax ? row.windowStart + limits.loginAddressWindowMs : 0;
}

function forgotten(row: LoginThrottleEntity, nowMs: number): boolean {
  return row.failures > 0 && row.windowStart + limits.loginFailureMemoryMs <= nowMs;
}

function blockedUntil(curve: Curve, failures: number, nowMs: number): number {
  if (failures < curve.free) return 0;
  const exponent = Math.min(failures - curve.free, 30);
  return nowMs + Math.min(curve.baseMs * 2 ** exponent, curve.maxMs);
}

/** The pair's row, created when missing, locked until COMMIT, its stale failures forgotten. */
async function lockPair(tx: Tx, key: string, nowMs: number): Promise<LoginThrottleEntity> {
  const pair = rowOf(await lockRows(tx, [key], nowMs), key) ?? missing();
  if (forgotten(pair, nowMs)) {
    pair.failures = 0;
    pair.blockedUntil = 0;
  }
  return pair;
}

/** The rows of `keys`, created when missing, locked until COMMIT and loaded into the unit of
 * work (whose flush writes what the caller changes). */
async function lockRows(tx: Tx, keys: readonly string[], nowMs: number): Promise<LoginThrottleEntity[]> {
  const sorted = [...keys].sort();
  // Insert-if-missing first, so that concurrent first failures do not collide on the key; in key
  // order, as the locks below, so that concurrent attempts queue instead of deadlocking.
  await tx.em
    .createQueryBuilder(LoginThrottle)
    .insert(sorted.map((throttleKey) => ({ throttleKey, failures: 0, windowStart: nowMs, blockedUntil: 0 })))
    .onConflict("throttleKey")
    .ignore()
    .execute("run");
  return tx.em.find(LoginThrottle, { throttleKey: { $in: sorted } }, { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { throttleKey: "asc" } });
}

function rowOf(rows: readonly LoginThrottleEntity[], key: string): LoginThrottleEntity | undefined {
  return rows.find((r) => r.throttleKey === key);
}

function missing(): never {
  throw new Error("login_throttle row vanished inside its transaction");
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
