// Goal: the shell in the docs runs as written (issue 28). Every fenced shell block (```sh, ```bash,
// ```console, ```shell) in README.md and docs/*.md says whether it runs, and the runnable ones are
// run against a started server (a fresh data dir, SQLite), each must exit 0 and print what the
// table below expects. A block without a marker fails the test, so a new one must be classified.
//
// The convention: the line just above the opening fence (same indentation) is one of
//   <!-- runnable -->                        runs alone, in a fresh bash (`set -euo pipefail`)
//   <!-- runnable: after curl-recipes -->    runs in the same bash after README's curl recipes
//                                            (it uses their $BANK_URL, $TOKEN, $CHECKING, ...)
//   <!-- not-runnable: REASON -->            does not run here, and says why (needs Docker, a
//                                            formation, grpcurl, runs until stopped, ...)
// Blocks inside README's <!-- recipes:start --> and <!-- curl-recipes:start --> sections need no
// marker: the section is theirs, and readme-recipes.test.ts runs it in order, twice.
//
// A runnable block runs in a scratch directory that links the checkout's files (what it writes,
// such as ./payments-key, stays there), with BANK_DATA_DIR and BANK_DATABASE_URL of the test
// server, http://127.0.0.1:8080 and 127.0.0.1:8081 swapped for the test server's ports, and
// `npx X` calling node_modules/.bin/X directly (the same program, without npm's start-up second).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { client, startTestApp, type TestApp, FAST_ARGON2 } from "../support/app";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { Role } from "../../gen/bank/v1/access_pb";
import { recipeBlocks, shellBlocks, type DocBlock } from "./doc-markdown";

const ROOT = path.resolve(".");
const DOC_FILES = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
const allBlocks = (): DocBlock[] => DOC_FILES.flatMap((file) => shellBlocks(file, fs.readFileSync(path.join(ROOT, file), "utf8")));
const where = (b: DocBlock) => `${b.file}:${b.line}`;

interface Ran {
  stdout: string;
  stderr: string;
  /** The scratch directory it ran in. */
  dir: string;
}

/** What each runnable block must print, found by a line of the block; one entry per runnable
 * block, no more (a stale entry fails as a missing marker does). */
