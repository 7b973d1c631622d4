// Real bankd processes for the system scenarios: `node --import tsx src/main.ts`, exactly what
// `npm start` runs, configured through the environment like production. A process keeps its port
// across restarts (so clients keep their address), processes of one scenario share BANK_DATA_DIR
// (so they share the JWT signing keys and accept each other's tokens), and each can be killed with
// SIGKILL (a crash) or SIGTERM (a drain).
//
// `node --import tsx` rather than `npx tsx`: the tsx CLI runs the program in a child process, and
// a SIGKILL sent to the CLI would leave that child serving.
import * as path from "node:path";
import { TEST_METRICS_TOKEN, metricsText } from "../../support/metrics";
import * as http from "node:http";
import { spawn, type ChildProcess } from "node:child_process";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../../gen/grpc/health/v1/health_pb";
import { FAST_ARGON2, LENIENT_REGISTRATION } from "../../support/app";
import { freePort } from "./ports";
import { waitUntil } from "../../support/wait";

export const REPO_ROOT = path.resolve(__dirname, "../../..");

export interface BankdOptions {
  /** BANK_DATABASE_URL (postgres://... or sqlite:FILE). */
  databaseUrl: string;
  /** BANK_DATA_DIR, shared by the processes of one scenario. */
  dataDir: string;
  /** Fixed port; a free one is picked when omitted. */
  port?: number;
  /** Extra environment (BANK_LOG_LEVEL defaults to warn, argon2 to the cheap test costs). */
  env?: Record<string, string>;
  name?: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class BankdProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<Exit> | undefined;
  private readonly lines: string[] = [];
  /** How many times this process was started (1 = first start). */
  starts = 0;

  private constructor(
    readonly opts: BankdOptions,
    readonly port: number,
  ) {
    process.once("exit", () => this.child?.kill("SIGKILL"));
  }

  static async start(opts: BankdOptions): Promise<BankdProcess> {
    const p = new BankdProcess(opts, opts.port ?? (await freePort()));
    await p.start();
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get name(): string {
    return this.opts.name ?? `bankd:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Every stdout/stderr line so far (JSON log lines at BANK_LOG_LEVEL, plus any crash text). */
  logLines(): readonly string[] {
    return this.lines;
  }

  /** Starts the process and waits until health says SERVING (or fails if it exits first). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const env = {
      ...process.env,
      BANK_HOST: "127.0.0.1",
      BANK_PORT: String(this.port),
      BANK_DATA_DIR: this.opts.dataDir,
      BANK_DATABASE_URL: this.opts.databaseUrl,
      BANK_LOG_LEVEL: "warn",
      BANK_METRICS_TOKEN: TEST_METRICS_TOKEN,
      ...FAST_ARGON2,
      ...LENIENT_REGISTRATION,
      // The scenarios open accounts at machine speed (setupBank, lost-responses' openings): the
      // per-principal opening rate is not what they test (test/ledger/account-opening.test.ts is).
      BANK_ACCOUNT_OPENS_PER_HOUR: "1000000",
      // The gRPC port on any free port: its default, BANK_PORT + 1, may be taken by another test
      // process's listener (a full run saw "the port is in use" at start).
      BANK_GRPC_PORT: "0",
      ...this.opts.env,
    };
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.starts++;
    const collect = (stream: NodeJS.ReadableStream) => {
      let partial = "";
      stream.on("data", (d: Buffer) => {
        partial += d.toString("utf8");
        const parts = partial.split("\n");
        partial = parts.pop() ?? "";
        for (const line of parts) if (line.trim() !== "") this.lines.push(line);
      });
    };
    collect(child.stdout!);
    collect(child.stderr!);
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    await this.waitServing(child);
  }

  /** Sends a signal and waits for the exit. SIGKILL is a crash: nothing is flushed or drained. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<Exit> {
    if (!this.child || !this.exited) throw new Error(`${this.name} was never started`);
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  /** Sends SIGTERM and resolves with the exit once the process is gone. */
  async terminate(): Promise<Exit> {
    return this.kill("SIGTERM");
  }

  /** Waits for the current process to exit (after a signal sent elsewhere). */
  async waitExit(): Promise<Exit> {
    if (!this.exited) throw new Error(`${this.name} was never started`);
    return this.exited;
  }

  async restart(): Promise<void> {
    if (this.running) await this.kill("SIGKILL");
    await this.start();
  }

  /** Stops for good (afterAll): SIGKILL if still running. */
  async stop(): Promise<void> {
    if (this.running) await this.kill("SIGKILL");
  }

  async health(service = ""): Promise<Status> {
    const res = await createClient(Health, createConnectTransport({ baseUrl: this.url, httpVersion: "1.1" })).check({ service }, { timeoutMs: 2_000 });
    return res.status;
  }

  /** GET /metrics as text. */
  metricsText(): Promise<string> {
    return metricsText(this.url);
  }

  /** process_resident_memory_bytes from /metrics. */
  async residentBytes(): Promise<number> {
    const match = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(await this.metricsText());
    if (!match) throw new Error("process_resident_memory_bytes missing from /metrics");
    return Number(match[1]);
  }

  /** Calls in flight in the process (the sum of bankd_rpc_in_flight over methods). */
  async rpcInFlight(): Promise<number> {
    let total = 0;
    for (const match of (await this.metricsText()).matchAll(/^bankd_rpc_in_flight\{[^}]*\} (\d+)$/gm)) total += Number(match[1]);
    return total;
  }

  private async waitServing(child: ChildProcess): Promise<void> {
    await waitUntil(`${this.name} is SERVING`, async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${this.name} exited during start (code ${child.exitCode}, signal ${child.signalCode})`);
      }
      // Not listening yet: asked again.
      return (await this.health().catch(() => undefined)) === Status.SERVING;
    }, { timeoutMs: 60_000, intervalMs: 100 }).catch((err: unknown) => {
      // Its last lines, whether it exited or never answered SERVING.
      throw new Error(`${(err as Error).message}:\n${this.lines.slice(-20).join("\n")}`);
    });
  }
}

export function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bankd <args>` (src/cli.ts) with the scenario's database, optionally feeding stdin. */
export function runCli(args: string[], opts: { databaseUrl: string; dataDir: string; stdin?: string; env?: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, BANK_DATA_DIR: opts.dataDir, BANK_DATABASE_URL: opts.databaseUrl, BANK_LOG_LEVEL: "warn", ...FAST_ARGON2, ...LENIENT_REGISTRATION, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? "");
  });
}
