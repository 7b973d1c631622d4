// Turns a bearer token into a Principal: verifies the JWT (once per token, then from a bounded
// cache), and checks that its session is still live. Revocations made in this process apply at
// once (the revoked set); revocations made by other processes are seen when a cached token's
// session is re-checked in the database, at most limits.sessionRecheckMs after the last check.
import type { Database } from "../db/database";
import type { Principal, ServiceScope } from "../call-info";
import { unauthenticated } from "../errors";
import { limits } from "../limits";
import { ExpiringLru } from "../util/expiring-lru";
import { systemClock, type Clock } from "../util/clock";
import { AccessTokens, TokenVerificationError, type AccessClaims } from "./tokens";
import { isLive } from "./sessions";
import { Session, type SessionEntity } from "../db/entities";
import { preparedQuery } from "../db/prepared-query";
import { serviceSessionState } from "./service-keys";

/** A cached token's session with its user's disabled flag. Prepared (src/db/prepared-query.ts): it
 * runs for every cached token every limits.sessionRecheckMs, so on a good share of all calls. */
const sessionCheck = preparedQuery<SessionEntity, { revokedTime: number | null; expireTime: number; disabled: number | string }>(Session, "s", (qb, p) =>
  // s.userId is a foreign key mapped to its id (mapToPk), which the builder's types cannot see as a relation.
  qb.select(["s.revokedTime", "s.expireTime", "u.disabled"] as never).join("s.userId" as never, "u").where({ id: p(0), userId: p(1) }),
);

interface Verified {
  claims: AccessClaims;
  sessionCheckedMs: number;
  /** A service token's allow-list, read with its session (undefined for a user's token). */
  scope?: ServiceScope;
}

export class Authenticator {
  private readonly verified = new ExpiringLru<string, Verified>(limits.tokenCacheEntriesMax);
  /** Sessions ended in this process, kept until every token they issued has expired. */
  private readonly revoked = new ExpiringLru<string, true>(limits.tokenCacheEntriesMax);

  constructor(
    private readonly tokens: AccessTokens,
    private readonly db: Database,
    private readonly accessTokenTtlSeconds: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The principal of a valid access token of a live session; UNAUTHENTICATED otherwise. */
  async authenticate(token: string, nowMs: number = this.clock.now()): Promise<Principal> {
    if (token.length === 0 || token.length > limits.tokenCharsMax) throw tokenInvalid();
    let entry = this.verified.get(token, nowMs);
    if (!entry) {
      entry = { claims: await this.verifyToken(token), sessionCheckedMs: 0 };
      this.verified.set(token, entry, entry.claims.expireMs);
    }
    const { claims } = entry;
    if (this.revoked.get(claims.sessionId, nowMs)) throw sessionEnded();
    if (nowMs - entry.sessionCheckedMs >= limits.sessionRecheckMs) {
      const state = await this.sessionState(claims, nowMs);
      if (!state) {
        this.markRevoked([claims.sessionId], nowMs);
        throw sessionEnded();
      }
      entry.scope = state.scope;
      entry.sessionCheckedMs = nowMs;
    }
    const principal: Principal = { userId: claims.userId, sessionId: claims.sessionId, roles: claims.roles, tokenId: claims.tokenId, subjectType: claims.subjectType, enrolmentOnly: claims.enrolmentOnly };
    if (entry.scope) principal.scope = entry.scope;
    return principal;
  }

  /** Throws UNAUTHENTICATED SESSION_ENDED once `principal`'s session has ended (for streams,
   * which outlive a token check at their start; the token's own expiry does not end them). */
  async checkSession(principal: Principal, nowMs: number = this.clock.now()): Promise<void> {
    if (this.revoked.get(principal.sessionId, nowMs)) throw sessionEnded();
    if (!(await this.sessionState({ sessionId: principal.sessionId, userId: principal.userId, subjectType: principal.subjectType ?? "user" }, nowMs))) {
      this.markRevoked([principal.sessionId], nowMs);
      throw sessionEnded();
    }
  }

  /** Like authenticate, with the token's expiry, or undefined for anything invalid. */
  async introspect(token: string): Promise<{ principal: Principal; expireMs: number } | undefined> {
    try {
      const nowMs = this.clock.now();
      const principal = await this.authenticate(token, nowMs);
      const entry = this.verified.get(token, nowMs);
      return entry ? { principal, expireMs: entry.claims.expireMs } : undefined;
    } catch {
      return undefined;
    }
  }

  /** Makes the sessions' access tokens stop working in this process now. */
  markRevoked(sessionIds: readonly string[], nowMs: number = this.clock.now()): void {
    const untilMs = nowMs + (this.accessTokenTtlSeconds + limits.jwtClockToleranceSeconds) * 1000;
    for (const id of sessionIds) this.revoked.set(id, true, untilMs);
  }

  private async verifyToken(token: string): Promise<AccessClaims> {
    try {
      return await this.tokens.verify(token);
    } catch (err) {
      if (err instanceof TokenVerificationError && err.failure === "expired") {
        throw unauthenticated("TOKEN_EXPIRED", "The access token has expired; refresh it or sign in again.");
      }
      throw tokenInvalid();
    }
  }

  /** A live session's state (a service's allow-list), or undefined once it has ended. */
  private async sessionState(claims: Pick<AccessClaims, "sessionId" | "userId" | "subjectType">, nowMs: number): Promise<{ scope?: ServiceScope } | undefined> {
    if (claims.subjectType === "service") return this.db.read((tx) => serviceSessionState(tx, claims.sessionId, claims.userId, nowMs));
    return (await this.sessionLive(claims.sessionId, claims.userId, nowMs)) ? {} : undefined;
  }

  private async sessionLive(sessionId: string, userId: string, nowMs: number): Promise<boolean> {
    const row = await this.db.read((tx) => sessionCheck.one(tx, [sessionId, userId]));
    return row !== undefined && isLive(row, nowMs) && Number(row.disabled) === 0;
  }
}

function tokenInvalid() {
  return unauthenticated("TOKEN_INVALID", "The access token is not valid.");
}

function sessionEnded() {
  return unauthenticated("SESSION_ENDED", "The session of this access token has ended; sign in again.");
}
