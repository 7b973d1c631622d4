// Environment -> one typed, validated, frozen configuration object. Every problem is reported
// on its own line naming the variable to set, and the process exits non-zero (see main.ts). Each
// variable's type, bounds, default and error text are declared in config-variables.ts; here are
// the checks that span variables and the shapes built from them.
import * as path from "node:path";
import { limits } from "./limits";
import { parseMultiHostUrl, type MultiHostUrl, type WantedRole } from "./db/postgres-url";
import { EnvReader } from "./config-variables";

export type DatabaseConfig =
  | { kind: "sqlite"; file: string }
  | {
      kind: "postgres";
      url: string;
      /** BANK_DATABASE_DIRECT_URL: the database itself, for what needs a session of its own
       * (LISTEN) when `url` goes through a transaction-pooling proxy (PgBouncer). Setting it
       * declares `url` pooled: no startup parameters, timeouts by SET LOCAL per transaction. */
      directUrl?: string;
      /** BANK_DATABASE_REPLICA_URL: a streaming replica (hot standby) of the database, for the
       * reads that tolerate limits.replicaLagMaxMs of staleness (src/db/replica.ts). */
      replicaUrl?: string;
      /** BANK_DATABASE_URL in libpq's multi-host form (h1:p1,h2:p2 with target_session_attrs):
       * the pool follows the host that accepts writes (src/db/primary.ts). */
      multiHost?: MultiHostUrl;
      /** BANK_DATABASE_DIRECT_URL in the multi-host form: LISTEN follows the writable host. */
      directMultiHost?: MultiHostUrl;
      /** BANK_DATABASE_REPLICA_URL in the multi-host form (target_session_attrs=standby): the
       * replica's reads follow a host in recovery. */
      replicaMultiHost?: MultiHostUrl;
    };

export interface Currency {
  code: string;
  /** Digits after the decimal point: 2 for USD (cents), 0 for JPY. */
  exponent: number;
  /** Default daily limits of an account in this currency, in minor units (an account's own
   * limits, set by an admin, replace them). */
  dailyLimits: DailyLimitDefaults;
}

export interface DailyLimitDefaults {
  deposit: bigint;
  withdrawal: bigint;
  transferOut: bigint;
  incoming: bigint;
}

