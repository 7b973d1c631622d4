// A second factor for staff (issue 27): TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps, one
// step of tolerance each way) with one-time recovery codes.
// - The secret is stored encrypted (AES-256-GCM, the user's id as associated data, so a
//   ciphertext copied to another user's row does not decrypt) under a 32-byte server key read
//   from config.totpKeyFile, created 0600 when absent; every process of one database must share
//   it (docs/security.md).
// - A code is accepted once: the last accepted step is remembered per user, and a code of that
//   step or an earlier one is refused, by one conditional UPDATE (atomic on both engines, so
//   two processes cannot both accept it).
// - Recovery codes: ten of 80 random bits each, shown once, stored as SHA-256 hashes, each used
//   up by one conditional UPDATE.
import * as fs from "node:fs";
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { Secret, TOTP } from "otpauth";
import type { Tx } from "../db/database";
import { RecoveryCode, TotpEnrolment, User, type UserEntity } from "../db/entities";
import { limits } from "../limits";
import { writeFileOnce } from "../util/write-once";
import { Role } from "../roles";
import { rolesFromColumn } from "./roles";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CIPHERTEXT_PREFIX = "v1:";

/** Roles that need a second factor: every staff role. */
const STAFF_ROLES: readonly Role[] = [Role.TELLER, Role.AUDITOR, Role.ADMIN];

export function isStaff(roles: string | readonly Role[]): boolean {
  const list = typeof roles === "string" ? rolesFromColumn(roles) : roles;
  return list.some((r) => STAFF_ROLES.includes(r));
}

export function hasSecondFactor(user: Pick<UserEntity, "totpConfirmTime" | "totpSecret">): boolean {
  return user.totpConfirmTime !== null && user.totpConfirmTime !== undefined && typeof user.totpSecret === "string";
}

/** The server key that TOTP secrets are encrypted under. */
export class TotpSecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Reads the key file (32 raw bytes, or their base64 on one line), creating it (0600, in a
   * directory made 0700) when absent. */
  static open(file: string): TotpSecretBox {
    if (!fs.existsSync(file)) createKeyFile(file);
    return new TotpSecretBox(readKeyFile(file));
  }

  /** For tests: a box over a given key. */
  static ofKey(key: Buffer): TotpSecretBox {
    if (key.length !== KEY_BYTES) throw new Error(`a TOTP key has ${KEY_BYTES} bytes`);
    return new TotpSecretBox(Buffer.from(key));
  }

  seal(base32Secret: string, userId: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(userId, "utf8"));
    const body = Buffer.concat([cipher.update(base32Secret, "utf8"), cipher.final()]);
    return CIPHERTEXT_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
  }

  open(sealed: string, userId: string): string {
    if (!sealed.startsWith(CIPHERTEXT_PREFIX)) throw new Error("TOTP secret: unknown format");
    const raw = Buffer.from(sealed.slice(CIPHERTEXT_PREFIX.length), "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES + 1) throw new Error("TOTP secret: too short");
    const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(userId, "utf8"));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    // Throws when the key is not the one it was sealed under (a process with another key file).
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  }
}

function readKeyFile(file: string): Buffer {
  const raw = fs.readFileSync(file);
  if (raw.length === KEY_BYTES) return raw;
  const decoded = Buffer.from(raw.toString("utf8").trim(), "base64");
  if (decoded.length !== KEY_BYTES) throw new Error(`TOTP key file ${file} must hold ${KEY_BYTES} bytes (raw, or base64 on one line); set BANK_TOTP_KEY_FILE to the key every process shares`);
  return decoded;
}

/** As the JWT key (keys.ts): written whole to a temporary file and linked into place, so a
 * process starting at the same moment never reads half a key; the first one made wins. */
function createKeyFile(file: string): void {
  writeFileOnce(file, randomBytes(KEY_BYTES));
}

// --- TOTP -----------------------------------------------------------------------------------

function totpOf(base32Secret: string, label = "", issuer = ""): TOTP {
  return new TOTP({ issuer, label, algorithm: "SHA1", digits: limits.totpDigits, period: limits.totpStepSeconds, secret: Secret.fromBase32(base32Secret) });
}

