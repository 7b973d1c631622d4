// The previous build for --baseline-ref: the revision checked out into a temporary git worktree
// (`git worktree add --detach`), its dependencies, and its own `tsc -p tsconfig.build.json`, so
// that its server can run beside this one's figures in the same bench run. Its node_modules is
// a symlink to this tree's when both package-lock.json files list the same packages (the usual
// case between neighbouring commits: nothing to install, native modules included); otherwise it
// gets its own `npm ci`, which takes minutes. The worktree is removed afterwards.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { log } from "./progress";
import { ROOT } from "./server";
import { spawnCollect } from "./spawn";

export interface PreviousBuild {
  ref: string;
  commit: string;
  /** The node it runs on (--baseline-node), and its version; undefined: the bench's own. */
  node?: string;
  nodeVersion: string;
  /** The worktree: its dist/src/main.js is the server to start. */
  root: string;
  /** "symlink" or "npm ci": how its node_modules came to be. */
  dependencies: "symlink" | "npm ci";
  remove(): Promise<void>;
}

async function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const { code, stdout, stderr } = await spawnCollect(command, args, cwd, env);
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} (in ${cwd}) exited with code ${code}:\n${(stdout + stderr).trim().split("\n").slice(-15).join("\n")}`);
  return stdout.trim();
}

export async function preparePreviousBuild(ref: string, node?: string): Promise<PreviousBuild> {
  const nodeVersion = node ? await run(node, ["--version"], ROOT) : process.version;
  const commit = await run("git", ["rev-parse", "--verify", `${ref}^{commit}`], ROOT);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `bankd-bench-ref-${commit.slice(0, 7)}-`));
  fs.rmdirSync(root);
  await run("git", ["worktree", "add", "--detach", root, commit], ROOT);
  const remove = async () => {
    await run("git", ["worktree", "remove", "--force", root], ROOT).catch((err: unknown) => log(`could not remove the worktree ${root}: ${String(err)}`));
    fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    const dependencies = sameLockedPackages(path.join(ROOT, "package-lock.json"), path.join(root, "package-lock.json")) ? "symlink" : "npm ci";
    log(`previous build ${ref} = ${commit.slice(0, 12)} in ${root}: node_modules by ${dependencies}, building`);
    if (dependencies === "symlink") fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(root, "node_modules"), "dir");
    // With another node, its npm ci runs under that node (first on PATH) and builds native
    // addons against that node's own headers (its prefix's include/node), so that they load in
    // the runtime it will serve on: built against this bench's Node 24 headers, argon2 and
    // sqlite3 crashed Node 20 at load (SIGSEGV).
    else await run("npm", ["ci", "--no-audit", "--no-fund"], root, node ? nodeEnv(node) : {});
    await run(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], root);
    if (!fs.existsSync(path.join(root, "dist", "src", "main.js"))) throw new Error(`building ${ref} made no dist/src/main.js`);
    // A revision whose migrations are SQL folders copies them next to its compiled loader with
    // its own script (tsc copies no .sql); older revisions have none and need none.
    const copyMigrations = path.join(root, "scripts", "copy-migrations.js");
    if (fs.existsSync(copyMigrations)) await run(process.execPath, [copyMigrations, "dist"], root);
    return { ref, commit, ...(node ? { node } : {}), nodeVersion, root, dependencies, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** Whether two lockfiles pin exactly the same packages (name, version, integrity). */
function sameLockedPackages(a: string, b: string): boolean {
  const packages = (file: string) => {
    try {
      return JSON.stringify((JSON.parse(fs.readFileSync(file, "utf8")) as { packages?: unknown }).packages ?? null);
    } catch {
      return undefined;
    }
  };
  const pa = packages(a);
  return pa !== undefined && pa === packages(b);
}

/** PATH with `node`'s folder first, and npm_config_nodedir at its prefix when that holds headers. */
function nodeEnv(node: string): Record<string, string> {
  const prefix = path.dirname(path.dirname(node));
  const hasHeaders = fs.existsSync(path.join(prefix, "include", "node", "node.h"));
  return { PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ""}`, npm_config_nodedir: hasHeaders ? prefix : "" };
}
