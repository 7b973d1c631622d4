// Sessions and their refresh tokens in the database. A session is one sign-in; its refresh
// token is rotated on every use and stored only as a SHA-256 hash; ending a session (logout,
// revocation, password change, a disabled user, refresh token reuse) sets revoked_time.
import { createHash, randomBytes } from "node:crypto";
import type { Tx } from "../db/database";
import { uuidv7 } from "../ids";
import { limits } from "../limits";

export interface SessionRow {
  id: string;
  user_id: string;
  user_agent: string;
  client_address: string;
  create_time: number | string;
  last_used_time: number | string;
  expire_time: number | string;
  revoked_time: number | string | null;
}

export interface NewRefreshToken {
  token: string;
  expireMs: number;
}

export interface RefreshTokenRow {
  session_id: string;
  user_id: string;
  expire_time: number | string;
  used_time: number | string | null;
  session_expire_time: number | string;
  revoked_time: number | string | null;
}

/** 256 random bits, base64url: opaque to clients, never stored. */
export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export async function createSession(tx: Tx, input: { userId: string; userAgent: string; clientAddress: string }, nowMs: number): Promise<{ sessionId: string; refresh: NewRefreshToken }> {
  const sessionId = uuidv7(nowMs);
  const expireMs = nowMs + limits.refreshTokenTtlSeconds * 1000;
  // Deferred writes (Tx.defer): nothing reads them back in this transaction, so on PostgreSQL a
  // sign-in's session, refresh token and audit event all travel with its COMMIT.
  await tx.run(
    `INSERT INTO sessions (id, user_id, user_agent, client_address, create_time, last_used_time, expire_time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [sessionId, input.userId, input.userAgent.slice(0, limits.userAgentCharsMax), input.clientAddress, nowMs, nowMs, expireMs],
  );
  // The session row was written with this token's times, so it needs no update.
  return { sessionId, refresh: await insertRefreshToken(tx, sessionId, nowMs, false) };
}

/** A new refresh token for the session; the session lives as long as its newest token. */
export async function insertRefreshToken(tx: Tx, sessionId: string, nowMs: number, extendSession = true): Promise<NewRefreshToken> {
  const token = randomBytes(32).toString("base64url");
  const expireMs = nowMs + limits.refreshTokenTtlSeconds * 1000;
  await tx.run(`INSERT INTO refresh_tokens (token_hash, session_id, create_time, expire_time) VALUES (?, ?, ?, ?)`, [hashRefreshToken(token), sessionId, nowMs, expireMs]);
  if (extendSession) await tx.run(`UPDATE sessions SET last_used_time = ?, expire_time = ? WHERE id = ?`, [nowMs, expireMs, sessionId]);
  return { token, expireMs };
}

export function findRefreshToken(tx: Tx, token: string): Promise<RefreshTokenRow | undefined> {
  return tx.one<RefreshTokenRow>(
    `SELECT r.session_id, s.user_id, r.expire_time, r.used_time, s.expire_time AS session_expire_time, s.revoked_time
       FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
      WHERE r.token_hash = ?`,
    [hashRefreshToken(token)],
  );
}

/** Marks the token used; false when another call already did (the loser of a race, or a
 * replay). The WHERE makes this atomic on both engines. */
export async function markRefreshTokenUsed(tx: Tx, token: string, nowMs: number): Promise<boolean> {
  return (await tx.run(`UPDATE refresh_tokens SET used_time = ? WHERE token_hash = ? AND used_time IS NULL`, [nowMs, hashRefreshToken(token)])) === 1;
}

export function findSession(tx: Tx, sessionId: string): Promise<SessionRow | undefined> {
  return tx.one<SessionRow>(`SELECT id, user_id, user_agent, client_address, create_time, last_used_time, expire_time, revoked_time FROM sessions WHERE id = ?`, [sessionId]);
}

export function isLive(row: Pick<SessionRow, "revoked_time" | "expire_time">, nowMs: number): boolean {
  return row.revoked_time === null && Number(row.expire_time) > nowMs;
}

/** Ends the given live sessions; returns the ids it ended. */
export async function revokeSessions(tx: Tx, where: { userId: string; sessionId?: string; exceptSessionId?: string }, reason: string, nowMs: number): Promise<string[]> {
  const conditions = ["user_id = ?", "revoked_time IS NULL", "expire_time > ?"];
  const params: unknown[] = [where.userId, nowMs];
  if (where.sessionId !== undefined) {
    conditions.push("id = ?");
    params.push(where.sessionId);
  }
  if (where.exceptSessionId !== undefined) {
    conditions.push("id <> ?");
    params.push(where.exceptSessionId);
  }
  const rows = await tx.all<{ id: string }>(`SELECT id FROM sessions WHERE ${conditions.join(" AND ")}${tx.engine.lockRows}`, params);
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  await tx.run(`UPDATE sessions SET revoked_time = ?, revoke_reason = ? WHERE id IN (${ids.map(() => "?").join(", ")}) AND revoked_time IS NULL`, [nowMs, reason.slice(0, limits.reasonCharsMax), ...ids]);
  return ids;
}

/** The user's live sessions, newest first, after `beforeId` (keyset pagination on the
 * time-ordered UUIDv7 id). */
export function listLiveSessions(tx: Tx, userId: string, page: { beforeId?: string; limit: number }, nowMs: number): Promise<SessionRow[]> {
  const after = page.beforeId !== undefined ? " AND id < ?" : "";
  const params: unknown[] = [userId, nowMs, ...(page.beforeId !== undefined ? [page.beforeId] : []), page.limit];
  return tx.all<SessionRow>(
    `SELECT id, user_id, user_agent, client_address, create_time, last_used_time, expire_time, revoked_time
       FROM sessions WHERE user_id = ? AND revoked_time IS NULL AND expire_time > ?${after}
      ORDER BY id DESC LIMIT ?`,
    params,
  );
}
