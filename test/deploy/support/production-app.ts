// A production installation of bankd in a temporary directory, as the container's final stage
// has it: the output of `npm run build` (dist/), package.json and the lockfile, and node_modules
// without devDependencies. node_modules is a hard-linked copy of the repository's, pruned with
// `npm prune --omit=dev` (a second `npm ci` would recompile sqlite3 from source here); the one
// file npm rewrites in place (node_modules/.package-lock.json) is copied, not linked, so the
// repository's node_modules is never changed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
export const REPO_ROOT = path.resolve(__dirname, "../../..");

export interface ProductionInstall {
  /** The temporary directory holding app/ and anything the test adds (data/). */
  root: string;
  /** The installation: dist/, node_modules/, package.json, package-lock.json. */
  appDir: string;
  remove(): void;
}

/** Builds into a fresh directory and installs production dependencies next to the build. */
export async function installProduction(): Promise<ProductionInstall> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-prod-"));
  const appDir = path.join(root, "app");
  fs.mkdirSync(appDir);
  await run("npm", ["run", "--silent", "build", "--", "--out-dir", path.join(appDir, "dist")], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  for (const file of ["package.json", "package-lock.json"]) fs.copyFileSync(path.join(REPO_ROOT, file), path.join(appDir, file));
  await run("cp", ["-al", path.join(REPO_ROOT, "node_modules"), path.join(appDir, "node_modules")]);
  const hiddenLock = path.join(appDir, "node_modules", ".package-lock.json");
  fs.rmSync(hiddenLock, { force: true });
  fs.copyFileSync(path.join(REPO_ROOT, "node_modules", ".package-lock.json"), hiddenLock);
  await run("npm", ["prune", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: appDir, maxBuffer: 16 * 1024 * 1024 });
  return { root, appDir, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Every file and directory under `dir` with its size and modification time, for "nothing was
 * written here" checks. */
export function treeSnapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      const stat = fs.lstatSync(full);
      out.set(path.relative(dir, full), `${entry.isDirectory() ? "dir" : stat.size}:${stat.mtimeMs}`);
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

export function treeChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [name, sig] of after) if (before.get(name) !== sig) changes.push(before.has(name) ? `changed ${name}` : `added ${name}`);
  for (const name of before.keys()) if (!after.has(name)) changes.push(`removed ${name}`);
  return changes;
}

export interface NodeProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node <args>` in `cwd` with exactly `env` (plus PATH), its output collected. */
export function startNode(args: string[], cwd: string, env: Record<string, string>): NodeProcess {
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString("utf8")));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  process.once("exit", () => child.kill("SIGKILL"));
  return { child, output: () => output, exited };
}

/** Runs `node <args>` to its end. */
export async function runNode(args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const p = startNode(args, cwd, env);
  const { code } = await p.exited;
  return { code, output: p.output() };
}
