// The `bankd` command: `npm run bankd -- <command>`.
//   serve         (default) run the server until SIGTERM/SIGINT, then drain and exit 0
//   migrate       apply pending database migrations and exit
//   verify-audit  seal pending audit events, verify the hash chain (exit 0 OK, 3 broken)
//   create-user   --email E --full-name N --role R [--role R] --password-stdin: add a user
import { ConfigError, loadConfig, type Config } from "./config";
import { Database, DatabaseUnavailableError } from "./db/database";
import { startApp } from "./app";

type Command = (config: Readonly<Config>, args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  serve: async (config) => {
    const app = await startApp(config);
    await new Promise<void>((resolve) => {
      let draining = false;
      // Handlers stay installed during the drain: a second signal must not kill the process
      // half-way (Ctrl-C under `npm start` delivers SIGINT twice: from the terminal to the whole
      // process group, and forwarded by npm).
      const stop = (signal: string) => {
        if (draining) return;
        draining = true;
        app.logger.info({ signal }, "draining");
        resolve();
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
    });
    await app.shutdown();
    return 0;
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

export async function extraCommands(): Promise<Record<string, Command>> {
  return {
    // Seals pending audit events, verifies the hash chain; exit 0 when it holds, 3 when broken.
    "verify-audit": async (config) => (await import("./audit/verify-command")).verifyAuditCommand(config),
    // Creates a user with the given roles; the password is read from stdin. Prints the new id.
    "create-user": async (config, args) => (await import("./auth/create-user-command")).createUserCommand(config, args),
  };
}

export async function main(argv: string[]): Promise<number> {
  const [name = "serve", ...args] = argv;
  const all = { ...commands, ...(await extraCommands()) };
  const command = all[name];
  if (!command) {
    console.error(`bankd: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(all).join(", ")}`);
    return 2;
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

/** One clear line for the failures a person can fix: a busy port, an unreachable database. */
export function describeStartupError(err: unknown, config: Readonly<Config>): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === "EADDRINUSE") return `cannot listen on ${config.host}:${config.port}: the port is in use (set BANK_PORT).`;
  if (e?.code === "EADDRNOTAVAIL") return `cannot listen on ${config.host}: no such local address (set BANK_HOST).`;
  if (e?.code === "EACCES") return `cannot listen on ${config.host}:${config.port}: permission denied (set BANK_PORT above 1023).`;
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
