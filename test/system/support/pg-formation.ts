// A pg_auto_failover formation on this machine for the HA scenario (issue 29): a monitor and two
// PostgreSQL nodes, each under its own `pg_autoctl` (the keeper, which runs the node's postmaster),
// on 127.0.0.1 with separate data directories and ports, in a fresh temporary directory.
//
// pg_autoctl runs as the postgres OS user with a clean environment: `runuser -u postgres -- env -i
// HOME=<dir> PATH=<pg bin>:/usr/bin:/bin pg_autoctl ...` (a PATH holding folders only root may read
// makes pg_autoctl fail its permission checks). Each `pg_autoctl run` is started in a process group
// of its own (detached), so that `kill -KILL -<pgid>` takes the keeper and the postmaster at once:
// a failover, not a restart (a postmaster killed alone is restarted by its keeper).
//
// Timeouts tuned for a test (the monitor's pgautofailover.* settings, set with ALTER SYSTEM on the
// monitor, and each keeper's timeout.network_partition_timeout); production values are in
// docs/deploy.md, "High availability".
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { Client } from "pg";
import { freePort } from "./ports";
import { waitUntil } from "../../support/wait";

const run = promisify(execFile);
const PG_BIN = process.env.BANK_TEST_PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** The monitor's settings for the test: a dead primary is noticed in ~2 s and its standby promoted
 * ~3 s later (defaults: 5 s checks, 20 s unhealthy timeout, 30 s demote timeout: ~33 s here). */
export const TEST_MONITOR_SETTINGS: Record<string, string> = {
  "pgautofailover.health_check_period": "1000",
  "pgautofailover.health_check_timeout": "1000",
  "pgautofailover.health_check_max_retries": "1",
  "pgautofailover.health_check_retry_delay": "500",
  "pgautofailover.node_considered_unhealthy_timeout": "2000",
  // Kept above each keeper's network_partition_timeout (2 s below): a primary cut off from the
  // monitor and its standby stops itself before its standby may be promoted.
  "pgautofailover.primary_demote_timeout": "3000",
  "pgautofailover.startup_grace_period": "2000",
};
const TEST_NETWORK_PARTITION_TIMEOUT_S = "2";

/** Why the formation cannot run here, or undefined when it can. */
export function formationUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return "not running as root (pg_autoctl runs as the postgres user through runuser)";
  const found = spawnSync("sh", ["-c", "command -v pg_autoctl"], { encoding: "utf8" });
  if (found.status !== 0) return "pg_autoctl is not installed (apt-get install postgresql-15-auto-failover pg-auto-failover-cli)";
  if (!fs.existsSync(path.join(PG_BIN, "pg_ctl"))) return `PostgreSQL server binaries not found in ${PG_BIN}`;
  return undefined;
}

export interface NodeState {
  name: string;
  port: number;
  reported: string;
  assigned: string;
  health: number;
}

interface Keeper {
  name: string;
  pgdata: string;
  port: number;
  child?: ChildProcess;
}

export class PgFormation {
  private readonly onExit = () => this.killAllSync();
  private monitorKeeper: Keeper;
  readonly nodes: Keeper[];

  private constructor(
    readonly dir: string,
    readonly monitorPort: number,
    nodePorts: number[],
  ) {
    this.monitorKeeper = { name: "monitor", pgdata: path.join(dir, "monitor"), port: monitorPort };
    this.nodes = nodePorts.map((port, i) => ({ name: `node_${i + 1}`, pgdata: path.join(dir, `node${i + 1}`), port }));
    process.once("exit", this.onExit);
  }

  get monitorUri(): string {
    return `postgres://autoctl_node@127.0.0.1:${this.monitorPort}/pg_auto_failover?sslmode=disable`;
  }

  /** The multi-host URL of every node (libpq's form, as `pg_autoctl show uri` prints it). */
  url(database: string, attrs = "read-write"): string {
    return `postgres://postgres@${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}/${database}?target_session_attrs=${attrs}`;
  }

  /** One node's own URL. */
  nodeUrl(node: Keeper | string, database = "postgres"): string {
    const n = typeof node === "string" ? this.node(node) : node;
    return `postgres://postgres@127.0.0.1:${n.port}/${database}`;
  }