/** A new secret (160 bits, RFC 4226's recommended length) in base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function otpauthUri(base32Secret: string, issuer: string, accountName: string): string {
  return totpOf(base32Secret, accountName, issuer).toString();
}

export function stepAt(nowMs: number): number {
  return Math.floor(nowMs / 1000 / limits.totpStepSeconds);
}

/** The time step the code belongs to, within the tolerance around `nowMs`; undefined when it
 * is no current code. */
export function matchingStep(base32Secret: string, code: string, nowMs: number, windowSteps: number = limits.totpWindowSteps): number | undefined {
  if (!isCodeShaped(code)) return undefined;
  const delta = totpOf(base32Secret).validate({ token: code, timestamp: nowMs, window: windowSteps });
  return delta === null ? undefined : stepAt(nowMs) + delta;
}

export function isCodeShaped(code: string): boolean {
  return code.length === limits.totpDigits && /^[0-9]+$/.test(code);
}

/** Steps further away than this are called stale rather than wrong in the audit (a phone's clock
 * far off, or an old code read over a shoulder): a quarter of an hour. */
const STALE_STEPS_AUDITED = 30;

/** Why a code was refused, for the audit: "totp_stale" when it was right some minutes ago (or
 * ahead), "totp_wrong" otherwise. */
export function refusedCodeReason(base32Secret: string, code: string, nowMs: number): "totp_stale" | "totp_wrong" {
  return matchingStep(base32Secret, code, nowMs, STALE_STEPS_AUDITED) !== undefined ? "totp_stale" : "totp_wrong";
}

/** Takes step `step` for the user: false when it (or a later one) was accepted already. One
 * conditional UPDATE, atomic on both engines. */
export async function claimStep(tx: Tx, userId: string, step: number): Promise<boolean> {
  const changed = await tx.em.nativeUpdate(User, { id: userId, totpConfirmTime: { $ne: null }, $or: [{ totpLastStep: null }, { totpLastStep: { $lt: step } }] }, { totpLastStep: step });
  return changed === 1;
}

// --- Recovery codes -------------------------------------------------------------------------

/** Ten codes, each 80 random bits as 16 base32 characters in four groups: "abcd-efgh-ijkl-mnop". */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: limits.recoveryCodesCount }, () => {
    const text = new Secret({ buffer: Uint8Array.from(randomBytes(limits.recoveryCodeBytes)).buffer }).base32.toLowerCase();
    return text.match(/.{1,4}/g)!.join("-");
  });
}

/** The form a recovery code is compared in: no spaces or hyphens, lower case. */
export function normalizeRecoveryCode(code: string): string {
  return code.replace(/[\s-]/g, "").toLowerCase();
}

export function hashRecoveryCode(code: string): string {
  return createHash("sha256").update(normalizeRecoveryCode(code), "utf8").digest("hex");
}

/** Replaces the user's recovery codes with `codes` (in the unit of work). */
export async function storeRecoveryCodes(tx: Tx, userId: string, codes: readonly string[], nowMs: number): Promise<void> {
  await tx.em.nativeDelete(RecoveryCode, { userId });
  for (const code of codes) tx.em.create(RecoveryCode, { codeHash: hashRecoveryCode(code), userId, createTime: nowMs, usedTime: null });
}

/** Uses up one of the user's recovery codes: false when it is none of theirs or was used. */
export async function useRecoveryCode(tx: Tx, userId: string, code: string, nowMs: number): Promise<boolean> {
  const changed = await tx.em.nativeUpdate(RecoveryCode, { codeHash: hashRecoveryCode(code), userId, usedTime: null }, { usedTime: nowMs });
  return changed === 1;
}

export async function unusedRecoveryCodes(tx: Tx, userId: string): Promise<number> {
  return tx.em.count(RecoveryCode, { userId, usedTime: null });
}

/** Removes the user's second factor: the secret, its recovery codes and pending enrolments
 * (AdminService.ResetSecondFactor). Returns whether there was one. */
export async function removeSecondFactor(tx: Tx, user: UserEntity, nowMs: number): Promise<boolean> {
  const had = hasSecondFactor(user);
  user.totpSecret = null;
  user.totpConfirmTime = null;
  user.totpLastStep = null;
  user.updateTime = nowMs;
  await tx.em.nativeDelete(RecoveryCode, { userId: user.id });
  await tx.em.nativeDelete(TotpEnrolment, { userId: user.id });
  return had;
}
