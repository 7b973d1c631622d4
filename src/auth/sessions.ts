// Sessions and their refresh tokens in the database. A session is one sign-in; its refresh
// token is rotated on every use and stored only as a SHA-256 hash; ending a session (logout,
// revocation, password change, a disabled user, refresh token reuse) sets revoked_time.
import { createHash, randomBytes } from "node:crypto";
import { LockMode, type FilterQuery } from "@mikro-orm/core";
import type { Tx } from "../db/database";
import { RefreshToken, Session, type RefreshTokenEntity, type SessionEntity } from "../db/entities";
import { uuidv7 } from "../util/ids";
import { limits } from "../limits";
import type { Clock } from "../util/clock";

export type { SessionEntity } from "../db/entities";

/** A session as the AuthService handlers read it (ListSessions). */
export interface SessionRow {
  id: string;
  user_id: string;
  user_agent: string;
  client_address: string;
  create_time: number;
  last_used_time: number;
  expire_time: number;
  revoked_time: number | null;
}

export interface NewRefreshToken {
  token: string;
  expireMs: number;
}

/** A refresh token with the session it belongs to. */
export interface FoundRefreshToken {
  token: RefreshTokenEntity;
  session: SessionEntity;
}

/** 256 random bits, base64url: opaque to clients, never stored. */
export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** What a session is for: a customer's (refreshed for limits.refreshTokenTtlSeconds, each
 * refresh extending it), a staff member's (ended when idle for limits.staffSessionIdleMs and at
 * limits.staffSessionLifetimeMs after sign-in, however active), or an enrolment-only one (staff
 * before a second factor: limits.enrolmentSessionLifetimeMs in all). */
export type SessionKind = "customer" | "staff" | "enrolment";

export function createSession(
  tx: Tx,
  input: { userId: string; userAgent: string; clientAddress: string; kind?: SessionKind },
  nowMs: number,
): { sessionId: string; refresh: NewRefreshToken } {
  const sessionId = uuidv7(nowMs);
  const kind = input.kind ?? "customer";
  const expireMs =
    kind === "staff" ? nowMs + limits.staffSessionLifetimeMs : kind === "enrolment" ? nowMs + limits.enrolmentSessionLifetimeMs : nowMs + limits.refreshTokenTtlSeconds * 1000;
  const idleTimeoutMs = kind === "customer" ? null : limits.staffSessionIdleMs;
  // Persisted in the unit of work: the session, its refresh token and the sign-in's audit event
  // are inserted by the flush before COMMIT (sessions first: the token refers to it).
  tx.em.create(Session, {
    id: sessionId,
    userId: input.userId,
    userAgent: input.userAgent.slice(0, limits.userAgentCharsMax),
    clientAddress: input.clientAddress,
    createTime: nowMs,
    lastUsedTime: nowMs,
    expireTime: expireMs,
    revokedTime: null,
    revokeReason: null,
    idleTimeoutMs,
    enrolmentOnly: kind === "enrolment" ? 1 : 0,
  });
  return { sessionId, refresh: newRefreshToken(tx, sessionId, nowMs, refreshExpireMs({ expireTime: expireMs, idleTimeoutMs }, nowMs)) };
}

/** A new refresh token for the session. A customer's session lives as long as its newest token;
 * a staff session keeps its absolute end, and its token lives until the idle limit (or that end,
 * if sooner). */
export async function rotateRefreshToken(tx: Tx, session: Pick<SessionEntity, "id" | "expireTime" | "idleTimeoutMs">, nowMs: number): Promise<NewRefreshToken> {
  const fixedEnd = session.idleTimeoutMs !== null && session.idleTimeoutMs !== undefined;
  const refresh = newRefreshToken(tx, session.id, nowMs, fixedEnd ? refreshExpireMs(session, nowMs) : nowMs + limits.refreshTokenTtlSeconds * 1000);
  // The session row was read without being loaded into the unit of work (findRefreshToken), so
  // it is updated by id.
  await tx.em.nativeUpdate(Session, { id: session.id }, fixedEnd ? { lastUsedTime: nowMs } : { lastUsedTime: nowMs, expireTime: refresh.expireMs });
  return refresh;
}

function refreshExpireMs(session: { expireTime: number; idleTimeoutMs: number | null }, nowMs: number): number {
  return session.idleTimeoutMs === null ? session.expireTime : Math.min(session.expireTime, nowMs + session.idleTimeoutMs);
}

/** Why a session found by its refresh token cannot be refreshed at `nowMs`, if it cannot: ended
 * (revoked), past its absolute end, or idle too long. */
