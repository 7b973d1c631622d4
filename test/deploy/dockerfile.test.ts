// The Dockerfile, checked by what can run here (no Docker engine, no registry): its rules read
// from the file (pinned base, multi-stage, npm ci, non-root user, exec-form entry, STOPSIGNAL,
// HEALTHCHECK through `bankd healthcheck`), then its build and run steps replayed in a temporary
// directory (support/dockerfile.ts: apt-get skipped, npm ci substituted by the repository's
// node_modules; the notes are printed). The final stage's filesystem must hold only dist/,
// production node_modules and package.json; the server started with the image's ENTRYPOINT, CMD
// and ENV must turn healthy by the HEALTHCHECK command, drain on the STOPSIGNAL, and write only
// under BANK_DATA_DIR. The two steps the replay cannot run as they are, checked for real (issue 30):
// the apt-get install line against this machine's Debian (same release as the image's bookworm),
// with --simulate; and the dependency install from the lockfile in a scratch folder holding only
// package.json and package-lock.json (npm ci --omit=dev: the tree the image keeps), whose native
// modules must then load.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execForm, lastOf, parseCopy, parseDockerfile, parseHealthcheck, replay, type StageResult } from "./support/dockerfile";
import { REPO_ROOT, runNode, startNode, treeChanges, treeSnapshot, type NodeProcess } from "./support/production-app";
import { freePort } from "../system/support/ports";
import { FAST_ARGON2 } from "../support/app";
import { NODE_MAJOR_MIN } from "../../src/runtime-check";

const dockerfile = parseDockerfile(fs.readFileSync(path.join(REPO_ROOT, "Dockerfile"), "utf8"));
const final = dockerfile.stages[dockerfile.stages.length - 1]!;

describe("Dockerfile rules", () => {
  test("every stage starts from node:24-bookworm-slim (the engines major) pinned to a release (and optionally a digest)", () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of dockerfile.stages) expect(stage.image).toMatch(new RegExp(`^node:${NODE_MAJOR_MIN}\\.\\d+\\.\\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$`));
  });

  test("the build stage installs from the lockfile with npm ci and runs npm run build", () => {
    const build = dockerfile.stages[0]!;
    const runs = build.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
    expect(runs.some((r) => /^npm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /^npm install\b/.test(r))).toBe(false);
    expect(runs).toContain("npm run build");
    const lockCopied = build.instructions.findIndex((i) => i.keyword === "COPY" && parseCopy(i.args).sources.includes("package-lock.json"));
    const ci = build.instructions.findIndex((i) => i.keyword === "RUN" && /^npm ci\b/.test(i.args));
    expect(lockCopied).toBeGreaterThanOrEqual(0);
    expect(lockCopied).toBeLessThan(ci);
  });

  test("the final stage copies only dist/, node_modules and package.json from the build, and its data directory", () => {
    const copies = final.instructions.filter((i) => i.keyword === "COPY").map((i) => parseCopy(i.args));
    for (const copy of copies) expect(copy.options.get("from")).toBe(dockerfile.stages[0]!.name);
    const sources = copies.flatMap((c) => c.sources).sort();
    expect(sources).toEqual(["/app/dist", "/app/empty-data-dir", "/app/node_modules", "/app/package.json"]);
    expect(final.instructions.filter((i) => i.keyword === "RUN")).toEqual([]);
  });

  test("runs as a non-root user that owns BANK_DATA_DIR", () => {
    const user = lastOf(final, "USER")?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const env = new Map(final.instructions.filter((i) => i.keyword === "ENV").flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!] as const)));
    const dataDir = env.get("BANK_DATA_DIR");
    expect(dataDir).toBeDefined();
    const owned = final.instructions.filter((i) => i.keyword === "COPY").map((i) => parseCopy(i.args)).find((c) => c.dest === dataDir);
    expect(owned?.options.get("chown")).toBe(`${user}:${user}`);
  });

  test("exec-form ENTRYPOINT and CMD (node is PID 1), STOPSIGNAL SIGTERM, HEALTHCHECK through bankd healthcheck", () => {
    const entry = execForm(lastOf(final, "ENTRYPOINT")!.args);
    expect(entry).toEqual(["node", "dist/src/main.js"]);
    expect(execForm(lastOf(final, "CMD")?.args ?? "[]")).toEqual([]);
    expect(lastOf(final, "STOPSIGNAL")?.args).toBe("SIGTERM");
    const health = parseHealthcheck(lastOf(final, "HEALTHCHECK")!.args);
    expect(health.command).toEqual(["node", "dist/src/main.js", "healthcheck"]);
    // Docker's timeout leaves the command time to give its own answer (limits.healthcheckTimeoutMs).
    expect(Number(/^(\d+)s$/.exec(health.options.get("timeout") ?? "")?.[1])).toBeGreaterThan(3);
  });
});

