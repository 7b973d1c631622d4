// The `bankd` command: `npm run bankd -- <command>` (`npm start` runs `serve`). `help`, `--help`
// and `<command> --help` print usage; no command or an unknown one prints usage and exits 2, so
// a typo never starts a server by surprise. The commands and their usage are in HELP below.
// First: refuse an older Node.js with one clear line (src/runtime-check.ts).
import "./runtime-check";
import cluster from "node:cluster";
import { ConfigError, loadConfig, type Config } from "./config";
import { Database, DatabaseUnavailableError } from "./db/database";
import { DatabaseHostsError } from "./db/primary";
import { startApp } from "./app";
import { limits } from "./limits";
import { isWorkersPrimary, serveWorkers } from "./workers";
import { createLogger } from "./logger";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb";
import { verifyAuditCommand } from "./audit/verify-command";
import { createUserCommand } from "./auth/create-user-command";
import { createServiceAccountCommand } from "./admin/create-service-account-command";

type Command = (config: Readonly<Config>, args: string[]) => Promise<number>;

/** Exit status for a command line that names no known command (as the shells' usage errors). */
const EXIT_USAGE = 2;

/** Usage of each command: its arguments and what it does. */
const HELP: Record<string, { args: string; about: string }> = {
  serve: { args: "", about: "Serve gRPC, gRPC-Web and Connect on one port (BANK_PORT), and gRPC for internal callers on BANK_GRPC_PORT, until SIGTERM or SIGINT, then drain and exit 0 (npm start runs this). The API explorer is at /docs." },
  migrate: { args: "", about: "Apply pending database migrations and exit (serve also applies them at start)." },
  "create-user": {
    args: "--email EMAIL --full-name NAME --role ROLE [--role ROLE ...] --password-stdin",
    about: "Add a user with roles, reading the password from stdin; prints the new user's id. ROLE is ROLE_CUSTOMER, ROLE_TELLER, ROLE_AUDITOR or ROLE_ADMIN, as the API spells them (customer, teller, auditor, admin also work).",
  },
  "create-service-account": {
    args: "--name NAME --role ROLE [--role ROLE ...] --public-key-file FILE [--allowed-owner USER_ID ...] [--allowed-account ACCOUNT_ID ...]",
    about: "Register an internal service's Ed25519 public key (PEM or JWK file) as a service account; prints its id. ROLE is ROLE_PAYMENT_SERVICE, ROLE_TELLER or ROLE_AUDITOR (payment_service, teller, auditor also work); the allow-lists bound a payment service to those owners' or accounts' money. The private key never leaves the service (docs/clients.md).",
  },
  healthcheck: {
    args: "[SERVICE]",
    about: "Ask the server at BANK_HOST:BANK_PORT (TLS when BANK_TLS_CERT is set) for grpc.health.v1 Check: exit 0 when SERVING, 1 otherwise (not serving, unreachable, or no answer within limits.healthcheckTimeoutMs). The container's HEALTHCHECK runs it.",
  },
  "verify-audit": { args: "", about: "Seal pending audit events and verify the hash chain: exit 0 when it holds, 3 when it is broken." },
  help: { args: "[COMMAND]", about: "Print this help, or one command's." },
};

/** The whole usage text. */
export function usage(): string {
  const width = Math.max(...Object.keys(HELP).map((n) => n.length));
  const lines = Object.entries(HELP).map(([name, h]) => `  ${name.padEnd(width)}  ${h.about}`);
  return [
    "usage: npm run bankd -- <command> [arguments]      (npm start = npm run bankd -- serve)",
    "",
    "commands:",
    ...lines,
    "",
    "`npm run bankd -- <command> --help` shows a command's arguments. Configuration comes from",
    "environment variables (BANK_PORT, BANK_DATABASE_URL, ...): see README.md, Configuration.",
  ].join("\n");
}

/** One command's usage line and description. */
/** The one line `serve` logs when it runs with development defaults (issue 28). */
export function developmentDefaultsLine(config: Readonly<Config>): string {
  return `running with development defaults: ${config.developmentDefaults.join("; ")} (production: docs/deploy.md)`;
}

export function commandUsage(name: string): string {
  const h = HELP[name]!;
  return `usage: npm run bankd -- ${name}${h.args ? ` ${h.args}` : ""}\n\n${h.about}`;
}

const wantsHelp = (args: readonly string[]) => args.includes("--help") || args.includes("-h");

