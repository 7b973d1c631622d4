// PgBouncer in transaction pooling mode in front of a throwaway cluster (pg-cluster.ts): what a
// production deployment puts between many bankd processes and PostgreSQL. Debian's pgbouncer
// (1.18) refuses to run as root, so as root it runs as the postgres OS user (like the cluster).
// The pool is deliberately small (2 server connections for any number of clients), so that one
// bankd connection's transactions run on different server connections: anything that relied on
// session state (a named prepared statement, a SET, a LISTEN) would break here.
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { Client } from "pg";
import type { PgCluster } from "./pg-cluster";
import { freePort } from "./ports";
import { waitUntil } from "../../support/wait";

const BINARY = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((p) => fs.existsSync(p));
const AS_ROOT = process.getuid?.() === 0;

export function pgbouncerInstalled(): boolean {
  return BINARY !== undefined;
}

export class PgBouncer {
  private readonly onExit = () => this.child.kill("SIGKILL");
  private output = "";

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    process.once("exit", this.onExit);
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
  }

  /** postgres://postgres@127.0.0.1:PORT/<database>, through the pooler. */
  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Pools `databases` of `cluster` (transaction mode, `poolSize` server connections each). */
  static async start(cluster: PgCluster, databases: string[], poolSize = 2): Promise<PgBouncer> {
    if (!BINARY) throw new Error("pgbouncer is not installed (.ci/run installs it: apt-get install pgbouncer)");
    const dir = path.join(cluster.dir, "pgbouncer");
    fs.mkdirSync(dir, { recursive: true });
    const port = await freePort();
    fs.writeFileSync(path.join(dir, "userlist.txt"), `"postgres" ""\n`);
    fs.writeFileSync(
      path.join(dir, "pgbouncer.ini"),
      [
        "[databases]",
        ...databases.map((db) => `${db} = host=127.0.0.1 port=${cluster.port} dbname=${db}`),
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        `listen_port = ${port}`,
        "unix_socket_dir =",
        "auth_type = trust",
        `auth_file = ${path.join(dir, "userlist.txt")}`,
        "admin_users = postgres",
        "pool_mode = transaction",
        `default_pool_size = ${poolSize}`,
        "max_client_conn = 500",
        // node-postgres sends no other startup parameter than these (bankd sends statement_timeout
        // only when it is not told it is pooled); anything else is refused, as in production.
        "ignore_startup_parameters = extra_float_digits",
        "server_reset_query =",
        "log_connections = 0",
        "log_disconnections = 0",
        "",
      ].join("\n"),
    );
    if (AS_ROOT) fs.chownSync(dir, ...postgresIds()), fs.readdirSync(dir).forEach((f) => fs.chownSync(path.join(dir, f), ...postgresIds()));
    const args = [path.join(dir, "pgbouncer.ini")];
    // Started directly with the postgres user's ids (not through runuser), so that signals reach it.
    const ids = AS_ROOT ? postgresIds() : undefined;
    const child = spawn(BINARY, args, { cwd: "/", stdio: ["ignore", "pipe", "pipe"], ...(ids ? { uid: ids[0], gid: ids[1] } : {}) });
    const bouncer = new PgBouncer(child, port);
    await bouncer.waitReady();
    return bouncer;
  }

  /** SHOW <what> on the admin console (CLIENTS, SERVERS, POOLS, STATS). */
  async show(what: string): Promise<Record<string, unknown>[]> {
    const c = new Client({ connectionString: this.url("pgbouncer") });
    c.on("error", () => undefined);
    await c.connect();
    try {
      return (await c.query(`SHOW ${what}`)).rows as Record<string, unknown>[];
    } finally {
      await c.end();
    }
  }

  async stop(): Promise<void> {
    process.off("exit", this.onExit);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    // SIGTERM: immediate shutdown (SIGINT would wait for clients to leave).
    this.child.kill("SIGTERM");
    await exited;
  }

  private async waitReady(): Promise<void> {
    let last: unknown;
    await waitUntil("pgbouncer answers SHOW VERSION", async () => {
      if (this.child.exitCode !== null) throw new Error(`pgbouncer exited with code ${this.child.exitCode}`);
      return this.show("VERSION").then(() => true, (err: unknown) => ((last = err), false));
    }, { timeoutMs: 15_000, intervalMs: 100 }).catch((err: unknown) => {
      // Its output, whether it exited or never answered.
      throw new Error(`${(err as Error).message}${last ? ` (last error: ${String(last)})` : ""}\n${this.output}`);
    });
  }
}

function postgresIds(): [number, number] {
  const line = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("no postgres OS user");
  const [, , uid, gid] = line.split(":");
  return [Number(uid), Number(gid)];
}
