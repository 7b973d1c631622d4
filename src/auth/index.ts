// The auth module: key ring, password hasher, token issuer and verifier, the interceptor, the
// AuthService routes and GET /.well-known/jwks.json. Other modules use `sessions` to end a
// user's sessions (DisableUser, SetUserRoles).
import type { AppContext, AppModule } from "../app";
import { AuditAggregator } from "../audit/aggregate";
import type { Tx } from "../db/database";
import type { HttpRoute } from "../server";
import { authServiceRoutes } from "../services/auth-service";
import { attemptTurns } from "./attempts";
import { Authenticator } from "./authenticator";
import { endSessions, type AuthDeps } from "./deps";
import { authInterceptor } from "./interceptor";
import { KeyRing } from "./keys";
import { limits } from "../limits";
import { Argon2Hasher } from "./passwords";
import { closePasswordStrength } from "./password-strength";
import { RegistrationLimits } from "./registration-limits";
import { AccessTokens } from "./tokens";

export interface AuthSessions {
  /** Ends the user's live sessions (all, or all but one) in `tx`. After commit their access
   * tokens stop at once in this process, and within limits.sessionRecheckMs in others.
   * Returns the ids of the sessions ended. */
  revokeUserSessions(tx: Tx, userId: string, reason: string, opts?: { exceptSessionId?: string }): Promise<string[]>;
}

export interface AuthModule extends AppModule {
  sessions: AuthSessions;
  /** The argon2 hasher with the configured costs and bounded concurrency. */
  hasher: Argon2Hasher;
  /** The aggregated audit of repeatable refusals (flushed when the module stops). */
  refusals: AuditAggregator;
}

export async function createAuthModule(ctx: AppContext): Promise<AuthModule> {
  const keys = await KeyRing.open(ctx.config.jwt.keysDir);
  const tokens = new AccessTokens(keys, ctx.config.jwt);
  const authenticator = new Authenticator(tokens, ctx.db, ctx.config.jwt.accessTokenTtlSeconds);
  const refusals = new AuditAggregator(ctx.db, {
    windowMs: limits.auditAggregateWindowMs,
    keysMax: limits.auditAggregateKeysMax,
    targetsMax: limits.auditAggregateTargetsMax,
    logger: ctx.logger,
  });
  const deps: AuthDeps = {
    db: ctx.db,
    logger: ctx.logger,
    hasher: new Argon2Hasher(ctx.config.argon2),
    tokens,
    authenticator,
    keys,
    registrations: new RegistrationLimits(ctx.config.registration),
    attemptTurns: attemptTurns(),
    refusals,
  };
  return {
    routes: authServiceRoutes(deps),
    interceptors: [authInterceptor(deps)],
    httpRoutes: [jwksRoute(keys)],
    sessions: {
      revokeUserSessions: (tx, userId, reason, opts = {}) => endSessions(deps, tx, { userId, exceptSessionId: opts.exceptSessionId }, reason),
    },
    hasher: deps.hasher,
    refusals,
    stop: async () => {
      await closePasswordStrength();
      await refusals.stop();
    },
  };
}

export const JWKS_PATH = "/.well-known/jwks.json";

function jwksRoute(keys: KeyRing): HttpRoute {
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== JWKS_PATH || (req.method !== "GET" && req.method !== "HEAD")) return false;
    const body = keys.jwksJson();
    res.writeHead(200, { "content-type": "application/jwk-set+json", "cache-control": "public, max-age=300" });
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  };
}
