// `bankd serve` (npm start): serve until SIGTERM or SIGINT, then drain and exit 0.
import cluster from "node:cluster";
import { startApp } from "../app";
import type { Config } from "../config";
import { createLogger } from "../logger";
import { isWorkersPrimary, serveWorkers } from "../workers";

/** The one line `serve` logs when it runs with development defaults (issue 28). */
export function developmentDefaultsLine(config: Readonly<Config>): string {
  return `running with development defaults: ${config.developmentDefaults.join("; ")} (production: docs/deploy.md)`;
}

export async function serveCommand(config: Readonly<Config>): Promise<number> {
  // Once per server, not once per worker: what runs with defaults that suit only development.
  if (!cluster.isWorker && config.developmentDefaults.length > 0) {
    createLogger(config.logLevel).warn({ developmentDefaults: config.developmentDefaults }, developmentDefaultsLine(config));
  }
  if (isWorkersPrimary(config)) return serveWorkers(config);
  // The handlers go in before the server starts: it announces its URL and answers health
  // checks while still starting (the gRPC port, the database's watchers), and a SIGTERM sent
  // then must drain it once started, not kill the process (exit 143). They stay installed
  // during the drain: a second signal must not kill the process half-way (Ctrl-C under
  // `npm start` delivers SIGINT twice: from the terminal to the whole process group, and
  // forwarded by npm).
  let received: string | undefined;
  let onSignal = (signal: string): void => void (received ??= signal);
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  const app = await startApp(config);
  await new Promise<void>((resolve) => {
    let draining = false;
    onSignal = (signal) => {
      if (draining) return;
      draining = true;
      app.logger.info({ signal }, "draining");
      resolve();
    };
    if (received !== undefined) onSignal(received);
  });
  await app.shutdown();
  return 0;
}