const EXPECTED: { file: string; contains: string; check(run: Ran, t: TestApp): void | Promise<void> }[] = [
  {
    file: "README.md",
    contains: "grpc.health.v1.Health/Check",
    check: ({ stdout }) => {
      expect(JSON.parse(stdout.slice(0, stdout.indexOf("}") + 1))).toEqual({ status: "SERVING" });
      expect(stdout).toMatch(/^bank\.v1\.TransactionService$/m);
      expect(stdout).toMatch(/^grpc\.reflection\.v1\.ServerReflection$/m);
    },
  },
  {
    file: "README.md",
    contains: "create-user --email admin@example.com",
    // The first admin, as the README makes it (ROLE_ADMIN, issue 28): the id, then the audit
    // chain holding; and that admin signs in, with ROLE_ADMIN, to an enrolment-only session
    // (staff enrol a TOTP second factor first, issue 27).
    check: async ({ stdout }, t) => {
      const [id, verified, ...rest] = stdout.trim().split("\n");
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(verified).toMatch(/^audit chain OK: \d+ events verified/);
      expect(rest).toEqual([]);
      const login = await client(t.baseUrl, AuthService).login({ email: "admin@example.com", password: "a long admin passphrase 42" });
      expect(login.user?.id).toBe(id);
      expect(login.user?.roles).toEqual([Role.ADMIN]);
      expect(login.secondFactorEnrolmentRequired).toBe(true);
    },
  },
  {
    file: "README.md",
    contains: "examples/grpc-js-caller.ts",
    check: ({ stdout, dir }) => {
      const lines = stdout.trim().split("\n");
      const keys = JSON.parse(lines[0]!) as { keyFile: string; publicKeyFile: string };
      expect(fs.statSync(path.resolve(dir, keys.keyFile)).mode & 0o777).toBe(0o600);
      expect(lines).toHaveLength(2);
      // The caller acted as the service account the CLI made, and the transfer went through.
      const paid = JSON.parse(lines[1]!) as { subject: string; transactionId: string; attempts: number };
      expect(paid.subject).toMatch(/^[0-9a-f-]{36}$/);
      expect(paid.transactionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(paid.attempts).toBe(1);
    },
  },
  {
    file: "docs/clients.md",
    contains: "http://127.0.0.1:8081",
    check: ({ stdout }) => {
      expect(stdout).toMatch(/^bank\.v1\.TransactionService\/Transfer$/m);
      expect(stdout).toMatch(/"status": "SERVING"/);
    },
  },
  {
    file: "docs/deploy.md",
    contains: "signing-key-2.jwk",
    check: ({ dir }) => {
      const file = path.join(dir, "signing-key-2.jwk");
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const jwk = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>;
      expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519" });
      expect(jwk.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Number.isNaN(Date.parse(jwk.created!))).toBe(false);
    },
  },
];

test("every fenced shell block in README.md and docs/ says whether it runs (and why not)", () => {
  const blocks = allBlocks();
  expect(blocks.length).toBeGreaterThan(30);
  const unmarked = blocks.filter((b) => b.marker.kind === "none" || b.marker.kind === "bad").map((b) => `${where(b)} ${b.marker.kind === "bad" ? b.marker.text : "(no marker)"}`);
  expect(unmarked).toEqual([]);
  for (const b of blocks) {
    if (b.marker.kind === "section") expect(["recipes", "curl-recipes"]).toContain(b.marker.section);
    if (b.marker.kind === "not-runnable") expect(b.marker.reason.length).toBeGreaterThan(8);
  }
  // Each runnable block has its expectation, and each expectation its block.
  const runnable = blocks.filter((b) => b.marker.kind === "runnable");
  for (const e of EXPECTED) expect([e.file, runnable.filter((b) => b.file === e.file && b.code.includes(e.contains)).map(where)]).toEqual([e.file, [expect.any(String)]]);
  for (const b of runnable) expect([where(b), EXPECTED.filter((e) => e.file === b.file && b.code.includes(e.contains)).length]).toEqual([where(b), 1]);
});

test("docs/deploy.md sizes from docs/performance.md's summary: each rate it names is within 5% of one there (issue 28: 400-550/s against 651/s)", () => {
  const perf = fs.readFileSync(path.join(ROOT, "docs/performance.md"), "utf8");
  const summary = perf.slice(perf.indexOf("## Summary"), perf.indexOf("\n## ", perf.indexOf("## Summary") + 1));
  const deploy = fs.readFileSync(path.join(ROOT, "docs/deploy.md"), "utf8");
  const sizing = deploy.slice(deploy.indexOf("## Sizing"), deploy.indexOf("\n## ", deploy.indexOf("## Sizing") + 1));
  const rates = (text: string) => [...text.matchAll(/(\d[\d,]*)(?:-\d[\d,]*)? (?:single )?transfers\/s|(\d[\d,]*)\/s/g)].map((m) => Number((m[1] ?? m[2])!.replace(/,/g, "")));
  const named = rates(sizing);
  expect(named.length).toBeGreaterThanOrEqual(2);
  const measured = rates(summary);
  for (const rate of named) expect([rate, measured.some((m) => Math.abs(m - rate) <= 0.05 * m)]).toEqual([rate, true]);
  expect(sizing).toContain("performance.md#summary");
});

test("the parser sees markers, indented fences, sections, and fails the unmarked", () => {
  const md = ["<!-- runnable -->", "```sh", "a", "```", "", "```bash", "b", "```", "```js", "```sh", "```", "1. x", "   <!-- not-runnable: needs Docker -->", "   ```sh", "   docker ps", "   ```", "<!-- curl-recipes:start -->", "```sh", "c", "```", "<!-- curl-recipes:end -->", "<!-- runnable: later -->", "```console", "d", "```"].join("\n");
  const blocks = shellBlocks("x.md", md);
  expect(blocks.map((b) => [b.line, b.code, b.marker])).toEqual([
    [2, "a", { kind: "runnable" }],
    [6, "b", { kind: "none" }],
    [14, "docker ps", { kind: "not-runnable", reason: "needs Docker" }],
    [18, "c", { kind: "section", section: "curl-recipes" }],
    [23, "d", { kind: "bad", text: "<!-- runnable: later -->" }],
  ]);
});

describe("the runnable blocks, against a started server on a fresh data dir (SQLite)", () => {
  let t: TestApp;
  let scratch: string;
  beforeAll(async () => {
    t = await startTestApp("sqlite");
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-doc-blocks-"));
  });
  afterAll(async () => {
    await t?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  const runnable = allBlocks().filter((b) => b.marker.kind === "runnable");
  test.each(runnable.map((b) => [where(b), b] as const))("%s exits 0 and prints what it should", async (_name, block) => {
    const expected = EXPECTED.find((e) => e.file === block.file && block.code.includes(e.contains));
    expect(expected).toBeDefined();
    const dir = scratchCheckout(scratch, `${path.basename(block.file, ".md")}-${block.line}`);
    const prelude = block.marker.kind === "runnable" && block.marker.after === "curl-recipes" ? recipeBlocks(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"), "curl-recipes") : [];
    const grpcTarget = t.app.grpcPort?.target;
    if (!grpcTarget) throw new Error("the test server has no gRPC port");
    const swap = (code: string) => code.split("http://127.0.0.1:8080").join(t.baseUrl).split("127.0.0.1:8081").join(grpcTarget);
    const script = ["set -euo pipefail", `export PATH="${path.join(ROOT, "node_modules/.bin")}:$PATH"`, 'npx() { "$@"; }', ...prelude.map(swap), 'echo "@@doc-block"', swap(block.code)].join("\n");
    const run = await runBash(script, dir, { BANK_DATABASE_URL: t.db.url, BANK_DATA_DIR: t.db.dataDir, BANK_LOG_LEVEL: "warn", ...FAST_ARGON2 });
    if (run.code !== 0) throw new Error(`${where(block)} exited ${run.code}:\n${block.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
    const stdout = run.stdout.slice(run.stdout.indexOf("@@doc-block\n") + "@@doc-block\n".length);
    await expected!.check({ stdout, stderr: run.stderr, dir }, t);
  }, 60_000);
});

/** A directory that looks like the checkout to npm, tsx and the examples (links to its files),
 * where what a block writes stays out of the real one. */
function scratchCheckout(parent: string, name: string): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir);
  for (const entry of fs.readdirSync(ROOT)) {
    if (entry === ".git" || entry === "data") continue;
    fs.symlinkSync(path.join(ROOT, entry), path.join(dir, entry));
  }
  return dir;
}

function runBash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { cwd, env: { ...process.env, NO_COLOR: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
