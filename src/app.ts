// The composition root: configuration -> database -> migrations -> services -> server, and the
// graceful drain. Tests build the same app on port 0.
import { setMaxListeners } from "node:events";
import { HEADER } from "./transport/headers";
import { Code, type Interceptor } from "@connectrpc/connect";
import { connectError } from "./transport/errors";
import type { DescService } from "@bufbuild/protobuf";
import type { Config } from "./config";
import { Database } from "./db/database";
import { ReplicaRouter } from "./db/replica";
import { createLogger, type Logger } from "./logger";
import { createMetrics, type Metrics } from "./metrics";
import { limits } from "./limits";
import { observeInterceptor } from "./transport/observe";
import { listen, type ListeningServer } from "./transport/server";
import type { AppContext, AppModule, HttpRoute } from "./module";
import { corsWrap } from "./transport/cors";
import { responseHeadersWrap } from "./transport/response-headers";
import { metricsAllowed } from "./metrics";
import { HealthState, healthRoutes } from "./services/health";
import { ReflectionIndex, reflectionRoutes } from "./services/reflection";
import { Health } from "../gen/grpc/health/v1/health_pb";
import { file_bank_v1_error_info } from "../gen/bank/v1/error_info_pb";
import { AuthService } from "../gen/bank/v1/auth_service_pb";
import { AccountService } from "../gen/bank/v1/account_service_pb";
import { TransactionService } from "../gen/bank/v1/transaction_service_pb";
import { AdminService } from "../gen/bank/v1/admin_service_pb";
import { AuditService } from "../gen/bank/v1/audit_service_pb";
import { writeHead } from "./util/http-response";
import { productModules } from "./modules";
import { mountServices, recordServices } from "./transport/services";
import { listenGrpc, type ListeningGrpcPort } from "./transport/grpc-port";
import { controlCharacterInterceptor } from "./transport/control-characters";
import { systemClock, type Clock } from "./util/clock";

/** Every bank.v1 service; reflection and health list them. */
export const bankServices: readonly DescService[] = [AuthService, AccountService, TransactionService, AdminService, AuditService];

export type { AppContext, AppModule } from "./module";

export interface App extends AppContext {
  server: ListeningServer;
  /** The gRPC port (BANK_GRPC_PORT); undefined when it is off. */
  grpcPort?: ListeningGrpcPort;
  health: HealthState;
  /** Drains and stops: NOT_SERVING, refuse new calls, wait for in-flight ones, close. */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Feature modules; defaults to the full product (see modules.ts). */
  modules?: (ctx: AppContext) => Promise<AppModule[]>;
  /** The modules' clock; defaults to the system's (tests move it on instead of waiting). */
  clock?: Clock;
}

export async function startApp(config: Readonly<Config>, opts: StartOptions = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const db = await Database.open(config.database, metrics, { onDriverWarning: (message) => logger.warn({ driver: "knex" }, message), log: logger });
  const applied = await db.migrate();
  if (applied.length > 0) logger.info({ migrations: applied }, "database migrated");
  const replica = await openReplica(config, db, metrics, logger);
  const ctx: AppContext = { config, logger, metrics, db, replica, clock: opts.clock ?? systemClock };

  const loadModules = opts.modules ?? productModules;
  const modules = await loadModules(ctx);
  const health = new HealthState(bankServices.map((s) => s.typeName));
  // A multi-host database: NOT_SERVING while no host accepts writes (src/db/primary.ts).
  health.setDatabaseAvailable(db.hostAvailable);
  db.onHostChange((available) => health.setDatabaseAvailable(available));
  // ErrorInfo is imported by no service, but grpcurl and buf curl need it to decode error details.
  const reflection = new ReflectionIndex([...bankServices, Health], [file_bank_v1_error_info]);
  const shutdown = new AbortController();
  // Every call in flight listens on this signal; their number is bounded by the server limits.
  setMaxListeners(0, shutdown.signal);
  const calls = new CallsInFlight();

  const services = allServices(modules, health, reflection);
  // One chain for both ports: the drain, the in-flight count and the metrics are the process's.
  const interceptors = [
    observeInterceptor({
      logger,
      metrics,
      isDraining: () => calls.draining,
      inFlight: calls,
      trustProxy: config.trustProxy,
    }),
    // Before authentication: a request string with a control character is malformed whoever sends it.
    controlCharacterInterceptor(),
    ...modules.flatMap((m) => m.interceptors ?? []),
  ];

  const httpRoutes = [metricsRoute(config, db, metrics), ...modules.flatMap((m) => m.httpRoutes ?? [])];
  const { server, grpcPort } = await listenPorts(ctx, { shutdownSignal: shutdown.signal, interceptors, services, httpRoutes });
  logger.info({ url: server.url, grpc: grpcPort?.target ?? "off", docs: `${server.url}/docs`, database: config.database.kind }, "bankd serving");

  let stopping: Promise<void> | undefined;
  const app: App = {
    ...ctx,
    server,
    grpcPort,
    health,
    shutdown: () =>
      (stopping ??= (async () => {
        calls.draining = true;
        health.setServing(false);
        for (const m of modules) m.drain?.();
        await calls.idle(limits.shutdownDrainMs);
        // Calls still running (streams, mostly) end with this: the client retries elsewhere.
        shutdown.abort(connectError(Code.Unavailable, "SERVER_DRAINING", "The server is shutting down; retry on another instance."));
        await Promise.all([server.close(1_000), grpcPort?.close(1_000)]);
        for (const m of modules) await m.stop?.();
        await replica?.stop();
        await replica?.replica.close();
        await db.close();
        logger.info("bankd stopped");
      })()),
  };
  return app;
}

