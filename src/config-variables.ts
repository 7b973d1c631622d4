// Every environment variable bankd reads, declared once: its type and bounds (a zod schema
// whose messages are the error text a person reads), its default, and what it means. loadConfig
// (config.ts) parses each through its schema and adds the checks that span variables (the gRPC
// port against BANK_PORT, a direct URL only with PostgreSQL...); the README's configuration table
// is generated from this list (test/foundation/config-table.test.ts keeps them equal).
import { z } from "zod";
import { limits } from "./limits";

/** One variable: `schema` reads its text (the fallback when unset or blank) into its value;
 * its issue messages complete the line `NAME="raw" ...`. */
export interface Variable<T> {
  schema: z.ZodType<T, string>;
  /** The text parsed when the variable is unset or blank. */
  fallback: string;
  /** The README's default column (markdown). */
  shown: string;
  /** The README's meaning column (markdown). */
  meaning: string;
  /** A secret: a problem names the variable, never its value. */
  secret?: boolean;
}

const variable = <T>(schema: z.ZodType<T, string>, fallback: string, shown: string, meaning: string, secret = false): Variable<T> => ({ schema, fallback, shown, meaning, secret });

/** An integer from `min` to `max` (decimal digits only: no sign, no exponent, no spaces). */
export const integer = (min: number, max: number) => {
  const message = `is invalid: set it to an integer from ${min} to ${max}.`;
  return z
    .string()
    .regex(/^\d+$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message));
};

/** One of `values`. */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, message: string) => z.enum(values, { error: message });

const text = z.string();

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** ISO 4217 minor-unit exponents of the currencies bankd knows by default. */
export const DEFAULT_CURRENCIES = "USD:2,EUR:2,GBP:2,JPY:0,CHF:2";

