// Command-line options of `npm run bench`, validated up front with one clear line per problem.
export type Engine = "postgres" | "sqlite";

export const WORKLOADS = ["transfer-uniform", "transfer-hot", "read", "statement", "login", "mixed"] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface BenchOptions {
  engines: Engine[];
  workloads: Workload[];
  /** Measured seconds per workload and per baseline (after the warm-up). */
  durationSeconds: number;
  /** Warm-up seconds before each measurement; not counted. */
  warmupSeconds: number;
  /** Closed-loop workers of the load generator. */
  concurrency: number;
  /** HTTP/2 connections the load generator spreads its workers over. */
  connections: number;
  /** Funded customer accounts to seed. */
  accounts: number;
  /** Customer users owning them (round robin); each signs in once. */
  users: number;
  /** How accounts are seeded: bulk SQL mirroring bankd's rows (fast) or the API. */
  seed: "sql" | "api";
  quick: boolean;
  /** Takes a V8 CPU profile of the server during each measured workload. */
  profile: boolean;
  /** Skips the baselines (pgbench, raw argon2, empty RPC). */
  baselines: boolean;
  postgresAdminUrl: string;
}

const USAGE = `usage: npm run bench -- [--db postgres|sqlite|all] [--workload NAME|all] [--duration S]
                       [--concurrency N] [--connections N] [--accounts N] [--users N]
                       [--seed sql|api] [--quick] [--profile] [--no-baselines]
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
  const known = ["seed", "db", "workload", "duration", "concurrency", "connections", "accounts", "users", "quick", "profile", "no-baselines"];
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
  const durationSeconds = number(flags, "duration", quick ? 2 : 20, 0.5, 3600);
  return {
    engines,
    workloads: workloads as Workload[],
    durationSeconds,
    // A short warm-up lets V8 compile the hot paths and the pools fill before measuring.
    warmupSeconds: quick ? 0.5 : Math.min(3, Math.max(1, durationSeconds / 10)),
    concurrency: number(flags, "concurrency", 32, 1, 1024),
    connections: number(flags, "connections", 4, 1, 64),
    accounts: number(flags, "accounts", quick ? 1_000 : 10_000, 2, 1_000_000),
    users: number(flags, "users", quick ? 4 : 32, 1, 10_000),
    seed: seedMode,
    quick,
    profile: flags.get("profile") === true,
    baselines: flags.get("no-baselines") !== true,
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
