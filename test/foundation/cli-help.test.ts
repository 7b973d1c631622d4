// Goal: the `bankd` command explains itself and never starts a server by surprise: `help`,
// `--help` and `-h` print the usage of every command (exit 0); `<command> --help` and
// `help <command>` print that command's usage without running it (exit 0: `migrate --help` with
// an unreachable database still answers at once); no command, an unknown command or
// `help <unknown>` print the usage on stderr and exit 2. `npm start` (src/main.ts) still serves,
// and its startup line names the API explorer's URL, which answers.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { engines, createTestDatabase } from "../support/db";
import { FAST_ARGON2 } from "../support/app";
import * as fs from "node:fs";
import { main } from "../../src/cli";
import { HELP } from "../../src/cli/help";

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

const COMMANDS = ["serve", "migrate", "create-user", "verify-audit", "help"];
/** A database URL nothing listens on: a command that tried to use it would fail, not print usage. */
const UNREACHABLE = { BANK_DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", BANK_LOG_LEVEL: "silent" };

function run(script: string, args: string[], env: Record<string, string> = UNREACHABLE, onStdout?: (text: string, kill: () => void) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: path.resolve("."), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
      onStdout?.(stdout, () => child.kill("SIGTERM"));
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const cli = (...args: string[]) => run("src/cli.ts", args);

/** main() in this process, its console output captured: the same code as the command, without
 * a process start (several seconds each on a busy machine). */
async function inProcess(...args: string[]): Promise<Exit> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = jest.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  try {
    return { code: await main(args), stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe("bankd help", () => {
  test("as a process: --help prints every command's usage (exit 0), no command prints it on stderr (exit 2), migrate --help runs nothing", async () => {
    const [help, none, migrate] = await Promise.all([cli("--help"), cli(), cli("migrate", "--help")]);
    expect(help.code).toBe(0);
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    expect([none.code, none.stdout]).toEqual([2, ""]);
    expect(none.stderr).toContain("no command given");
    expect(none.stderr).toContain("usage: npm run bankd -- <command>");
    // The database is unreachable: had migrate run, it would have failed with exit 1.
    expect([migrate.code, migrate.stderr]).toEqual([0, ""]);
    expect(migrate.stdout).toContain("usage: npm run bankd -- migrate");
  }, 180_000);

  test("help, --help and -h print every command's usage and exit 0", async () => {
    for (const args of [["help"], ["--help"], ["-h"]]) {
      const exit = await inProcess(...args);
      expect([exit.code, exit.stderr]).toEqual([0, ""]);
      expect(exit.stdout).toContain("usage: npm run bankd -- <command>");
      for (const command of COMMANDS) expect(exit.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    }
  });

  test("<command> --help, -h and help <command> print that command's usage without running it", async () => {
    for (const command of COMMANDS.filter((c) => c !== "help")) {
      for (const args of [[command, "--help"], [command, "-h"], ["help", command]]) {
        const exit = await inProcess(...args);
        expect({ args, code: exit.code, stderr: exit.stderr }).toEqual({ args, code: 0, stderr: "" });
        expect(exit.stdout).toMatch(new RegExp(`^usage: npm run bankd -- ${command}`));
      }
    }
    const createUser = await inProcess("create-user", "--help");
    expect(createUser.stdout).toContain("--email EMAIL --full-name NAME --role ROLE");
    expect(createUser.stdout).toContain("ROLE_TELLER");
  });

  test("no command, an unknown command and help for an unknown command print the usage on stderr and exit 2", async () => {
    const none = await inProcess();
    expect([none.code, none.stdout]).toEqual([2, ""]);
    expect(none.stderr).toContain("no command given");
    for (const exit of [await inProcess("srve"), await inProcess("help", "srve"), await inProcess("--verbose")]) {
      expect([exit.code, exit.stdout]).toEqual([2, ""]);
      expect(exit.stderr).toMatch(/unknown command "(srve|--verbose)"/);
      expect(exit.stderr).toContain("usage: npm run bankd -- <command>");
    }
  });
});

describe.each(engines())("npm start on %s", (engine) => {
  test("src/main.ts serves; the startup line names /docs, which answers; SIGTERM drains and exits 0", async () => {
    const db = await createTestDatabase(engine);
    try {
      let docs: string | undefined;
      let checked: Promise<number> | undefined;
      const env = { BANK_PORT: "0", BANK_HOST: "127.0.0.1", BANK_DATA_DIR: db.dataDir, BANK_DATABASE_URL: db.url, BANK_LOG_LEVEL: "info", ...FAST_ARGON2 };
      const exit = await run("src/main.ts", [], env, (out, kill) => {
        const line = out.split("\n").find((l) => l.includes('"msg":"bankd serving"'));
        if (!line || checked) return;
        const serving = JSON.parse(line) as { url: string; docs: string };
        docs = serving.docs;
        expect(docs).toBe(`${serving.url}/docs`);
        checked = fetch(docs).then((r) => r.status).finally(kill);
      });
      expect(docs).toBeDefined();
      expect(await checked).toBe(200);
      expect(exit.code).toBe(0);
    } finally {
      await db.drop();
    }
  }, 90_000);
});

test("README's Commands table has a row for every bankd command (serve is npm start)", () => {
  const readme = fs.readFileSync(path.resolve("README.md"), "utf8");
  const rows = readme.split("\n").filter((line) => line.startsWith("| `npm "));
  for (const name of Object.keys(HELP)) {
    const spelled = name === "serve" ? "| `npm start`" : `| \`npm run bankd -- ${name}`;
    expect({ name, row: rows.some((r) => r.startsWith(spelled)) }).toEqual({ name, row: true });
  }
});