export interface Config {
  host: string;
  port: number;
  /** BANK_GRPC_PORT: the second port, gRPC only, served by @grpc/grpc-js for internal callers
   * (src/transport/grpc-port.ts); undefined when set to "off". 0 = any free port. */
  grpcPort: number | undefined;
  dataDir: string;
  database: DatabaseConfig;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  tls?: { certFile: string; keyFile: string };
  jwt: { keysDir: string; issuer: string; audience: string; accessTokenTtlSeconds: number };
  /** BANK_TOTP_KEY_FILE: the 32-byte key (AES-256-GCM) under which staff TOTP secrets are
   * stored; every process of one database must share it. Created (0600) when absent. */
  totpKeyFile: string;
  argon2: { memoryCostKib: number; timeCost: number; parallelism: number };
  /** Register's rate limits, per process (limits.ts has the defaults and their reasons).
   * `loopbackUnlimited` (BANK_ENV=development only): clients at a loopback address are not
   * limited, so that a developer's own recipes, /docs and console do not run into them. */
  registration: { perAddressPerHour: number; perMinute: number; loopbackUnlimited: boolean };
  /** BANK_ENV: "production" (the default: nothing relaxed) or "development". */
  environment: "production" | "development";
  /** What this process runs with that suits a developer's machine and not production: the
   * defaults nobody set (the embedded SQLite file, keys generated in the data directory) and
   * BANK_ENV=development. `serve` logs them on one line at start (issue 28); empty: nothing. */
  developmentDefaults: readonly string[];
  /** Account opening, per process for the rate (limits.ts has the defaults and their reasons). */
  accountOpening: { perHour: number; perCustomerMax: number };
  /** Postings one customer may submit per second, per process (limits.postingsPerCustomerPerSecond). */
  postingsPerCustomerPerSecond: number;
  currencies: ReadonlyMap<string, Currency>;
  corsOrigins: readonly string[];
  /** Trust X-Forwarded-For for the client address (only behind a proxy you run). */
  trustProxy: boolean;
  /** The bearer token GET /metrics requires; unset: /metrics is off. */
  metricsToken?: string;
  /** Server processes `serve` runs on the one port (node:cluster); 1 = this process serves. */
  workers: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const vars = new EnvReader(env);
  const problems = vars.problems;
  const port = vars.read("BANK_PORT");
  const dataDir = path.resolve(vars.raw("BANK_DATA_DIR"));
  const database = parseDatabaseUrl(vars.raw("BANK_DATABASE_URL"), dataDir, problems);
  addPostgresUrls(vars, database);
  const certFile = vars.raw("BANK_TLS_CERT");
  const keyFile = vars.raw("BANK_TLS_KEY");
  if ((certFile === "") !== (keyFile === "")) {
    problems.push("BANK_TLS_CERT and BANK_TLS_KEY must be set together (both PEM file paths) or not at all.");
  }
  const environment = vars.read("BANK_ENV");
  const currencies = parseCurrencies(vars.raw("BANK_CURRENCIES"), problems);
  parseDailyLimits(vars.raw("BANK_DAILY_LIMITS"), currencies, problems);
  const config: Config = {
    host: vars.raw("BANK_HOST"),
    port,
    grpcPort: parseGrpcPort(vars.raw("BANK_GRPC_PORT"), port, problems),
    dataDir,
    database,
    logLevel: vars.read("BANK_LOG_LEVEL"),
    tls: certFile !== "" ? { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) } : undefined,
    jwt: {
      keysDir: path.resolve(vars.unset("BANK_JWT_KEYS_DIR") ? path.join(dataDir, "jwt-keys") : vars.raw("BANK_JWT_KEYS_DIR")),
      issuer: vars.raw("BANK_JWT_ISSUER"),
      audience: vars.raw("BANK_JWT_AUDIENCE"),
      accessTokenTtlSeconds: vars.read("BANK_ACCESS_TOKEN_TTL_SECONDS"),
    },
    totpKeyFile: path.resolve(vars.unset("BANK_TOTP_KEY_FILE") ? path.join(dataDir, "totp-key") : vars.raw("BANK_TOTP_KEY_FILE")),
    argon2: { memoryCostKib: vars.read("BANK_ARGON2_MEMORY_KIB"), timeCost: vars.read("BANK_ARGON2_TIME_COST"), parallelism: vars.read("BANK_ARGON2_PARALLELISM") },
    registration: { perAddressPerHour: vars.read("BANK_REGISTER_PER_ADDRESS_PER_HOUR"), perMinute: vars.read("BANK_REGISTER_PER_MINUTE"), loopbackUnlimited: environment === "development" },
    environment,
    developmentDefaults: developmentDefaults(vars, database, dataDir, environment),
    accountOpening: { perHour: vars.read("BANK_ACCOUNT_OPENS_PER_HOUR"), perCustomerMax: vars.read("BANK_ACCOUNTS_PER_CUSTOMER_MAX") },
    postingsPerCustomerPerSecond: vars.read("BANK_POSTINGS_PER_CUSTOMER_PER_SECOND"),
    currencies,
    corsOrigins: parseCorsOrigins(vars.raw("BANK_CORS_ORIGINS"), problems),
    trustProxy: vars.read("BANK_TRUST_PROXY"),
    metricsToken: vars.read("BANK_METRICS_TOKEN") || undefined,
    workers: vars.read("BANK_WORKERS"),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** BANK_DATABASE_DIRECT_URL and BANK_DATABASE_REPLICA_URL: PostgreSQL only, added to `database`. */
function addPostgresUrls(vars: EnvReader, database: DatabaseConfig): void {
  const directUrl = vars.raw("BANK_DATABASE_DIRECT_URL");
  if (directUrl !== "") {
    if (database.kind !== "postgres") vars.problems.push("BANK_DATABASE_DIRECT_URL is for PostgreSQL behind a pooler: set BANK_DATABASE_URL to the pooler's postgres:// URL, or unset it.");
    else {
      const parsed = parsePostgresUrl("BANK_DATABASE_DIRECT_URL", directUrl, vars.problems, ["primary"]);
      if (parsed) {
        database.directUrl = directUrl;
        if (parsed.multiHost) database.directMultiHost = parsed.multiHost;
      }
    }
  }
  const replicaUrl = vars.raw("BANK_DATABASE_REPLICA_URL");
  if (replicaUrl !== "") {
    if (database.kind !== "postgres") vars.problems.push("BANK_DATABASE_REPLICA_URL is for PostgreSQL: a read replica of SQLite does not exist; set BANK_DATABASE_URL to the primary's postgres:// URL, or unset BANK_DATABASE_REPLICA_URL.");
    else {
      const parsed = parsePostgresUrl("BANK_DATABASE_REPLICA_URL", replicaUrl, vars.problems, ["standby"]);
      if (parsed) {
        database.replicaUrl = replicaUrl;
        if (parsed.multiHost) database.replicaMultiHost = parsed.multiHost;
      }
    }
  }
}

/** SQLite is the development default (production runs on PostgreSQL); keys generated in a data
 * directory nobody chose (./data of the checkout) are too. A data directory set on purpose (the
 * image's /var/lib/bankd, a shared volume) holds keys as deploy.md describes: not listed. */
function developmentDefaults(vars: EnvReader, database: DatabaseConfig, dataDir: string, environment: Config["environment"]): string[] {
  const generatedKeys = [...(vars.unset("BANK_JWT_KEYS_DIR") ? ["token signing keys"] : []), ...(vars.unset("BANK_TOTP_KEY_FILE") ? ["the TOTP key"] : [])];
  return [
    ...(vars.unset("BANK_DATABASE_URL") && database.kind === "sqlite" ? [`embedded SQLite ${database.file} (BANK_DATABASE_URL unset)`] : []),
    ...(vars.unset("BANK_DATA_DIR") && generatedKeys.length > 0 ? [`${generatedKeys.join(" and ")} generated in ${dataDir} (BANK_DATA_DIR unset)`] : []),
    ...(environment === "development" ? ["BANK_ENV=development: no registration limits for loopback clients"] : []),
  ];
}

/** BANK_GRPC_PORT: unset = BANK_PORT + 1 (any free port when BANK_PORT is 0), "off" = no gRPC
 * port, else a port number (0 = any free port). */
function parseGrpcPort(raw: string, port: number, problems: string[]): number | undefined {
  if (raw === "off") return undefined;
  if (raw === "") {
    if (port === 0) return 0;
    if (port < 65535) return port + 1;
    problems.push("BANK_GRPC_PORT has no default when BANK_PORT is 65535: set it to a port number or to off.");
    return undefined;
  }
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
    problems.push(`BANK_GRPC_PORT=${JSON.stringify(raw)} is invalid: set it to a port number from 0 to 65535, or to off (no gRPC port).`);
    return undefined;
  }
  const grpcPort = Number(raw);
  if (grpcPort !== 0 && grpcPort === port) problems.push(`BANK_GRPC_PORT=${grpcPort} is BANK_PORT too: the gRPC port needs a port of its own (or off).`);
  return grpcPort;
}

