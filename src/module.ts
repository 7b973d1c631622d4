// What a feature module is: the shared context it is built from and what it adds to the app.
// Its own small file so that domain code and the composition root (modules.ts) can name these
// types without importing the transport (app.ts, server.ts) they are plugged into.
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { Config } from "./config";
import type { Database } from "./db/database";
import type { ReplicaRouter } from "./db/replica";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { Clock } from "./util/clock";

export interface AppContext {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  /** BANK_DATABASE_REPLICA_URL: the reads that may be stale go through it (db/replica.ts). */
  replica?: ReplicaRouter;
  /** The time every module reads (sessions, tokens, throttles, the ledger's postings and holds). */
  clock: Clock;
}

/** A plain HTTP route tried before the RPC router: answers (true) or passes (false). */
export type HttpRoute = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => boolean | Promise<boolean>;

/** What a feature module adds to the app: routes, interceptors, HTTP routes, background work. */
export interface AppModule {
  routes?: (router: ConnectRouter) => void;
  /** Interceptors run in module order, after the observe interceptor. */
  interceptors?: Interceptor[];
  httpRoutes?: HttpRoute[];
  /** Called when the drain begins: ends what would otherwise hold it (watch streams). */
  drain?: () => void;
  /** Stops background work; called before the database closes. */
  stop?: () => Promise<void> | void;
}
