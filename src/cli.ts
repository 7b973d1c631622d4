// The `bankd` command: `npm run bankd -- <command>` (`npm start` runs `serve`). `help`, `--help`
// and `<command> --help` print usage; no command or an unknown one prints usage and exits 2, so
// a typo never starts a server by surprise. Each command is a file of src/cli/; their usage is
// src/cli/help.ts.
// First: refuse an older Node.js with one clear line (src/runtime-check.ts).
import "./runtime-check";
import { ConfigError, loadConfig, type Config } from "./config";
import { DatabaseUnavailableError } from "./db/errors";
import { DatabaseHostsError } from "./db/primary";
import { createServiceAccountCommand } from "./cli/create-service-account";
import { createUserCommand } from "./cli/create-user";
import { firstLine, healthcheckCommand } from "./cli/healthcheck";
import { commandUsage, EXIT_USAGE, HELP, usage, wantsHelp } from "./cli/help";
import { migrateCommand } from "./cli/migrate";
import { serveCommand } from "./cli/serve";
import { verifyAuditCommand } from "./cli/verify-audit";

type Command = (config: Readonly<Config>, args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  serve: async (config) => serveCommand(config),
  healthcheck: async (config, args) => healthcheckCommand(config, args),
  migrate: async (config) => migrateCommand(config),
  // Seals pending audit events, verifies the hash chain; exit 0 when it holds, 3 when broken.
  "verify-audit": async (config) => verifyAuditCommand(config),
  // Creates a user with the given roles; the password is read from stdin. Prints the new id.
  "create-user": async (config, args) => createUserCommand(config, args),
  // Registers a service's public key as a service account. Prints the new id.
  "create-service-account": async (config, args) => createServiceAccountCommand(config, args),
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    console.error(`bankd: no command given\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (name === "help" || name === "--help" || name === "-h") return printHelp(args[0]);
  const command = commands[name];
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

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error("bankd: fatal:", err);
      process.exit(1);
    },
  );
}