/** The main port (Connect, gRPC-Web, gRPC) and, unless it is off, the gRPC port, serving the same
 * services through the same interceptors. */
async function listenPorts(
  { config, logger, metrics }: AppContext,
  opts: { shutdownSignal: AbortSignal; interceptors: Interceptor[]; services: ReturnType<typeof allServices>; httpRoutes: HttpRoute[] },
): Promise<{ server: ListeningServer; grpcPort: ListeningGrpcPort | undefined }> {
  const server = await listen({
    config,
    logger,
    metrics,
    shutdownSignal: opts.shutdownSignal,
    interceptors: opts.interceptors,
    routes: mountServices(opts.services),
    httpRoutes: opts.httpRoutes,
    wrap: (handler) => {
      const cors = corsWrap(config.corsOrigins);
      return responseHeadersWrap({ tls: config.tls !== undefined })(cors ? cors(handler) : handler);
    },
  });
  if (config.grpcPort === undefined) return { server, grpcPort: undefined };
  try {
    const grpcPort = await listenGrpc({ config: { host: config.host, tls: config.tls, grpcPort: config.grpcPort }, registrations: opts.services, interceptors: opts.interceptors, shutdownSignal: opts.shutdownSignal, logger, metrics, limits });
    return { server, grpcPort };
  } catch (err) {
    await server.close(0);
    throw err;
  }
}

/** The calls in flight on both ports, and whether the server drains: the shutdown waits (at most
 * its drain time) for them to end. */
class CallsInFlight {
  draining = false;
  private count = 0;
  private onIdle: (() => void) | undefined;

  add(): void {
    this.count++;
  }

  done(): void {
    if (--this.count === 0) this.onIdle?.();
  }

  /** Resolves when no call is in flight, or after `maxMs`. */
  idle(maxMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.onIdle = resolve;
      setTimeout(resolve, maxMs).unref();
    });
  }
}

/** GET /metrics. Not public (security W12): it answers only a request bearing
 * BANK_METRICS_TOKEN, and not at all when none is configured. */
function metricsRoute(config: Readonly<Config>, db: Database, metrics: Metrics): HttpRoute {
  return async (req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics" || !metricsAllowed(config.metricsToken, req.headers[HEADER.authorization])) return false;
    const pool = db.poolStats();
    metrics.dbPool.set({ state: "used" }, pool.used);
    metrics.dbPool.set({ state: "free" }, pool.free);
    metrics.dbPool.set({ state: "pending" }, pool.pending);
    const body = await metrics.registry.metrics();
    writeHead(res, 200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" });
    res.end(body);
    return true;
  };
}

/** The service implementations, recorded once (both ports mount the same ones): health,
 * reflection and the modules'; a bank service no module implements answers UNIMPLEMENTED. */
function allServices(modules: readonly AppModule[], health: HealthState, reflection: ReflectionIndex) {
  const services = recordServices((router) => {
    healthRoutes(health)(router);
    reflectionRoutes(reflection)(router);
    for (const m of modules) m.routes?.(router);
  });
  const served = new Set(services.map((r) => r.service.typeName));
  for (const service of bankServices) if (!served.has(service.typeName)) services.push({ service, impl: {} });
  return services;
}

/** The read replica's router when BANK_DATABASE_REPLICA_URL is set. A replica that does not answer
 * at start only logs: its reads go to the primary until it does. */
async function openReplica(config: Readonly<Config>, db: Database, metrics: Metrics, logger: Logger): Promise<ReplicaRouter | undefined> {
  if (config.database.kind !== "postgres" || config.database.replicaUrl === undefined) return undefined;
  const replicaDb = await Database.open({ kind: "postgres", url: config.database.replicaUrl, multiHost: config.database.replicaMultiHost }, undefined, {
    readOnly: true,
    log: logger.child({ database: "replica" }),
    onDriverWarning: (message) => logger.warn({ driver: "knex", database: "replica" }, message),
  });
  const router = new ReplicaRouter(db, replicaDb, { metrics, logger });
  await router.start();
  logger.info({ stalenessMs: router.stalenessMs() ?? null }, "read replica configured");
  return router;
}
