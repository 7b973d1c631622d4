// The composition root: builds each domain (auth, admin, ledger, audit) and wires it to its
// Connect services (src/services/) and HTTP routes. Domains import no transport; this file is
// where the two meet. productModules lists the product's modules in the order their
// interceptors run.
import { AccountService } from "../gen/bank/v1/account_service_pb";
import { TransactionService } from "../gen/bank/v1/transaction_service_pb";
import type { AuthSessions } from "./auth";
import { attemptTurns } from "./auth/attempts";
import { Authenticator } from "./auth/authenticator";
import type { AuthDeps } from "./auth/deps";
import { authInterceptor } from "./transport/auth-interceptor";
import { KeyRing } from "./auth/keys";
import { closePasswordStrength } from "./auth/password-strength";
import { Argon2Hasher } from "./auth/passwords";
import { RegistrationLimits } from "./auth/registration-limits";
import { AccountOpening } from "./ledger/account-opening";
import { BusinessRefusals } from "./audit/business-refusals";
import { endSessions } from "./auth/sessions";
import { AccessTokens } from "./auth/tokens";
import { TotpSecretBox } from "./auth/second-factor";
import { AuditAggregator } from "./audit/aggregate";
import { AuditSealer } from "./audit/sealer";
import { startHoldSweeper } from "./ledger";
import { Ledger, type LedgerOptions } from "./ledger/ledger";
import { AccountWatchers } from "./ledger/watch";
import { limits } from "./limits";
import type { AppContext, AppModule } from "./module";
import { accountService } from "./services/account-service";
import { adminRoutes } from "./services/admin-service";
import { auditRoutes } from "./services/audit-service";
import { authServiceRoutes } from "./services/auth-service";
import { jwksRoute } from "./services/jwks";
import { transactionService } from "./services/transaction-service";
import { explorerModule } from "./web/explorer";
import { webModule } from "./web/web-module";

export async function productModules(ctx: AppContext): Promise<AppModule[]> {
  // Auth first: its interceptor sets the principal that later modules' interceptors may read.
  const auth = await createAuthModule(ctx);
  // Audit last: its stop() seals what the other modules recorded while stopping.
  return [auth, createAdminModule(ctx, { sessions: auth.sessions }), await createLedgerModule(ctx), await webModule(ctx), explorerModule(ctx), createAuditModule(ctx)];
}

export interface AuthModule extends AppModule {
  /** Other modules end a user's sessions through it (DisableUser, SetUserRoles). */
  sessions: AuthSessions;
  /** The argon2 hasher with the configured costs and bounded concurrency. */
  hasher: Argon2Hasher;
  /** The aggregated audit of repeatable refusals (flushed when the module stops). */
  refusals: AuditAggregator;
  /** The aggregated audit of staff reads of customers' accounts (flushed when the module stops). */
  staffReads: AuditAggregator;
}

/** The auth module: key ring, password hasher, token issuer and verifier, the interceptor, the
 * AuthService routes and GET /.well-known/jwks.json. */
export async function createAuthModule(ctx: AppContext): Promise<AuthModule> {
  const keys = await KeyRing.open(ctx.config.jwt.keysDir);
  const tokens = new AccessTokens(keys, ctx.config.jwt, ctx.clock);
  const authenticator = new Authenticator(tokens, ctx.db, ctx.config.jwt.accessTokenTtlSeconds, ctx.clock);
  const refusals = new AuditAggregator(ctx.db, {
    windowMs: limits.auditAggregateWindowMs,
    keysMax: limits.auditAggregateKeysMax,
    targetsMax: limits.auditAggregateTargetsMax,
    logger: ctx.logger,
  });
  const staffReads = new AuditAggregator(ctx.db, {
    windowMs: limits.staffReadAuditWindowMs,
    keysMax: limits.auditAggregateKeysMax,
    targetsMax: limits.auditAggregateTargetsMax,
    logger: ctx.logger,
  });
  const deps: AuthDeps = {
    db: ctx.db,
    logger: ctx.logger,
    clock: ctx.clock,
    hasher: new Argon2Hasher(ctx.config.argon2),
    tokens,
    authenticator,
    keys,
    registrations: new RegistrationLimits(ctx.config.registration),
    attemptTurns: attemptTurns(),
    refusals,
    staffReads,
    totp: { box: TotpSecretBox.open(ctx.config.totpKeyFile), issuer: ctx.config.jwt.issuer },
  };
  return {
    routes: authServiceRoutes(deps),
    interceptors: [authInterceptor(deps)],
    httpRoutes: [jwksRoute(keys)],
    sessions: {
      revokeUserSessions: (tx, userId, reason, opts = {}) => endSessions(deps, tx, { userId, exceptSessionId: opts.exceptSessionId }, reason),
      markRevoked: (sessionIds) => authenticator.markRevoked(sessionIds),
    },
    hasher: deps.hasher,
    refusals,
    staffReads,
    stop: async () => {
      await closePasswordStrength();
      await refusals.stop();
      await staffReads.stop();
    },
  };
}

/** The admin module: AdminService's routes. It ends users' sessions through the auth module's
 * `sessions` (role changes and disables), so it is built after the auth module. */
export function createAdminModule(ctx: AppContext, auth: { sessions: AuthSessions }): AppModule {
  return { routes: adminRoutes({ db: ctx.db, clock: ctx.clock, sessions: auth.sessions, serviceAccounts: { db: ctx.db, clock: ctx.clock, markRevoked: (ids) => auth.sessions.markRevoked(ids) } }) };
}

export interface LedgerModuleOptions extends LedgerOptions {
  /** Defaults to limits.holdSweepIntervalMs. */
  holdSweepIntervalMs?: number;
}

/** The ledger module: AccountService and TransactionService routes, the settlement accounts
 * (one per configured currency, ensured at start) and the hold-expiry sweeper. */
export async function createLedgerModule(ctx: AppContext, opts: LedgerModuleOptions = {}): Promise<AppModule> {
  const refusals = new BusinessRefusals(ctx.db, ctx.logger);
  // The app's clock, unless the caller gives the ledger one of its own.
  const clock = () => ctx.clock.now();
  const ledger = await Ledger.open(ctx.db, ctx.config.currencies, { metrics: ctx.metrics, logger: ctx.logger, replica: ctx.replica, refusals, postingsPerCustomerPerSecond: ctx.config.postingsPerCustomerPerSecond, clock, ...opts });
  const sweeper = startHoldSweeper(ledger, ctx.logger, opts.holdSweepIntervalMs ?? limits.holdSweepIntervalMs);
  const watchers = new AccountWatchers(ledger, ctx.logger);
  const opening = new AccountOpening(ctx.config.accountOpening);
  return {
    routes: (router) => {
      router.service(AccountService, accountService(ledger, watchers, opening));
      router.service(TransactionService, transactionService(ledger));
    },
    drain: () => watchers.drain(),
    stop: async () => {
      await watchers.stop();
      await sweeper.stop();
      await ledger.stop();
      // After the ledger: the last refusals have been counted.
      await refusals.stop();
    },
  };
}

export interface AuditModule extends AppModule {
  sealer: AuditSealer;
}

/** The audit module: AuditService's routes and the background sealer (stopped, after a last
 * sealing pass, when the app shuts down). */
export function createAuditModule(ctx: AppContext): AuditModule {
  const sealer = new AuditSealer(ctx.db, ctx.metrics, ctx.logger);
  sealer.start();
  return { routes: auditRoutes({ db: ctx.db, replica: ctx.replica }), stop: () => sealer.stop(), sealer };
}
