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
// Reservation (issue 15, W7; issue 25 for the address): an attempt takes its place on the pair
// key AND on the address key BEFORE the password is checked, with one atomic statement each
// (RESERVE_SQL, RESERVE_ADDRESS_SQL) in one transaction, so that N parallel attempts get at most
// the allowed number of argon2 checks: per account and address, and per address whatever the
// emails (300 parallel sign-ins for unknown emails from one address got 158 checks against 100
// before). A reservation counts as a failure until the check succeeds, which releases both. The
// account count is taken after a failed check (an overshoot is bounded by the attempts in
// flight, which argon2's queue bounds; it is a back-off of at most 30 s, not a cap).
import { createHash } from "node:crypto";
import { LockMode } from "@mikro-orm/core";
import type { Database, Tx } from "../db/database";
import { LoginThrottle, type LoginThrottleEntity } from "../db/entities";
import { resourceExhausted } from "../errors";
import { preparedQuery } from "../db/prepared-query";
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

/** The rows of an attempt, read to decide (prepared: this runs on every sign-in). */
const throttleRows = preparedQuery(LoginThrottle, "t", (qb, p) => qb.select("*").where({ throttleKey: { $in: [p(0), p(1), p(2)] } }));

/**
 * Takes this attempt's place on the pair key, or says why it may not be checked now. The rows
 * are read first, outside the reservation (the address and account-wide blocks are coarse, and a
 * refused attempt then writes nothing); the reservation itself is one atomic statement, alone in
 * its transaction (on SQLite its write takes the lock before anything in it is read, so another
 * process's commit cannot invalidate it).
 */
export async function reserveAttempt(db: Database, keys: ThrottleKeys, nowMs: number): Promise<ThrottleRefusal | undefined> {
  const rows = await db.read((tx) => throttleRows.all(tx, [keys.pair, keys.account, keys.address]));
  const pair = rowOf(rows, keys.pair);
  const recent = pair && !forgotten(pair, nowMs) ? pair : undefined;
  if (recent && recent.blockedUntil > nowMs) return pairRefusal(recent, nowMs);
  const refusal = refusalOf((recent?.failures ?? 0) > 0, rowOf(rows, keys.account), rowOf(rows, keys.address), nowMs);
  if (refusal) return refusal;
  try {
    return await db.transaction(async (tx) => {
      // No row: another attempt blocked the pair since it was read.
      if ((await tx.all(RESERVE_SQL, [keys.pair, nowMs, blockedUntil(PAIR_CURVE, 1, nowMs)])).length === 0) return pairRefusal(undefined, nowMs);
      // No row: the address has used its checks of this window; the pair's reservation is undone.
      if ((await tx.all(RESERVE_ADDRESS_SQL, [keys.address, nowMs, addressBlockedUntil(1, nowMs)])).length === 0) throw new AddressFull();
      return undefined;
    });
  } catch (err) {
    if (!(err instanceof AddressFull)) throw err;
    const address = rowOf(await db.read((tx) => throttleRows.all(tx, [keys.address, keys.address, keys.address])), keys.address);
    return { scope: "address", retryAfterMs: Math.max(1, (address?.blockedUntil ?? nowMs + limits.loginAddressWindowMs) - nowMs) };
  }
}

/** Thrown to roll back a pair reservation whose address had no check left. */
class AddressFull extends Error {}

/**
 * The address's reservation: ONE statement that counts the attempt in the address's window
 * (starting a new window when the last one is over) and blocks the address until the window's
 * end once limits.loginFailuresPerAddressMax are counted, unless they already are (then no row
 * comes back). Atomic on both engines, as RESERVE_SQL.
 */
const RESERVE_ADDRESS_SQL = (() => {
  const max = limits.loginFailuresPerAddressMax;
  const windowMs = limits.loginAddressWindowMs;
  const over = `login_throttle.window_start + ${windowMs} <= excluded.window_start`;
  const n = `(CASE WHEN ${over} THEN 1 ELSE login_throttle.failures + 1 END)`;
  const start = `(CASE WHEN ${over} THEN excluded.window_start ELSE login_throttle.window_start END)`;
  return `INSERT INTO login_throttle (throttle_key, failures, window_start, blocked_until) VALUES (?, 1, ?, ?)
    ON CONFLICT (throttle_key) DO UPDATE SET
      failures = ${n},
      window_start = ${start},
      blocked_until = CASE WHEN ${n} >= ${max} THEN ${start} + ${windowMs} ELSE 0 END
    WHERE ${over} OR login_throttle.failures < ${max}
    RETURNING failures`;
})();

/** The address's block after the first attempt of a window (none unless the cap is 1). */
function addressBlockedUntil(failures: number, windowStartMs: number): number {
  return failures >= limits.loginFailuresPerAddressMax ? windowStartMs + limits.loginAddressWindowMs : 0;
}

/** Gives back an address reservation (a check that never ran, or a right password): one less in
 * the window, the block lifted below the cap. */
async function giveBackAddress(tx: Tx, keys: ThrottleKeys): Promise<void> {
  await tx.run(
    `UPDATE login_throttle SET failures = failures - 1, blocked_until = CASE WHEN failures - 1 < ${limits.loginFailuresPerAddressMax} THEN 0 ELSE blocked_until END
      WHERE throttle_key = ? AND failures > 0`,
    [keys.address],
  );
}