function parseDatabaseUrl(raw: string, dataDir: string, problems: string[]): DatabaseConfig {
  if (raw === "") return { kind: "sqlite", file: path.join(dataDir, "bank.db") };
  if (raw.startsWith("sqlite:")) {
    const file = raw.slice("sqlite:".length);
    if (file === "") problems.push("BANK_DATABASE_URL=sqlite: needs a file path, e.g. sqlite:./data/bank.db.");
    return { kind: "sqlite", file: path.resolve(file) };
  }
  if (raw.startsWith("postgres://") || raw.startsWith("postgresql://")) {
    const parsed = parsePostgresUrl("BANK_DATABASE_URL", raw, problems, ["primary"]);
    return parsed && parsed.multiHost ? { kind: "postgres", url: raw, multiHost: parsed.multiHost } : { kind: "postgres", url: raw };
  }
  problems.push("BANK_DATABASE_URL must start with postgres://, postgresql:// or sqlite: (unset = SQLite under BANK_DATA_DIR).");
  return { kind: "sqlite", file: path.join(dataDir, "bank.db") };
}

/** A postgres:// URL naming a database, single-host or in libpq's multi-host form (`roles`: what
 * its target_session_attrs may ask for); false, and a problem reported, otherwise. */
function parsePostgresUrl(name: string, raw: string, problems: string[], roles: readonly WantedRole[]): false | { multiHost?: MultiHostUrl } {
  if (!raw.startsWith("postgres://") && !raw.startsWith("postgresql://")) {
    problems.push(`${name} must start with postgres:// or postgresql://.`);
    return false;
  }
  const multi = parseMultiHostUrl(name, raw, { roles });
  if (!multi.ok) {
    problems.push(multi.problem);
    return false;
  }
  if (multi.value) return { multiHost: multi.value };
  try {
    const url = new URL(raw);
    if (url.pathname.length <= 1) {
      problems.push(`${name} names no database: add /DBNAME to the URL.`);
      return false;
    }
  } catch {
    problems.push(`${name} is not a valid postgres:// URL.`);
    return false;
  }
  return {};
}