  node(name: string): Keeper {
    const n = this.nodes.find((k) => k.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Monitor, then node 1 (the first primary), then node 2 (its standby); resolves once node 1 is
   * primary and node 2 secondary. About 20 s here. */
  static async create(nodes = 2): Promise<PgFormation> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-ha-"));
    await run("chown", ["-R", "postgres:postgres", dir]);
    const ports: number[] = [];
    while (ports.length < nodes + 1) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const f = new PgFormation(dir, ports[0]!, ports.slice(1));
    const m = f.monitorKeeper;
    await f.autoctl(["create", "monitor", "--pgdata", m.pgdata, "--pgport", String(m.port), "--auth", "trust", "--no-ssl", "--hostname", "127.0.0.1"]);
    f.startKeeper(m);
    await f.waitFor("the monitor to answer", 60_000, async () => (await f.monitorQuery("SELECT 1 AS ok")).length === 1);
    for (const [name, value] of Object.entries(TEST_MONITOR_SETTINGS)) await f.monitorQuery(`ALTER SYSTEM SET ${name} = '${value}'`);
    await f.monitorQuery("SELECT pg_reload_conf()");
    for (const [i, n] of f.nodes.entries()) {
      await f.autoctl(["create", "postgres", "--pgdata", n.pgdata, "--pgport", String(n.port), "--monitor", f.monitorUri, "--auth", "trust", "--no-ssl", "--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--name", n.name], 180_000);
      await f.autoctl(["config", "set", "--pgdata", n.pgdata, "timeout.network_partition_timeout", TEST_NETWORK_PARTITION_TIMEOUT_S]);
      f.startKeeper(n);
      if (i === 0) await f.waitFor(`${n.name} to be single`, 120_000, async () => (await f.state()).some((s) => s.name === n.name && s.reported === "single"));
    }
    await f.waitStable(180_000);
    return f;
  }

  /** pg_autoctl show state, from the monitor. */
  async state(): Promise<NodeState[]> {
    const rows = await this.monitorQuery(
      `SELECT nodename AS name, nodeport AS port, reportedstate::text AS reported, goalstate::text AS assigned, health FROM pgautofailover.node ORDER BY nodeid`,
    );
    return rows.map((r) => ({ name: String(r.name), port: Number(r.port), reported: String(r.reported), assigned: String(r.assigned), health: Number(r.health) }));
  }

  /** The node that is primary with a secondary beside it (both reported = assigned), once every
   * node has settled: the formation is whole again. */
  async waitStable(timeoutMs: number): Promise<Keeper> {
    let primary: Keeper | undefined;
    await this.waitFor("a primary with its secondary", timeoutMs, async () => {
      const s = await this.state();
      const settled = s.length === this.nodes.length && s.every((n) => n.reported === n.assigned);
      const p = s.filter((n) => n.reported === "primary");
      const secondaries = s.filter((n) => n.reported === "secondary");
      if (!settled || p.length !== 1 || secondaries.length !== this.nodes.length - 1) return false;
      primary = this.node(p[0]!.name);
      return true;
    });
    return primary!;
  }

  /** The node the monitor calls primary now (or wait_primary, single). */
  async primary(): Promise<Keeper | undefined> {
    const p = (await this.state()).find((n) => ["primary", "wait_primary", "single"].includes(n.reported) && n.reported === n.assigned);
    return p ? this.node(p.name) : undefined;
  }

  /** SIGKILL to the node's whole process group: its keeper and its postmaster die together. */
  kill(node: Keeper): void {
    if (!node.child?.pid) throw new Error(`${node.name} is not running`);
    process.kill(-node.child.pid, "SIGKILL");
    node.child = undefined;
  }

  /** Starts the node's keeper again (it rejoins as a standby, rewinding if needed). */
  restart(node: Keeper): void {
    this.startKeeper(node);
  }

  /** `pg_autoctl perform switchover`: the monitor demotes the primary and promotes its standby;
   * returns when pg_autoctl does (the formation has a primary again). */
  async switchover(): Promise<void> {
    await this.autoctl(["perform", "switchover", "--pgdata", this.monitorKeeper.pgdata], 120_000);
  }

  async createDatabase(name: string): Promise<void> {
    const p = await this.primary();
    if (!p) throw new Error("no primary");
    await query(this.nodeUrl(p), `CREATE DATABASE ${name}`);
  }

  /** Stops every keeper (SIGKILL to each group: nothing here must survive the test) and deletes
   * the directory. */
  async destroy(): Promise<void> {
    process.off("exit", this.onExit);
    const groups = this.killAllSync();
    try {
      // The directory goes once nothing of the formation runs in it any more.
      await waitUntil("the formation's keepers and servers exited after SIGKILL", () => groups.every(groupGone), { timeoutMs: 10_000, intervalMs: 20 });
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** The keepers' and servers' own logs, for a failing run. */
  logs(lines = 40): string {
    return [this.monitorKeeper, ...this.nodes]
      .map((k) => {
        try {
          return `--- ${k.name}\n${fs.readFileSync(path.join(this.dir, `${k.name}.log`), "utf8").split("\n").slice(-lines).join("\n")}`;
        } catch {
          return "";
        }
      })
      .join("\n");
  }

  async monitorQuery(sql: string): Promise<Record<string, unknown>[]> {
    return query(`postgres://postgres@127.0.0.1:${this.monitorPort}/pg_auto_failover`, sql);
  }

  private startKeeper(k: Keeper): void {
    const log = fs.openSync(path.join(this.dir, `${k.name}.log`), "a");
    const [command, args] = this.asPostgres(["run", "--pgdata", k.pgdata]);
    // detached: a process group of its own, killed as one.
    k.child = spawn(command, args, { cwd: this.dir, detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    k.child.unref();
  }

  private asPostgres(args: string[]): [string, string[]] {
    return ["runuser", ["-u", "postgres", "--", "env", "-i", `HOME=${this.dir}`, `PATH=${PG_BIN}:/usr/bin:/bin`, "pg_autoctl", ...args]];
  }

  private async autoctl(args: string[], timeout = 90_000): Promise<string> {
    const [command, argv] = this.asPostgres(args);
    try {
      const res = await run(command, argv, { cwd: this.dir, timeout });
      return res.stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message?: string };
      throw new Error(`pg_autoctl ${args.slice(0, 2).join(" ")} failed: ${e.message}\n${(e.stderr ?? "").split("\n").slice(-15).join("\n")}`);
    }
  }

  private async waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    let last: unknown;
    await waitUntil(what, () => check().catch((err: unknown) => ((last = err), false)), { timeoutMs, intervalMs: 200 }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message} (${timeoutMs} ms)${last ? ` (last error: ${(last as Error).message})` : ""}\n${this.logs(15)}`);
    });
  }

  /** Returns the process groups it killed. */
  private killAllSync(): number[] {
    const groups: number[] = [];
    for (const k of [...this.nodes, this.monitorKeeper]) {
      if (k.child?.pid) {
        groups.push(k.child.pid);
        try {
          process.kill(-k.child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
        k.child = undefined;
      }
    }
    return groups;
  }
}

/** No process is left in the group (signal 0 only checks). */
function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return (await c.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await c.end().catch(() => undefined);
  }
}