describe("Dockerfile replayed", () => {
  let workDir: string;
  let stages: StageResult[];
  const notes: string[] = [];
  let server: NodeProcess | undefined;

  beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-docker-"));
    stages = replay(dockerfile, { repoRoot: REPO_ROOT, workDir, notes });
    console.log(`Dockerfile replay:\n${notes.join("\n")}`);
  }, 150_000);

  afterAll(() => {
    server?.child.kill("SIGKILL");
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test("only apt-get was skipped and only npm ci substituted", () => {
    expect(notes.filter((n) => !/^skipped \(needs the Debian archive\): .*apt-get/.test(n) && !/^substituted \(needs the npm registry\): .*npm ci/.test(n))).toEqual([]);
  });

  test("the final image holds dist/, production node_modules and package.json, and an empty data directory", () => {
    const image = stages[stages.length - 1]!;
    const app = path.join(image.root, image.workdir);
    expect(fs.readdirSync(app).sort()).toEqual(["dist", "node_modules", "package.json"]);
    for (const dev of ["esbuild", "typescript", "tsx", "jest"]) expect(fs.existsSync(path.join(app, "node_modules", dev))).toBe(false);
    expect(fs.existsSync(path.join(app, "dist/console/index.html"))).toBe(true);
    expect(fs.readdirSync(path.join(image.root, "var/lib/bankd"))).toEqual([]);
  });

  test("the image's entry serves, the HEALTHCHECK command passes, STOPSIGNAL drains, and it writes only its data directory", async () => {
    const image = stages[stages.length - 1]!;
    const inImage = (p: string) => path.join(image.root, path.posix.resolve(image.workdir, p));
    const port = await freePort();
    // The image's ENV, with its absolute paths inside the replayed filesystem; listening on
    // loopback and a free port instead of 0.0.0.0:8080.
    const env: Record<string, string> = { ...FAST_ARGON2 };
    for (const [k, v] of image.env) env[k] = v.startsWith("/") ? inImage(v) : v;
    // The gRPC port on a free port too (its default, BANK_PORT + 1, may be another test's).
    Object.assign(env, { BANK_HOST: "127.0.0.1", BANK_PORT: String(port), BANK_GRPC_PORT: String(await freePort()) });
    const entry = [...execForm(lastOf(image.stage, "ENTRYPOINT")!.args)!, ...execForm(lastOf(image.stage, "CMD")!.args)!];
    const health = parseHealthcheck(lastOf(image.stage, "HEALTHCHECK")!.args).command!;
    expect(entry[0]).toBe("node");
    const before = treeSnapshot(image.root);

    server = startNode(entry.slice(1), inImage("."), env);
    const s = server;
    await new Promise<void>((resolve, reject) => {
      const onData = () => (/"msg":"bankd serving"/.test(s.output()) ? resolve() : undefined);
      s.child.stdout!.on("data", onData);
      s.child.stderr!.on("data", onData);
      void s.exited.then((exit) => reject(new Error(`the image's entry exited (${JSON.stringify(exit)}):\n${s.output()}`)));
    });
    expect(await runNode(health.slice(1), inImage("."), env)).toMatchObject({ code: 0 });

    server.child.kill(lastOf(image.stage, "STOPSIGNAL")!.args as NodeJS.Signals);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect((await runNode(health.slice(1), inImage("."), env)).code).toBe(1);

    const dataDir = path.posix.relative("/", image.env.get("BANK_DATA_DIR")!);
    const changes = treeChanges(before, treeSnapshot(image.root)).filter((c) => !c.endsWith(` ${dataDir}`) && !c.includes(` ${dataDir}/`));
    expect(changes).toEqual([]);
    expect(fs.existsSync(path.join(image.root, dataDir, "bank.db"))).toBe(true);
  });
});

describe("the Dockerfile's install steps, run for real", () => {
  const runs = dockerfile.stages.flatMap((stage) => stage.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args));

  test("its apt-get install line resolves on Debian bookworm (apt-get install --simulate)", () => {
    const line = runs.find((r) => /apt-get install/.test(r));
    expect(line).toBeDefined();
    const install = /apt-get install ([^&;|]+)/.exec(line!)![1]!.trim().split(/\s+/);
    const packages = install.filter((word) => !word.startsWith("-"));
    const flags = install.filter((word) => word.startsWith("-") && word !== "-y");
    expect(packages).toEqual(["python3", "make", "g++"]);
    expect(fs.readFileSync("/etc/os-release", "utf8")).toMatch(/VERSION_CODENAME=bookworm/);
    const simulated = spawnSync("apt-get", ["install", "--simulate", ...flags, ...packages], { encoding: "utf8", timeout: 60_000 });
    expect([simulated.status, simulated.stderr.split("\n").filter((l) => /^E:/.test(l))]).toEqual([0, []]);
    // Each package is one apt knows (installed here, or to be installed).
    for (const name of packages) expect(simulated.stdout).toMatch(new RegExp(`(^Inst ${name.replace(/\+/g, "\\+")} |^${name.replace(/\+/g, "\\+")} is already the newest version)`, "m"));
  });

  test("its npm ci installs the lockfile's production tree in a scratch folder, and the native modules load", () => {
    const ci = runs.find((r) => /^npm ci\b/.test(r));
    expect(ci).toBeDefined();
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-image-ci-"));
    try {
      for (const file of ["package.json", "package-lock.json"]) fs.copyFileSync(path.join(REPO_ROOT, file), path.join(scratch, file));
      const args = [...ci!.split(/\s+/).slice(1), "--omit=dev", "--prefer-offline"];
      const installed = spawnSync("npm", args, { cwd: scratch, encoding: "utf8", timeout: 240_000, env: { ...process.env, NODE_ENV: "production" } });
      expect([installed.status, installed.stderr.split("\n").filter((l) => /ERR!/.test(l))]).toEqual([0, []]);
      for (const dev of ["typescript", "jest", "esbuild"]) expect(fs.existsSync(path.join(scratch, "node_modules", dev))).toBe(false);
      const probe = "const Db = require('better-sqlite3'); new Db(':memory:').prepare('select 1').get(); require('argon2'); console.log('native ok');";
      const loaded = spawnSync(process.execPath, ["-e", probe], { cwd: scratch, encoding: "utf8", timeout: 60_000 });
      expect([loaded.status, loaded.stdout.trim(), loaded.stderr]).toEqual([0, "native ok", ""]);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }, 300_000);
});
