// Starts bankd from the compiled JavaScript (dist/src/main.js of this tree, or of another build's
// tree: --baseline-ref) as a separate process, on a free port, with logs at warn, and waits until
// health says SERVING. With `profile`, the server also
// loads bench/profiler-hook.js, which takes V8 CPU profiles on request over the IPC channel.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb";

/** The BANK_METRICS_TOKEN of the bench's servers. */
export const BENCH_METRICS_TOKEN = "bench-metrics-token-0123456789";

export const ROOT = path.resolve(__dirname, "..", "..");
export const DIST = path.join(ROOT, "dist");

export interface BankdProcess {
  baseUrl: string;
  /** The gRPC port (BANK_GRPC_PORT), host:port; a build without it ignores the variable. */
  grpcTarget: string;
  child: ChildProcess;
  env: Record<string, string>;
  /** Its server processes (BANK_WORKERS): the primary's children when more than 1. */
  workers: number;
  /** Starts a CPU profile (profile mode only). */
  startProfile(): Promise<void>;
  /** Stops the CPU profile and writes it to `file` (profile mode only). */
  stopProfile(file: string): Promise<void>;
  /** SIGTERM, then waits for the drain; SIGKILL after 15 s. Returns the exit code. */
  stop(): Promise<number | null>;
}

export interface StartBankdOptions {
  databaseUrl: string;
  dataDir: string;
  logFile: string;
  profile: boolean;
  /** The tree whose dist/src/main.js runs (default: this one). */
  root?: string;
  /** BANK_WORKERS (default 1). */
  workers?: number;
  /** The node binary (default: the bench's own). */
  node?: string;
}

/** The server's environment: production argon2 costs stated explicitly (not left to defaults),
 * an access-token lifetime that outlasts a long run, and Register's rate limits raised: the
 * seeding registers every bench user (up to --users 10000) from 127.0.0.1, and no workload
 * measures registration. */
export function bankdEnv(opts: Pick<StartBankdOptions, "databaseUrl" | "dataDir">, port: number): Record<string, string> {
  return {
    BANK_HOST: "127.0.0.1",
    BANK_PORT: String(port),
    BANK_DATA_DIR: opts.dataDir,
    BANK_DATABASE_URL: opts.databaseUrl,
    BANK_LOG_LEVEL: "warn",
    BANK_ARGON2_MEMORY_KIB: "19456",
    BANK_ARGON2_TIME_COST: "2",
    BANK_ARGON2_PARALLELISM: "1",
    BANK_ACCESS_TOKEN_TTL_SECONDS: "7200",
    // /metrics is not public: the bench reads the posting engine's batch sizes with this token
    // (an older build without the token check ignores it).
    BANK_METRICS_TOKEN: BENCH_METRICS_TOKEN,
    // Bench accounts move far more than a customer's default day allows: the SQL seed sets each
    // account's limits to "no limit"; API seeding (--seed api) funds 1,000,000.00 per account,
    // so the bench's server raises USD's defaults too.
    BANK_DAILY_LIMITS: "USD:deposit=100000000000000,withdrawal=100000000000000,transfer_out=100000000000000",
    BANK_REGISTER_PER_ADDRESS_PER_HOUR: "1000000",
    BANK_REGISTER_PER_MINUTE: "1000000",
    // --seed api opens 10,000 accounts for 32 customers (312 each) as fast as it can: past a
    // customer's rate and cap (limits.accountOpensPerHour, accountsPerCustomerMax).
    BANK_ACCOUNT_OPENS_PER_HOUR: "1000000",
    BANK_ACCOUNTS_PER_CUSTOMER_MAX: "1000000",
    // transfer-hot's house account (a customer) pays out half of its transfers, over 1,000 a
    // second: past one customer's posting rate (limits.postingsPerCustomerPerSecond).
    BANK_POSTINGS_PER_CUSTOMER_PER_SECOND: "1000000",
  };
}

export async function startBankd(opts: StartBankdOptions): Promise<BankdProcess> {
  const port = await freePort();
  const env = bankdEnv(opts, port);
  const grpcPort = await freePort();
  env.BANK_GRPC_PORT = String(grpcPort);
  const workers = opts.workers ?? 1;
  if (workers > 1) env.BANK_WORKERS = String(workers);
  const log = fs.openSync(opts.logFile, "a");
  const nodeArgs = opts.profile ? ["--require", path.join(DIST, "bench", "profiler-hook.js")] : [];
  const root = opts.root ?? ROOT;
  const child = spawn(opts.node ?? process.execPath, [...nodeArgs, path.join(root, "dist", "src", "main.js")], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", log, log, ...(opts.profile ? (["ipc"] as const) : [])],
  });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitServing(baseUrl, exited, opts.logFile);
  const request = (message: object) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (reply: { ok?: boolean; error?: string }) => {
        child.off("message", onMessage);
        if (reply.ok) resolve();
        else reject(new Error(`profiler: ${reply.error ?? "failed"}`));
      };
      child.on("message", onMessage);
      child.send(message);
    });
  return {
    baseUrl,
    grpcTarget: `127.0.0.1:${grpcPort}`,
    child,
    env,
    workers,
    startProfile: () => (opts.profile ? request({ profile: "start" }) : Promise.resolve()),
    stopProfile: (file) => (opts.profile ? request({ profile: "stop", file }) : Promise.resolve()),
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A port the OS says is free now. A tiny race with other processes is possible; the server
 * then fails to start and the log says so. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitServing(baseUrl: string, exited: Promise<number | null>, logFile: string): Promise<void> {
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`bankd exited with code ${gone} during start; see ${logFile}:\n${tail(logFile)}`);
    try {
      const res = await health.check({ service: "" }, { timeoutMs: 1_000 });
      if (res.status === HealthCheckResponse_ServingStatus.SERVING) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`bankd did not become SERVING within 60 s; see ${logFile}`);
}

export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
