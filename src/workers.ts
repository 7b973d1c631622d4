// BANK_WORKERS > 1: `serve` runs that many server processes on the one port (node:cluster: the
// primary accepts connections and hands them to the workers in turn). Node runs JavaScript on one
// thread, so one process uses one core; on PostgreSQL a second process is how bankd uses a second
// core (docs/performance.md). Each worker is a whole bankd: its own posting engine, pools, argon2
// queue and caches; everything they must agree on is in the database (idempotency keys, locks,
// throttling, sessions, the token-sealing key), as for processes on several machines.
//
// The primary prepares what every worker shares once (migrations, the signing keys), forks the
// workers, restarts one that dies after it was serving, and on SIGTERM or SIGINT passes the
// signal on and waits for every worker's drain, exiting 0 when all exited 0.
import cluster, { type Worker } from "node:cluster";
import { KeyRing } from "./auth/keys";
import type { Config } from "./config";
import { Database } from "./db/database";
import { limits } from "./limits";
import { createLogger } from "./logger";

export async function serveWorkers(config: Readonly<Config>): Promise<number> {
  const logger = createLogger(config.logLevel);
  const db = await Database.open(config.database);
  try {
    const applied = await db.migrate();
    if (applied.length > 0) logger.info({ migrations: applied }, "database migrated");
  } finally {
    await db.close();
  }
  // Created once here, so that workers starting together do not each make a key.
  await KeyRing.open(config.jwt.keysDir);

  let draining = false;
  let failed = false;
  const live = new Set<Worker>();
  const allExited = new Promise<void>((resolve) => {
    const fork = (index: number) => {
      const worker = cluster.fork({ BANK_WORKER_INDEX: String(index) });
      let serving = false;
      live.add(worker);
      worker.on("listening", () => (serving = true));
      worker.on("exit", (code, signal) => {
        live.delete(worker);
        if (draining) {
          if (code !== 0) failed = true;
          if (live.size === 0) resolve();
          return;
        }
        logger.error({ worker: index, code, signal }, serving ? "worker died; restarting it" : "worker failed to start; stopping");
        if (serving) {
          setTimeout(() => !draining && fork(index), limits.workerRestartDelayMs).unref();
        } else {
          failed = true;
          stop("worker start failure");
        }
      });
    };
    const stop = (reason: string) => {
      if (draining) return;
      draining = true;
      logger.info({ reason, workers: live.size }, "draining");
      if (live.size === 0) resolve();
      for (const worker of live) worker.process.kill("SIGTERM");
      // A worker that outlives its own drain bounds is killed.
      setTimeout(() => {
        for (const worker of live) worker.process.kill("SIGKILL");
      }, limits.shutdownDrainMs + limits.auditShutdownSealMs + limits.workerExitGraceMs).unref();
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    for (let i = 0; i < config.workers; i++) fork(i);
    logger.info({ workers: config.workers, port: config.port }, "serving with worker processes");
  });
  await allExited;
  return failed ? 1 : 0;
}

/** True in a process that must fork workers instead of serving. */
export function isWorkersPrimary(config: Readonly<Config>): boolean {
  return config.workers > 1 && cluster.isPrimary;
}