export function refreshRefusal(session: Pick<SessionEntity, "revokedTime" | "expireTime" | "lastUsedTime" | "idleTimeoutMs">, nowMs: number): "ended" | "expired" | "idle" | undefined {
  if (session.revokedTime !== null) return "ended";
  if (session.expireTime <= nowMs) return "expired";
  const idle = session.idleTimeoutMs;
  if (idle !== null && idle !== undefined && session.lastUsedTime + idle <= nowMs) return "idle";
  return undefined;
}

function newRefreshToken(tx: Tx, sessionId: string, nowMs: number, expireMs: number): NewRefreshToken {
  const token = randomBytes(32).toString("base64url");
  tx.em.create(RefreshToken, { tokenHash: hashRefreshToken(token), sessionId, createTime: nowMs, expireTime: expireMs, usedTime: null });
  return { token, expireMs };
}

/** The token and its session, read to decide (not loaded into the unit of work: what changes is
 * changed by an atomic update, markRefreshTokenUsed). */
export async function findRefreshToken(tx: Tx, token: string): Promise<FoundRefreshToken | undefined> {
  const found = await tx.em.findOne(RefreshToken, { tokenHash: hashRefreshToken(token) }, { disableIdentityMap: true });
  if (!found) return undefined;
  const session = await findSession(tx, found.sessionId);
  // The foreign key makes a token without its session impossible.
  if (!session) throw new Error("refresh token without its session");
  return { token: found, session };
}

/** Marks the token used; false when another call already did (the loser of a race, or a
 * replay). The condition on used_time makes this atomic on both engines. */
export async function markRefreshTokenUsed(tx: Tx, token: string, nowMs: number): Promise<boolean> {
  return (await tx.em.nativeUpdate(RefreshToken, { tokenHash: hashRefreshToken(token), usedTime: null }, { usedTime: nowMs })) === 1;
}

export async function findSession(tx: Tx, sessionId: string): Promise<SessionEntity | undefined> {
  return (await tx.em.findOne(Session, { id: sessionId }, { disableIdentityMap: true })) ?? undefined;
}

export function isLive(session: Pick<SessionEntity, "revokedTime" | "expireTime">, nowMs: number): boolean {
  return session.revokedTime === null && session.expireTime > nowMs;
}

/** Ends the given live sessions; returns the ids it ended. */
export async function revokeSessions(tx: Tx, where: { userId: string; sessionId?: string; exceptSessionId?: string }, reason: string, nowMs: number): Promise<string[]> {
  const filter: FilterQuery<SessionEntity> = { userId: where.userId, revokedTime: null, expireTime: { $gt: nowMs } };
  if (where.sessionId !== undefined && where.exceptSessionId !== undefined) filter.id = { $eq: where.sessionId, $ne: where.exceptSessionId };
  else if (where.sessionId !== undefined) filter.id = where.sessionId;
  else if (where.exceptSessionId !== undefined) filter.id = { $ne: where.exceptSessionId };
  // Locked in id order, so that two revocations of one user's sessions queue instead of
  // deadlocking; the unit of work writes the change before COMMIT.
  const sessions = await tx.em.find(Session, filter, { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: "asc" } });
  for (const session of sessions) {
    session.revokedTime = nowMs;
    session.revokeReason = reason.slice(0, limits.reasonCharsMax);
  }
  return sessions.map((s) => s.id);
}

/** The user's live sessions, newest first, after `beforeId` (keyset pagination on the
 * time-ordered UUIDv7 id). */
export async function listLiveSessions(tx: Tx, userId: string, page: { beforeId?: string; limit: number }, nowMs: number): Promise<SessionRow[]> {
  const filter: FilterQuery<SessionEntity> = { userId, revokedTime: null, expireTime: { $gt: nowMs } };
  if (page.beforeId !== undefined) filter.id = { $lt: page.beforeId };
  const sessions = await tx.em.find(Session, filter, { orderBy: { id: "desc" }, limit: page.limit, disableIdentityMap: true });
  return sessions.map(sessionRowOf);
}

function sessionRowOf(s: SessionEntity): SessionRow {
  return {
    id: s.id,
    user_id: s.userId,
    user_agent: s.userAgent,
    client_address: s.clientAddress,
    create_time: s.createTime,
    last_used_time: s.lastUsedTime,
    expire_time: s.expireTime,
    revoked_time: s.revokedTime,
  };
}

/** Ends sessions in the database and, once the transaction commits, makes their access tokens
 * stop at once in this process (other processes: within limits.sessionRecheckMs). */
export async function endSessions(
  deps: { authenticator: { markRevoked(sessionIds: readonly string[]): void }; clock: Clock },
  tx: Tx,
  where: { userId: string; sessionId?: string; exceptSessionId?: string },
  reason: string,
  nowMs: number = deps.clock.now(),
): Promise<string[]> {
  const ids = await revokeSessions(tx, where, reason, nowMs);
  if (ids.length > 0) tx.afterCommit(() => deps.authenticator.markRevoked(ids));
  return ids;
}
