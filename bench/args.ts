// Command-line options of `npm run bench`, validated up front with one clear line per problem.
import * as fs from "node:fs";
import * as path from "node:path";
export type Engine = "postgres" | "sqlite";

/** In the order they run: the reads and logins first, on the freshly seeded ledger, so that
 * they see the same data as the previous build's (--baseline-ref) fresh database; then the
 * writes. */
export const WORKLOADS = ["read", "statement", "login", "transfer-uniform", "watch", "transfer-hot", "batch-transfer", "mixed"] as const;
export type Workload = (typeof WORKLOADS)[number];
/** What wrk can drive: a workload, or the empty RPC (grpc.health.v1.Health/Check). */
export type LoadWorkload = Exclude<Workload, "watch"> | "empty";
/** The workloads whose ratios are compared with the previous build's (--baseline-ref). */
export const PREVIOUS_BUILD_WORKLOADS = ["read", "statement", "login"] as const satisfies readonly Workload[];

export interface BenchOptions {
  engines: Engine[];
  workloads: Workload[];
  /** Measured seconds per workload and per baseline (after the warm-up). */
  durationSeconds: number;
  /** Warm-up seconds before each measurement; not counted. */
  warmupSeconds: number;
  /** wrk connections (each a closed loop: one call in flight), and pgbench clients. */
  concurrency: number;
  /** Funded customer accounts to seed. */
  accounts: number;
  /** Customer users owning them (round robin); each signs in once. */
  users: number;
  /** How accounts are seeded: bulk SQL mirroring bankd's rows (fast) or the API. */
  seed: "sql" | "api";
  /** Server processes of this build's bankd (BANK_WORKERS). */
  workers: number;
  quick: boolean;
  /** Takes a V8 CPU profile of the server during each measured workload. */
  profile: boolean;
  /** Skips the baselines (pgbench, raw argon2, empty RPC). */
  baselines: boolean;
  /** A git revision whose build is measured beside this one (empty RPC, read, statement,
   * login and raw argon2 on its own server and fresh database), for the ratio comparison. */
  baselineRef?: string;
  /** The node binary the previous build runs on (--baseline-node; default: this bench's node).
   * With it, every workload is measured on both builds, interleaved: the runtime comparison. */
  baselineNode?: string;
  postgresAdminUrl: string;
}

const USAGE = `usage: npm run bench -- [--db postgres|sqlite|all] [--workload NAME|all] [--duration S]
                       [--concurrency N] [--accounts N] [--users N] [--seed sql|api]
                       [--baseline-ref REF [--baseline-node PATH]] [--quick] [--profile] [--no-baselines] [--workers N]
workloads: ${WORKLOADS.join(", ")}`;

export class UsageError extends Error {}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") throw new UsageError(USAGE);
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (["quick", "profile", "no-baselines"].includes(name)) flags.set(name, true);
    else if (inline !== undefined) flags.set(name, inline);
    else if (i + 1 < argv.length) flags.set(name, argv[++i]!);
    else throw new UsageError(`--${name} needs a value\n${USAGE}`);
  }
  const known = ["seed", "db", "workload", "duration", "concurrency", "accounts", "users", "quick", "profile", "no-baselines", "baseline-ref", "baseline-node", "workers"];
  for (const name of flags.keys()) if (!known.includes(name)) throw new UsageError(`unknown option --${name}\n${USAGE}`);

  const quick = flags.get("quick") === true;
  const db = String(flags.get("db") ?? "all");
  const engines: Engine[] = db === "all" ? ["postgres", "sqlite"] : db === "postgres" || db === "sqlite" ? [db] : [];
  if (engines.length === 0) throw new UsageError(`--db must be postgres, sqlite or all, not ${JSON.stringify(db)}`);
  const workload = String(flags.get("workload") ?? "all");
  const workloads = workload === "all" ? [...WORKLOADS] : workload.split(",").map((w) => w.trim());
  for (const w of workloads) {
    if (!(WORKLOADS as readonly string[]).includes(w)) throw new UsageError(`unknown workload ${JSON.stringify(w)}; one of ${WORKLOADS.join(", ")} or all`);
  }
  const seedMode = String(flags.get("seed") ?? "sql");
  if (seedMode !== "sql" && seedMode !== "api") throw new UsageError(`--seed must be sql or api, not ${JSON.stringify(seedMode)}`);
  const durationSeconds = Math.round(number(flags, "duration", quick ? 2 : 20, 1, 3600));
  const baselineRef = flags.get("baseline-ref");
  if (baselineRef !== undefined) {
    if (quick) throw new UsageError("--baseline-ref measures a second build: not with --quick (CI), which must stay short");
    if (flags.get("no-baselines") === true) throw new UsageError("--baseline-ref compares ratios to the baselines: not with --no-baselines");
    if (typeof baselineRef !== "string" || !/^[\w./^~@{}-]+$/.test(baselineRef)) throw new UsageError(`--baseline-ref must be a git revision, not ${JSON.stringify(baselineRef)}`);
  }
  const baselineNode = flags.get("baseline-node");
  if (baselineNode !== undefined) {
    if (baselineRef === undefined) throw new UsageError("--baseline-node is the node of the previous build: give --baseline-ref too");
    if (typeof baselineNode !== "string" || !fs.existsSync(baselineNode)) throw new UsageError(`--baseline-node must be the path of a node binary, not ${JSON.stringify(baselineNode)}`);
  }
  return {
    engines,
    workloads: workloads as Workload[],
    durationSeconds,
    // A short warm-up lets V8 compile the hot paths and the pools fill before measuring (wrk's
    // -d takes whole seconds).
    warmupSeconds: quick ? 1 : Math.min(3, Math.max(1, Math.round(durationSeconds / 10))),
    concurrency: number(flags, "concurrency", 32, 1, 1024),
    accounts: number(flags, "accounts", quick ? 1_000 : 10_000, 2, 1_000_000),
    users: number(flags, "users", quick ? 4 : 32, 1, 10_000),
    seed: seedMode,
    // BANK_WORKERS of this build's server (the previous build's always runs one process).
    workers: number(flags, "workers", 1, 1, 64),
    quick,
    profile: flags.get("profile") === true,
    baselines: flags.get("no-baselines") !== true,
    ...(typeof baselineRef === "string" ? { baselineRef } : {}),
    ...(typeof baselineNode === "string" ? { baselineNode: path.resolve(baselineNode) } : {}),
    postgresAdminUrl: env.BANK_BENCH_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/postgres",
  };
}

function number(flags: Map<string, string | true>, name: string, fallback: number, min: number, max: number): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw === true || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  }
  return value;
}