export const VARIABLES = {
  BANK_HOST: variable(text, "127.0.0.1", "`127.0.0.1`", "address to listen on"),
  BANK_PORT: variable(integer(0, 65535), "8080", "`8080`", "port (0 = any free port)"),
  BANK_GRPC_PORT: variable(
    text,
    "",
    "`BANK_PORT + 1` (any free port when `BANK_PORT` is 0)",
    "the gRPC port for internal callers, served by `@grpc/grpc-js` (same services, auth, deadlines and error contract; differences in [docs/api.md](docs/api.md#the-grpc-port-bank_grpc_port)); `off` = no gRPC port, `0` = any free port",
  ),
  BANK_DATA_DIR: variable(text, "./data", "`./data`", "directory for the SQLite file and development signing keys"),
  BANK_DATABASE_URL: variable(
    text,
    "",
    "SQLite `BANK_DATA_DIR/bank.db`",
    "`postgres://user@host:port/db` selects PostgreSQL; `sqlite:PATH` another SQLite file; `postgres://user@h1:p1,h2:p2/db?target_session_attrs=read-write` (libpq's multi-host form) follows the writable host of a pg_auto_failover formation (see [docs/deploy.md](docs/deploy.md), \"High availability\")",
  ),
  BANK_DATABASE_DIRECT_URL: variable(text, "", "unset", "PostgreSQL itself, when `BANK_DATABASE_URL` is a transaction pooler (PgBouncer): LISTEN uses it, and bankd sets timeouts per transaction (see [docs/deploy.md](docs/deploy.md))"),
  BANK_DATABASE_REPLICA_URL: variable(
    text,
    "",
    "unset",
    `PostgreSQL only: a streaming replica (hot standby) for statements, balances at a past instant and audit listings while it is provably at most \`replicaLagMaxMs\` (${limits.replicaLagMaxMs / 1000} s) behind; otherwise, and when it is down, those reads use the primary (see [docs/deploy.md](docs/deploy.md#read-replica))`,
  ),
  BANK_LOG_LEVEL: variable(oneOf(LOG_LEVELS, `is invalid: set it to one of ${LOG_LEVELS.join(", ")}.`), "info", "`info`", `${LOG_LEVELS.map((l) => `\`${l}\``).join(", ")} (JSON lines on stdout)`),
  BANK_TLS_CERT: variable(text, "", "unset", "PEM file of the certificate chain; set with `BANK_TLS_KEY`: TLS with ALPN `h2` and `http/1.1`"),
  BANK_TLS_KEY: variable(text, "", "unset", "PEM file of the private key; set with `BANK_TLS_CERT`"),
  BANK_JWT_KEYS_DIR: variable(text, "", "`BANK_DATA_DIR/jwt-keys`", "Ed25519 signing keys (JWK files); one is created on first start if empty"),
  BANK_TOTP_KEY_FILE: variable(
    text,
    "",
    "`BANK_DATA_DIR/totp-key`",
    "the 32-byte key (AES-256-GCM) staff TOTP secrets are stored under; created (0600) on first start if absent; every process on one database must share it",
  ),
  BANK_JWT_ISSUER: variable(text, "bankd", "`bankd`", "access token `iss`"),
  BANK_JWT_AUDIENCE: variable(text, "bankd", "`bankd`", "access token `aud`"),
  BANK_ACCESS_TOKEN_TTL_SECONDS: variable(integer(30, 24 * 3600), String(limits.accessTokenTtlSeconds), `\`${limits.accessTokenTtlSeconds}\``, "access token lifetime in seconds"),
  BANK_ARGON2_MEMORY_KIB: variable(integer(1024, 1024 * 1024), "19456", "`19456`", "argon2id memory cost (OWASP)"),
  BANK_ARGON2_TIME_COST: variable(integer(1, 20), "2", "`2`", "argon2id iterations (OWASP)"),
  BANK_ARGON2_PARALLELISM: variable(integer(1, 16), "1", "`1`", "argon2id lanes (OWASP)"),
  BANK_REGISTER_PER_ADDRESS_PER_HOUR: variable(
    integer(1, 1_000_000),
    String(limits.registerPerAddressPerHour),
    `\`${limits.registerPerAddressPerHour}\``,
    "`Register` calls per client address per hour, per process (docs/security.md)",
  ),
  BANK_REGISTER_PER_MINUTE: variable(integer(1, 1_000_000), String(limits.registerPerMinute), `\`${limits.registerPerMinute}\``, "`Register` calls per minute from all addresses together, per process (docs/security.md)"),
  BANK_ENV: variable(
    oneOf(["production", "development"] as const, "is invalid: set it to production (the default) or development (Register's limits lifted for loopback clients)."),
    "production",
    "`production`",
    "`development` on a developer's machine: no `Register` limits for loopback clients (127.0.0.1, `::1`; your recipes, `/docs` and console), every other address limited as ever. Never in production",
  ),
  BANK_POSTINGS_PER_CUSTOMER_PER_SECOND: variable(
    integer(1, 1_000_000),
    String(limits.postingsPerCustomerPerSecond),
    `\`${limits.postingsPerCustomerPerSecond}\``,
    "money movements (postings; a BatchTransfer item is one) one customer may submit per second, per process, with a burst of 2,000; past it `RESOURCE_EXHAUSTED POSTING_RATE_EXCEEDED` with `retry_after_ms`; staff and the system are not rated (docs/security.md)",
  ),
  BANK_ACCOUNT_OPENS_PER_HOUR: variable(
    integer(1, 1_000_000),
    String(limits.accountOpensPerHour),
    `\`${limits.accountOpensPerHour}\``,
    "`CreateAccount`: accounts one principal may open per hour per process (a burst of a quarter hour's worth) (docs/security.md)",
  ),
  BANK_ACCOUNTS_PER_CUSTOMER_MAX: variable(
    integer(1, 1_000_000),
    String(limits.accountsPerCustomerMax),
    `\`${limits.accountsPerCustomerMax}\``,
    "open accounts one customer may hold, whoever opened them (docs/security.md)",
  ),
  BANK_CURRENCIES: variable(text, DEFAULT_CURRENCIES, `\`${DEFAULT_CURRENCIES}\``, "ISO 4217 codes and their minor-unit exponents (`CODE:EXPONENT`, exponent 0 to 4)"),
  BANK_CORS_ORIGINS: variable(text, "", "empty (same origin only)", "comma-separated origins allowed to call the API from a browser"),
  BANK_TRUST_PROXY: variable(
    oneOf(["true", "false"] as const, "is invalid: set it to true (behind your own proxy) or false.").transform((s) => s === "true"),
    "false",
    "`false`",
    "`true`: take the client address from `X-Forwarded-For` (only behind your own proxy)",
  ),
  BANK_METRICS_TOKEN: variable(
    text.regex(/^(|[\x21-\x7e]{16,256})$/, "is invalid: set it to 16 to 256 printable characters without spaces (a long random string)."),
    "",
    "unset (`/metrics` off)",
    "bearer token that `GET /metrics` requires; without it `/metrics` answers 404",
    true,
  ),
  BANK_WORKERS: variable(
    integer(1, limits.workersMax),
    "1",
    "`1`",
    `server processes on the one port (node:cluster; at most ${limits.workersMax}): one per core lets bankd use more than one core; each has its own posting engine, pools and per-process limits (registration buckets, argon2 queue, watch streams); see [docs/performance.md](docs/performance.md)`,
  ),
  BANK_DAILY_LIMITS: variable(
    text,
    "",
    `\`${limits.dailyDepositMinorDefault}\` / \`${limits.dailyWithdrawalMinorDefault}\` / \`${limits.dailyTransferOutMinorDefault}\` / \`${limits.dailyIncomingMinorDefault}\` minor units`,
    "per currency default daily limits (deposit / withdrawal / transfer_out / incoming), e.g. `USD:deposit=1000000,withdrawal=1000000,transfer_out=5000000,incoming=11000000;JPY:deposit=500000`",
  ),
} as const;

export type VariableName = keyof typeof VARIABLES;
type ValueOf<N extends VariableName> = (typeof VARIABLES)[N] extends Variable<infer T> ? T : never;

type Env = Record<string, string | undefined>;

/** Reads variables from `env`, collecting one line per problem in `problems`. */
export class EnvReader {
  constructor(
    private readonly env: Env,
    readonly problems: string[] = [],
  ) {}

  /** The variable's text: trimmed, the fallback when unset or blank. */
  raw(name: VariableName): string {
    const value = this.env[name];
    return value === undefined || value.trim() === "" ? VARIABLES[name].fallback : value.trim();
  }

  /** Whether the variable is unset or blank. */
  unset(name: VariableName): boolean {
    return (this.env[name] ?? "").trim() === "";
  }

  /** The variable's value through its schema; on a problem, the fallback's value. */
  read<N extends VariableName>(name: N): ValueOf<N> {
    const spec = VARIABLES[name] as unknown as Variable<ValueOf<N>>;
    const raw = this.raw(name);
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    this.problems.push(`${spec.secret ? name : `${name}=${JSON.stringify(raw)}`} ${parsed.error.issues[0]!.message}`);
    return spec.schema.parse(spec.fallback);
  }
}

/** The README's configuration table, from VARIABLES. */
export function configurationTable(): string {
  const rows = Object.entries(VARIABLES).map(([name, spec]) => `| \`${name}\` | ${spec.shown} | ${spec.meaning} |`);
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}
