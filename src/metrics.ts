// Prometheus metrics (GET /metrics). One registry per server instance so tests can build many.
import { timingSafeEqual } from "node:crypto";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Whether a request may read /metrics: it bears the configured token (compared in constant
 * time); with no token configured, nobody may (the route is off). */
export function metricsAllowed(token: string | undefined, authorization: string | string[] | undefined): boolean {
  if (token === undefined || typeof authorization !== "string") return false;
  const given = Buffer.from(authorization);
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

export interface Metrics {
  registry: Registry;
  rpcTotal: Counter<"method" | "code">;
  rpcSeconds: Histogram<"method" | "code">;
  rpcInFlight: Gauge<"method">;
  rpcRefused: Counter<"reason">;
  http2Goaways: Counter<"reason">;
  connectionsRefused: Counter<"reason">;
  dbTxSeconds: Histogram<"outcome">;
  dbTxRetries: Counter;
  dbPool: Gauge<"state">;
  dbConnectionErrors: Counter;
  dbRoundTrips: Counter;
  auditUnsealed: Gauge;
  postingBatches: Counter<"outcome">;
  postingBatchSize: Histogram;
  postingBatchSeconds: Histogram;
  replicaReads: Counter<"target" | "reason">;
  replicaStaleness: Gauge;
  /** A multi-host BANK_DATABASE_URL (src/db/primary.ts): 1 while a writable host is known. */
  dbPrimaryAvailable: Gauge;
  /** Times the pool moved to another host. */
  dbPrimarySwitches: Counter;
  /** 1 while the primary's synchronous_standby_names is empty (commits acknowledged without a
   * standby's copy), 0 while set, -1 unknown. */
  dbSyncStandbyMissing: Gauge;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  // Which process answered: with BANK_WORKERS > 1 each worker has its own metrics, and a scraper
  // that reaches them through the one port tells them apart (and sums them) by this.
  new Gauge({ name: "bankd_process_info", help: "Always 1; labels name the process (pid, and the worker index under BANK_WORKERS > 1).", labelNames: ["pid", "worker"], registers: [registry] })
    .set({ pid: String(process.pid), worker: process.env.BANK_WORKER_INDEX ?? "" }, 1);
  return {
    registry,
    rpcTotal: new Counter({ name: "bankd_rpc_total", help: "RPCs completed, by method and Connect code.", labelNames: ["method", "code"], registers: [registry] }),
    rpcSeconds: new Histogram({ name: "bankd_rpc_duration_seconds", help: "RPC latency, by method and Connect code.", labelNames: ["method", "code"], buckets: latencyBuckets, registers: [registry] }),
    rpcInFlight: new Gauge({ name: "bankd_rpc_in_flight", help: "RPCs being served now.", labelNames: ["method"], registers: [registry] }),
    rpcRefused: new Counter({ name: "bankd_rpc_refused_total", help: "RPCs answered by the transport before any handler ran (oversized or undecodable messages, bad timeouts, unsupported compression, JSON too deep, unknown methods), by ErrorInfo reason.", labelNames: ["reason"], registers: [registry] }),
    http2Goaways: new Counter({ name: "bankd_http2_goaway_total", help: "HTTP/2 connections closed by bankd for abuse (too many stream resets), by reason.", labelNames: ["reason"], registers: [registry] }),
    connectionsRefused: new Counter({ name: "bankd_connections_refused_total", help: "Connections closed as they arrived because their client address held its share (connectionsPerAddressMax), by reason.", labelNames: ["reason"], registers: [registry] }),
    dbTxSeconds: new Histogram({ name: "bankd_db_transaction_duration_seconds", help: "Database transaction time, by outcome (commit, rollback).", labelNames: ["outcome"], buckets: latencyBuckets, registers: [registry] }),
    dbTxRetries: new Counter({ name: "bankd_db_transaction_retries_total", help: "Transactions retried after a deadlock or serialization failure.", registers: [registry] }),
    dbPool: new Gauge({ name: "bankd_db_pool_connections", help: "Database pool connections by state (used, free, pending).", labelNames: ["state"], registers: [registry] }),
    dbRoundTrips: new Counter({ name: "bankd_db_round_trips_total", help: "Round trips to PostgreSQL (statements and their BEGIN, COMMIT, ROLLBACK; a BEGIN sent with the first statement counts once).", registers: [registry] }),
    dbConnectionErrors: new Counter({ name: "bankd_db_connection_errors_total", help: "PostgreSQL connections that failed (database restart, network) and were dropped.", registers: [registry] }),
    auditUnsealed: new Gauge({ name: "bankd_audit_unsealed_events", help: "Audit events recorded but not yet sealed into the hash chain.", registers: [registry] }),
    postingBatches: new Counter({ name: "bankd_posting_batches_total", help: "Posting engine batches, by outcome (committed, failed).", labelNames: ["outcome"], registers: [registry] }),
    postingBatchSize: new Histogram({
      name: "bankd_posting_batch_size",
      help: "Postings per committed batch of the posting engine.",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
      registers: [registry],
    }),
    postingBatchSeconds: new Histogram({ name: "bankd_posting_batch_duration_seconds", help: "Time from a batch's start to its commit.", buckets: latencyBuckets, registers: [registry] }),
    replicaReads: new Counter({ name: "bankd_replica_reads_total", help: "Reads that may use the read replica, by where they were served (replica, primary) and why (fresh, lagging, unavailable, not_standby, error).", labelNames: ["target", "reason"], registers: [registry] }),
    dbPrimaryAvailable: new Gauge({ name: "bankd_db_primary_available", help: "Multi-host BANK_DATABASE_URL: 1 while a host that accepts writes is known, 0 while none is (a failover in progress).", registers: [registry] }),
    dbPrimarySwitches: new Counter({ name: "bankd_db_primary_switches_total", help: "Multi-host BANK_DATABASE_URL: times the connection pool moved to another host (a failover or switchover).", registers: [registry] }),
    dbSyncStandbyMissing: new Gauge({ name: "bankd_db_synchronous_standby_missing", help: "Multi-host BANK_DATABASE_URL: 1 while the primary's synchronous_standby_names is empty (commits are acknowledged without a standby's copy), 0 while it is set, -1 unknown.", registers: [registry] }),
    replicaStaleness: new Gauge({ name: "bankd_replica_staleness_seconds", help: "How old the read replica's data may be at the last lag measurement (-1: unknown, the replica did not answer).", registers: [registry] }),
  };
}