const commands: Record<string, Command> = {
  serve: async (config) => {
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
  },
  healthcheck: async (config, args) => {
    const result = await healthcheck(config, args[0] ?? "");
    (result.serving ? console.log : console.error)(`bankd healthcheck: ${result.detail}`);
    return result.serving ? 0 : 1;
  },
  migrate: async (config) => {
    const db = await Database.open(config.database);
    try {
      const applied = await db.migrate();
      console.log(applied.length === 0 ? "database is up to date" : `applied ${applied.length} migration(s): ${applied.join(", ")}`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

/** grpc.health.v1 Check against the configured listener, for probes that cannot speak gRPC
 * themselves (Docker's HEALTHCHECK). A wildcard BANK_HOST is probed on loopback. With TLS the
 * certificate is not verified: the probe runs beside the server, sends no credentials, and the
 * certificate names the public host, not 127.0.0.1. */
export async function healthcheck(config: Pick<Config, "host" | "port" | "tls">, service = ""): Promise<{ serving: boolean; detail: string }> {
  const host = config.host === "0.0.0.0" || config.host === "" ? "127.0.0.1" : config.host === "::" ? "::1" : config.host;
  const baseUrl = `${config.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
  const transport = createGrpcTransport({ baseUrl, nodeOptions: config.tls ? { rejectUnauthorized: false } : undefined, idleConnectionTimeoutMs: 1 });
  try {
    const res = await createClient(Health, transport).check({ service }, { timeoutMs: limits.healthcheckTimeoutMs });
    return { serving: res.status === Status.SERVING, detail: `${baseUrl}: ${Status[res.status] ?? res.status}` };
  } catch (err) {
    return { serving: false, detail: `${baseUrl}: ${firstLine(String((err as Error)?.message ?? err))}` };
  }
}

export async function extraCommands(): Promise<Record<string, Command>> {
  return {
    // Seals pending audit events, verifies the hash chain; exit 0 when it holds, 3 when broken.
    "verify-audit": async (config) => verifyAuditCommand(config),
    // Creates a user with the given roles; the password is read from stdin. Prints the new id.
    "create-user": async (config, args) => createUserCommand(config, args),
    // Registers a service's public key as a service account. Prints the new id.
    "create-service-account": async (config, args) => createServiceAccountCommand(config, args),
  };
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    console.error(`bankd: no command given\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (name === "help" || name === "--help" || name === "-h") return printHelp(args[0]);
  const all = { ...commands, ...(await extraCommands()) };
  const command = all[name];
  if (!command) {
    console.error(`bankd: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (wantsHelp(args)) {
    console.log(commandUsage(name));
    return 0;
  }
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) console.error(`bankd: configuration: ${problem}`);
      return 2;
    }
    throw err;
  }
  try {
    return await command(config, args);
  } catch (err) {
    console.error(`bankd: ${describeStartupError(err, config)}`);
    return 1;
  }
}

function printHelp(name: string | undefined): number {
  if (name === undefined) {
    console.log(usage());
    return 0;
  }
  if (!HELP[name]) {
    console.error(`bankd: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  console.log(commandUsage(name));
  return 0;
}

/** One clear line for the failures a person can fix: a busy port, an unreachable database. */
export function describeStartupError(err: unknown, config: Readonly<Config>): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === "EADDRINUSE") return `cannot listen on ${config.host}:${config.port}: the port is in use (set BANK_PORT).`;
  if (e?.code === "EADDRNOTAVAIL") return `cannot listen on ${config.host}: no such local address (set BANK_HOST).`;
  if (e?.code === "EACCES") return `cannot listen on ${config.host}:${config.port}: permission denied (set BANK_PORT above 1023).`;
  // A multi-host URL with no usable host: the message names every host and its answer.
  if (err instanceof DatabaseHostsError) return `cannot open the database: ${err.message}`;
  const where = config.database.kind === "postgres" ? redactUrl(config.database.url) : config.database.file;
  if (err instanceof DatabaseUnavailableError) {
    const cause = err.cause as { message?: string } | undefined;
    return `cannot open the database at ${where}: ${firstLine(String(cause?.message ?? "unreachable"))} (check BANK_DATABASE_URL).`;
  }
  const message = String(e?.message ?? err);
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|timeout|does not exist|authentication failed|SQLITE_CANTOPEN|unable to open|ETIMEDOUT/i.test(message) || e?.code === "ECONNREFUSED") {
    return `cannot open the database at ${where}: ${firstLine(message)} (check BANK_DATABASE_URL).`;
  }
  return `failed to start: ${firstLine(message)}`;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 300);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error("bankd: fatal:", err);
      process.exit(1);
    },
  );
}
