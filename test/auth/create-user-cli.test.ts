// Goal: `bankd create-user` creates a user with the given roles through the same checks as
// Register (password from stdin, never the command line), prints the new id, and refuses a
// taken email, a weak password and an unknown role with one clear line and a non-zero exit.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { execFile } from "node:child_process";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { createUserCommand, parseArgs } from "../../src/cli/create-user";
import { engines } from "../support/db";
import { client } from "../support/app";
import { strongPassword, uniqueEmail } from "../support/users";
import { startAuthApp, type AuthTestApp } from "./support";

/** Runs the command in-process, capturing what it prints. */
async function run(t: AuthTestApp, args: string[], stdin: string): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((line: string) => void out.push(line));
  const error = jest.spyOn(console, "error").mockImplementation((line: string) => void err.push(line));
  try {
    const code = await createUserCommand(t.config, args, Readable.from([stdin]));
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe("create-user arguments", () => {
  test("roles are case-insensitive and repeatable; the password must come from stdin", () => {
    expect(parseArgs(["--email", "a@b.co", "--full-name", "A", "--role", "Admin", "--role", "teller", "--password-stdin"]).roles).toEqual([Role.ADMIN, Role.TELLER]);
    expect(() => parseArgs(["--email", "a@b.co", "--full-name", "A", "--role", "admin"])).toThrow(/--password-stdin/);
    expect(() => parseArgs(["--email", "a@b.co", "--full-name", "A", "--password-stdin"])).toThrow(/--role/);
    expect(() => parseArgs(["--email", "a@b.co", "--full-name", "A", "--role", "root", "--password-stdin"])).toThrow(/unknown role/);
    // The API's spelling works too (README and --help show it): ROLE_ADMIN, in any case.
    expect(parseArgs(["--email", "a@b.co", "--full-name", "A", "--role", "ROLE_ADMIN", "--role", "role_teller", "--password-stdin"]).roles).toEqual([Role.ADMIN, Role.TELLER]);
    expect(() => parseArgs(["--email", "a@b.co", "--full-name", "A", "--role", "ROLE_ROOT", "--password-stdin"])).toThrow(/unknown role/);
    expect(() => parseArgs(["--email", "a@b.co", "--full-name", "A", "--role", "ROLE_", "--password-stdin"])).toThrow(/unknown role/);
    expect(() => parseArgs(["--email", "a@b.co", "--full-name", "A", "--role", "ROLE_PAYMENT_SERVICE", "--password-stdin"])).toThrow(/unknown role/);
    expect(() => parseArgs(["--password", "x"])).toThrow(/unknown option/);
  });
});

describe.each(engines())("create-user on %s", (engine) => {
  let t: AuthTestApp;
  beforeAll(async () => {
    t = await startAuthApp(engine);
  });
  afterAll(async () => t.stop());

  test("creates the user, prints the id; the user signs in with the roles given", async () => {
    const email = uniqueEmail("staff");
    const password = strongPassword();
    const res = await run(t, ["--email", email, "--full-name", "Staff Member", "--role", "ADMIN", "--role", "auditor", "--password-stdin"], `${password}\n`);
    expect(res).toMatchObject({ code: 0, err: "" });
    expect(res.out).toMatch(/^[0-9a-f-]{36}$/);
    const login = await client(t.baseUrl, AuthService).login({ email, password });
    expect(login.user).toMatchObject({ id: res.out, roles: [Role.AUDITOR, Role.ADMIN] });
  });

  test("a taken email, a weak password: one clear line, exit 1", async () => {
    const email = uniqueEmail("dup");
    expect((await run(t, ["--email", email, "--full-name", "One", "--role", "customer", "--password-stdin"], strongPassword())).code).toBe(0);
    const dup = await run(t, ["--email", email.toUpperCase(), "--full-name", "Two", "--role", "customer", "--password-stdin"], strongPassword());
    expect(dup.code).toBe(1);
    expect(dup.err).toBe(`bankd: create-user: a user with email "${email}" already exists (EMAIL_TAKEN)`);
    const weak = await run(t, ["--email", uniqueEmail(), "--full-name", "Three", "--role", "customer", "--password-stdin"], "password1234\n");
    expect(weak.code).toBe(1);
    expect(weak.err).toMatch(/PASSWORD_TOO_WEAK/);
    expect(weak.err).not.toContain("password1234");
  });
});

test("npm run bankd -- create-user is wired into the CLI", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-cli-"));
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile("npx", ["tsx", "src/cli.ts", "create-user", "--email", uniqueEmail("cli"), "--full-name", "Cli User", "--role", "teller", "--password-stdin"], {
      env: { ...process.env, BANK_DATA_DIR: dataDir, BANK_DATABASE_URL: "", BANK_LOG_LEVEL: "silent", BANK_ARGON2_MEMORY_KIB: "4096", BANK_ARGON2_TIME_COST: "1" },
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin!.end(`${strongPassword()}\n`);
  });
  fs.rmSync(dataDir, { recursive: true, force: true });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(result.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
});
