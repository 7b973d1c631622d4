// A throwaway PostgreSQL cluster for the scenarios that restart, stop or slow the database, so
// that the machine's main cluster (5432, shared with everybody) is never restarted.
//
// initdb runs as the postgres OS user when we are root (runuser), as ourselves otherwise; the
// data directory lives in a fresh temporary directory owned by that user, the server listens on 127.0.0.1 on a free port with its
// unix socket in that directory, and fsync stays on (a crash test on a cluster without fsync
// proves nothing about durability).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { Client } from "pg";
import { freePort } from "./ports";
import { sleep } from "./rng";
import { waitUntil } from "../../support/wait";

const run = promisify(execFile);
/** BANK_TEST_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian's layout; 15 here). */
const PG_BIN = process.env.BANK_TEST_PG_BIN ?? newestPgBin();
/** initdb refuses to run as root: as root, the server runs as the postgres OS user. */
const AS_ROOT = process.getuid?.() === 0;

function newestPgBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb"))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return path.join(root, versions[0] ?? "15", "bin");
}

export class PgCluster {
  private stopped = false;
  private readonly onExit = () => this.stopSync();

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    process.once("exit", this.onExit);
  }

  get dataDir(): string {
    return path.join(this.dir, "data");
  }

  /** postgres://postgres@127.0.0.1:PORT/<database> */
  url(database = "postgres"): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** initdb + start. Takes about 3 seconds. `settings` are appended to postgresql.conf (later
   * lines win), e.g. the bench's `--profile` cluster preloads pg_stat_statements. */
  static async create(opts: { settings?: readonly string[] } = {}): Promise<PgCluster> {
    if (!fs.existsSync(path.join(PG_BIN, "initdb"))) throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found in ${PG_BIN}: install them or set BANK_TEST_PG_BIN`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-pg-"));
    if (AS_ROOT) await run("chown", ["-R", "postgres:postgres", dir]);
    await asPostgres("initdb", ["-D", path.join(dir, "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"]);
    const port = await freePort();
    // Settings live in postgresql.conf, so that a plain start or restart keeps them.
    fs.appendFileSync(
      path.join(dir, "data", "postgresql.conf"),
      [
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${dir}'`,
        `fsync = on`,
        `synchronous_commit = on`,
        `full_page_writes = on`,
        `max_connections = 100`,
        `shared_buffers = 32MB`,
        `log_min_messages = warning`,
        ...(opts.settings ?? []),
        "",
      ].join("\n"),
    );
    const cluster = new PgCluster(dir, port);
    await cluster.start();
    return cluster;
  }

  /**
   * A streaming replica (hot standby) of this cluster on another port: pg_basebackup -R copies the
   * data directory and writes the standby's primary_conninfo (initdb's pg_hba.conf trusts
   * replication from 127.0.0.1; -c fast: a spread checkpoint would make it wait minutes), then it starts like any cluster. destroy() it before the primary.
   */
  async createReplica(): Promise<PgCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-pg-replica-"));
    if (AS_ROOT) await run("chown", ["-R", "postgres:postgres", dir]);
    await asPostgres("pg_basebackup", ["-h", "127.0.0.1", "-p", String(this.port), "-U", "postgres", "-D", path.join(dir, "data"), "-R", "-X", "stream", "-c", "fast", "--no-sync"]);
    const port = await freePort();
    // The copied postgresql.conf names the primary's port and socket directory: later lines win.
    fs.appendFileSync(path.join(dir, "data", "postgresql.conf"), [`port = ${port}`, `unix_socket_directories = '${dir}'`, `hot_standby = on`, ""].join("\n"));
    const replica = new PgCluster(dir, port);
    await replica.start();
    return replica;
  }

  async start(): Promise<void> {
    await asPostgres("pg_ctl", ["-D", this.dataDir, "-l", path.join(this.dir, "server.log"), "-w", "-t", "60", "start"]);
    this.stopped = false;
    await this.waitReady();
  }

  /** Crash-stops the server (no checkpoint, like a power cut for the server process), waits
   * `pauseMs` (clients see refused connections meanwhile), and starts it again: it recovers from
   * its WAL. */
  async restartImmediate(pauseMs = 0): Promise<void> {
    await this.stopImmediate();
    if (pauseMs > 0) await sleep(pauseMs);
    await this.start();
  }

  /** Stops the server at once (immediate mode); start() brings it back. */
  async stopImmediate(): Promise<void> {
    await asPostgres("pg_ctl", ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]);
    this.stopped = true;
  }

  /** Stops the server and deletes the cluster. Always call it (afterAll). */
  async destroy(): Promise<void> {
    process.off("exit", this.onExit);
    if (!this.stopped) {
      await asPostgres("pg_ctl", ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      this.stopped = true;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async createDatabase(name: string): Promise<string> {
    await this.query(`CREATE DATABASE ${name}`);
    return this.url(name);
  }

  async query(sql: string, database = "postgres"): Promise<Record<string, unknown>[]> {
    const c = new Client({ connectionString: this.url(database) });
    // A server stopping under this short-lived client must not crash the test process.
    c.on("error", () => undefined);
    await c.connect();
    try {
      return (await c.query(sql)).rows as Record<string, unknown>[];
    } finally {
      await c.end();
    }
  }

  serverLog(): string {
    try {
      return fs.readFileSync(path.join(this.dir, "server.log"), "utf8");
    } catch {
      return "";
    }
  }

  private async waitReady(): Promise<void> {
    let last: unknown;
    await waitUntil(`PostgreSQL (port ${this.port}) accepts connections`, () => this.query("SELECT 1").then(() => true, (err: unknown) => ((last = err), false)), { timeoutMs: 60_000, intervalMs: 100 }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message} (last error: ${String(last)})`);
    });
  }

  /** Last resort when the test process exits without afterAll: never leave a server behind. */
  private stopSync(): void {
    if (this.stopped) return;
    const [command, args] = pgCommand("pg_ctl", ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]);
    spawnSync(command, args, { stdio: "ignore" });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function pgCommand(binary: string, args: string[]): [string, string[]] {
  return AS_ROOT ? ["runuser", ["-u", "postgres", "--", path.join(PG_BIN, binary), ...args]] : [path.join(PG_BIN, binary), args];
}

async function asPostgres(binary: string, args: string[]): Promise<void> {
  const [command, argv] = pgCommand(binary, args);
  // runuser needs a working directory the postgres user can read.
  await run(command, argv, { cwd: "/", timeout: 90_000 });
}