/** The smallest exponent at which a curve's doubling reaches its maximum. */
function capExponent(curve: Curve): number {
  let exponent = 0;
  while (curve.baseMs * 2 ** exponent < curve.maxMs) exponent++;
  return exponent;
}

/**
 * The reservation: ONE statement that counts the attempt on the pair's row (forgetting failures
 * older than the memory) and sets the pair's back-off, unless the row is blocked at that very
 * moment. Atomic on both engines, so that parallel attempts, from one process or several, can
 * never get more checks than the curve allows (issue 15, W7); no row comes back when blocked.
 * Raw SQL: the entity API has no conditional upsert with a computed update, and a read-then-write
 * through the unit of work would need a lock round trip more on every sign-in. Integer constants
 * from limits.ts are spelled into the statement; `1 << n` is the doubling on both engines.
 */
const RESERVE_SQL = (() => {
  const { free, baseMs, maxMs } = PAIR_CURVE;
  const n = `(CASE WHEN login_throttle.window_start + ${limits.loginFailureMemoryMs} <= excluded.window_start THEN 1 ELSE login_throttle.failures + 1 END)`;
  return `INSERT INTO login_throttle (throttle_key, failures, window_start, blocked_until) VALUES (?, 1, ?, ?)
    ON CONFLICT (throttle_key) DO UPDATE SET
      failures = ${n},
      window_start = excluded.window_start,
      blocked_until = CASE WHEN ${n} < ${free} THEN 0
                           WHEN ${n} - ${free} >= ${capExponent(PAIR_CURVE)} THEN excluded.window_start + ${maxMs}
                           ELSE excluded.window_start + ${baseMs} * (1 << (${n} - ${free})) END
    WHERE login_throttle.blocked_until <= excluded.window_start
    RETURNING failures, blocked_until`;
})();

/** Gives back a reservation whose password was never checked (argon2 was too busy): a server
 * under load must not count its own refusals as the caller's failures. Two statements that write
 * without reading first (raw SQL: the entity API has no update computed from the row's own
 * values): one less failure, the back-off lifted below the free failures, an empty row removed. */
export async function cancelReservation(db: Database, keys: ThrottleKeys): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.run(
      `UPDATE login_throttle SET failures = failures - 1, blocked_until = CASE WHEN failures - 1 < ${PAIR_CURVE.free} THEN 0 ELSE blocked_until END
        WHERE throttle_key = ? AND failures > 0`,
      [keys.pair],
    );
    await tx.run(`DELETE FROM login_throttle WHERE throttle_key = ? AND failures <= 0`, [keys.pair]);
    await giveBackAddress(tx, keys);
  });
}

/** A failed check: the pair's and the address's reservations stand; the account counts it too
 * (in the caller's transaction, with the failure's audit event). */
export async function recordFailure(tx: Tx, keys: ThrottleKeys, nowMs: number): Promise<void> {
  const rows = await lockRows(tx, [keys.account], nowMs);
  countFailure(rowOf(rows, keys.account) ?? missing(), ACCOUNT_CURVE, nowMs);
}

/** Prepared (src/db/prepared-query.ts): it runs in every successful sign-in, where nativeDelete
 * cost half a millisecond of CPU more (bench/coldpaths-micro.ts). */
const deletePair = preparedQuery(LoginThrottle, "t", (qb, p) => qb.delete({ throttleKey: p(0) }));

/** A successful check: the pair's failures (the reservation included) are forgotten, and the
 * address's reservation is given back (the address cap counts failures). The account's are not:
 * they may be someone else's. */
export async function releaseAttempt(tx: Tx, keys: ThrottleKeys): Promise<void> {
  await deletePair.run(tx, [keys.pair]);
  await giveBackAddress(tx, keys);
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

/** No reservation was made: the pair is blocked (its row says until when). */
function pairRefusal(pair: LoginThrottleEntity | undefined, nowMs: number): ThrottleRefusal {
  return { scope: "pair", retryAfterMs: Math.max(1, (pair?.blockedUntil ?? nowMs + PAIR_CURVE.baseMs) - nowMs) };
}

/** The address's block, and the account-wide one for an address that failed for this account
 * recently (never for the owner signing in from anywhere else). */
function refusalOf(pairFailed: boolean, account: LoginThrottleEntity | undefined, address: LoginThrottleEntity | undefined, nowMs: number): ThrottleRefusal | undefined {
  if (address && address.blockedUntil > nowMs) return { scope: "address", retryAfterMs: address.blockedUntil - nowMs };
  if (pairFailed && account && account.blockedUntil > nowMs) return { scope: "account", retryAfterMs: account.blockedUntil - nowMs };
  return undefined;
}

/** One more failure on a pair or account row; failures older than the memory are forgotten. */
function countFailure(row: LoginThrottleEntity, curve: Curve, nowMs: number): void {
  row.failures = forgotten(row, nowMs) ? 1 : row.failures + 1;
  // window_start of a pair or account row: the time of its last failure.
  row.windowStart = nowMs;
  row.blockedUntil = blockedUntil(curve, row.failures, nowMs);
}

function forgotten(row: LoginThrottleEntity, nowMs: number): boolean {
  return row.failures > 0 && row.windowStart + limits.loginFailureMemoryMs <= nowMs;
}

function blockedUntil(curve: Curve, failures: number, nowMs: number): number {
  if (failures < curve.free) return 0;
  const exponent = Math.min(failures - curve.free, 30);
  return nowMs + Math.min(curve.baseMs * 2 ** exponent, curve.maxMs);
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