function parseCurrencies(raw: string, problems: string[]): Map<string, Currency> {
  const result = new Map<string, Currency>();
  for (const item of raw.split(",")) {
    const match = /^([A-Z]{3}):([0-4])$/.exec(item.trim());
    if (!match) {
      problems.push(`BANK_CURRENCIES item ${JSON.stringify(item)} is invalid: use CODE:EXPONENT, e.g. USD:2,JPY:0.`);
      continue;
    }
    result.set(match[1]!, {
      code: match[1]!,
      exponent: Number(match[2]),
      dailyLimits: { deposit: limits.dailyDepositMinorDefault, withdrawal: limits.dailyWithdrawalMinorDefault, transferOut: limits.dailyTransferOutMinorDefault, incoming: limits.dailyIncomingMinorDefault },
    });
  }
  return result;
}

const LIMIT_NAMES = { deposit: "deposit", withdrawal: "withdrawal", transfer_out: "transferOut", incoming: "incoming" } as const;

/** BANK_DAILY_LIMITS="USD:deposit=1000000,withdrawal=1000000,transfer_out=5000000;JPY:deposit=500000":
 * per currency, the default daily limits in minor units (unnamed ones keep limits.ts's). */
function parseDailyLimits(raw: string, currencies: Map<string, Currency>, problems: string[]): void {
  if (raw === "") return;
  for (const part of raw.split(";").map((p) => p.trim()).filter((p) => p !== "")) {
    const [code, list = ""] = part.split(":", 2) as [string, string | undefined];
    const currency = currencies.get(code.trim());
    if (!currency) {
      problems.push(`BANK_DAILY_LIMITS names ${JSON.stringify(code)}, which is not in BANK_CURRENCIES.`);
      continue;
    }
    for (const item of list.split(",").map((i) => i.trim())) {
      const match = /^(deposit|withdrawal|transfer_out|incoming)=(\d{1,16})$/.exec(item);
      if (!match || BigInt(match[2]!) > limits.dailyLimitMinorMax) {
        problems.push(`BANK_DAILY_LIMITS item ${JSON.stringify(`${code}:${item}`)} is invalid: use deposit|withdrawal|transfer_out|incoming=MINOR_UNITS (0 to ${limits.dailyLimitMinorMax}).`);
        continue;
      }
      currency.dailyLimits[LIMIT_NAMES[match[1] as keyof typeof LIMIT_NAMES]] = BigInt(match[2]!);
    }
  }
}

function parseCorsOrigins(raw: string, problems: string[]): string[] {
  if (raw === "") return [];
  const origins = raw.split(",").map((o) => o.trim()).filter((o) => o !== "");
  for (const origin of origins) {
    if (origin === "*") continue;
    try {
      const url = new URL(origin);
      if (url.origin !== origin) throw new Error("not an origin");
    } catch {
      problems.push(`BANK_CORS_ORIGINS item ${JSON.stringify(origin)} is not an origin like https://app.example.com.`);
    }
  }
  return origins;
}
