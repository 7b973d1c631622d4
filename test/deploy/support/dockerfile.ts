// A Dockerfile read the way `docker build` reads it, and its steps replayed without a Docker
// engine (none is reachable here): each stage's filesystem is a directory standing for "/",
// WORKDIR and COPY (from the build context filtered by .dockerignore, or --from another stage)
// act on it, RUN runs its shell command in the stage's WORKDIR with the stage's ENV. What needs a
// registry cannot run: `apt-get` steps are skipped, and `npm ci` is replaced by a hard-linked
// copy of the repository's node_modules (installed by `npm ci` from the same lockfile, which the
// replay checks is the one the step copied). Everything else runs for real, so a wrong COPY
// source, a missing file or a failing command fails the replay.
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  args: Map<string, string>;
  stages: Stage[];
}

/** Logical lines (continuations joined, comments dropped) split into stages. */
export function parseDockerfile(text: string): Dockerfile {
  const logical: { text: string; line: number }[] = [];
  let current = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (current === "" && (line.trim() === "" || line.trim().startsWith("#"))) return;
    if (current !== "" && line.trim().startsWith("#")) return;
    if (current === "") start = i + 1;
    if (line.endsWith("\\")) {
      current += line.slice(0, -1) + " ";
      return;
    }
    logical.push({ text: (current + line).trim(), line: start });
    current = "";
  });
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const { text: l, line } of logical) {
    const match = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!match) throw new Error(`Dockerfile line ${line}: cannot parse ${JSON.stringify(l)}`);
    const keyword = match[1]!.toUpperCase();
    const rest = match[2]!.trim();
    if (keyword === "ARG" && stages.length === 0) {
      const [name, value = ""] = rest.split("=", 2) as [string, string?];
      args.set(name, value);
      continue;
    }
    if (keyword === "FROM") {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`Dockerfile line ${line}: bad FROM`);
      stages.push({ image: from[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get((a ?? b)!) ?? ""), name: from[2], instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${line}: ${keyword} before FROM`);
    stages[stages.length - 1]!.instructions.push({ keyword, args: rest, line });
  }
  return { args, stages };
}

/** ENV K=V K2="V 2" (and the legacy ENV K V). */
export function parseEnv(args: string): [string, string][] {
  if (!/^\w+=/.test(args)) {
    const [name, ...value] = args.split(/\s+/);
    return [[name!, value.join(" ")]];
  }
  const pairs: [string, string][] = [];
  for (const m of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) pairs.push([m[1]!, m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!]);
  return pairs;
}

/** Options (--from=build) and the remaining words of a COPY. */
export function parseCopy(args: string): { options: Map<string, string>; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const options = new Map<string, string>();
  while (words[0]?.startsWith("--")) {
    const [name, value = ""] = words.shift()!.slice(2).split("=", 2) as [string, string?];
    options.set(name, value);
  }
  if (words.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  const dest = words.pop()!;
  return { options, sources: words, dest };
}

/** An exec-form instruction's JSON array, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) throw new Error(`not an exec-form array: ${args}`);
  return parsed;
}

/** HEALTHCHECK [--opt=value ...] CMD [...] */
export function parseHealthcheck(args: string): { options: Map<string, string>; command: string[] | undefined } {
  const match = /^((?:--\S+\s+)*)CMD\s+([\s\S]+)$/.exec(args);
  if (!match) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  const options = new Map<string, string>();
  for (const o of match[1]!.trim().split(/\s+/).filter((w) => w !== "")) {
    const [name, value = ""] = o.slice(2).split("=", 2) as [string, string?];
    options.set(name, value);
  }
  return { options, command: execForm(match[2]!.trim()) };
}

/** .dockerignore: the last matching pattern decides; `!` re-includes. */
export function dockerignore(text: string): (relPath: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, "");
      const source = pattern
        .split("/")
        .map((part) => (part === "**" ? "(?:.*)" : part.replace(/[.+^$()|{}[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")))
        .join("/");
      // A pattern naming a directory covers everything under it.
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (relPath: string) => {
    let excluded = false;
    for (const rule of rules) if (rule.regex.test(relPath)) excluded = !rule.negate;
    return excluded;
  };
}

export interface ReplayOptions {
  repoRoot: string;
  workDir: string;
  /** Notes of what was skipped or substituted. */
  notes: string[];
}

export interface StageResult {
  stage: Stage;
  /** The directory standing for the stage's "/". */
  root: string;
  workdir: string;
  env: Map<string, string>;
  user: string | undefined;
  /** Destinations COPY gave an owner (--chown), image paths. */
  chowned: Map<string, string>;
}

/** Copies the files of the repository the build context holds (.dockerignore applied). */
export function buildContext(repoRoot: string, into: string): void {
  const ignored = dockerignore(fs.readFileSync(path.join(repoRoot, ".dockerignore"), "utf8"));
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(repoRoot, rel), { withFileTypes: true })) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.name === ".git" || entry.name === "node_modules") continue;
      if (entry.isDirectory()) walk(child);
      else if (!ignored(child)) {
        fs.mkdirSync(path.dirname(path.join(into, child)), { recursive: true });
        fs.copyFileSync(path.join(repoRoot, child), path.join(into, child));
      }
    }
  };
  walk("");
}

/** Replays every stage; returns them in order. */
export function replay(file: Dockerfile, opts: ReplayOptions): StageResult[] {
  const context = path.join(opts.workDir, "context");
  fs.mkdirSync(context, { recursive: true });
  buildContext(opts.repoRoot, context);
  const results: StageResult[] = [];
  file.stages.forEach((stage, index) => {
    const root = path.join(opts.workDir, `stage-${index}`);
    fs.mkdirSync(root, { recursive: true });
    const result: StageResult = { stage, root, workdir: "/", env: new Map(), user: undefined, chowned: new Map() };
    const inImage = (p: string) => path.join(root, path.posix.resolve(result.workdir, p));
    for (const ins of stage.instructions) {
      const where = `Dockerfile line ${ins.line}: ${ins.keyword} ${ins.args}`;
      switch (ins.keyword) {
        case "WORKDIR":
          result.workdir = path.posix.resolve(result.workdir, ins.args);
          fs.mkdirSync(inImage("."), { recursive: true });
          break;
        case "ENV":
          for (const [k, v] of parseEnv(ins.args)) result.env.set(k, v);
          break;
        case "USER":
          result.user = ins.args;
          break;
        case "COPY": {
          const { options, sources, dest } = parseCopy(ins.args);
          const from = options.get("from");
          let sourceRoot = context;
          if (from !== undefined) {
            const other = results.find((r) => r.stage.name === from);
            if (!other) throw new Error(`${where}: no earlier stage named ${from}`);
            sourceRoot = other.root;
          }
          const target = inImage(dest);
          const intoDir = dest.endsWith("/") || sources.length > 1;
          for (const source of sources) {
            const resolved = from !== undefined ? path.join(sourceRoot, path.posix.resolve("/", source)) : path.join(sourceRoot, source);
            if (!fs.existsSync(resolved)) throw new Error(`${where}: ${source} is not in ${from !== undefined ? `stage ${from}` : "the build context (.dockerignore?)"}`);
            const stat = fs.statSync(resolved);
            const to = stat.isDirectory() ? target : intoDir ? path.join(target, path.basename(source)) : target;
            fs.mkdirSync(stat.isDirectory() ? to : path.dirname(to), { recursive: true });
            // Between stages: hard links (node_modules is large; nothing changes it afterwards).
            if (stat.isDirectory()) execFileSync("cp", [from !== undefined ? "-al" : "-a", `${resolved}/.`, to]);
            else fs.copyFileSync(resolved, to);
          }
          if (options.has("chown")) result.chowned.set(path.posix.resolve(result.workdir, dest), options.get("chown")!);
          break;
        }
        case "RUN": {
          const command = ins.args;
          if (execForm(command)) throw new Error(`${where}: the replay runs shell-form RUN only`);
          if (/\bapt-get\b/.test(command)) {
            opts.notes.push(`skipped (needs the Debian archive): line ${ins.line}: RUN ${command}`);
            break;
          }
          if (/(^|\s)\/\w/.test(command)) throw new Error(`${where}: absolute paths in RUN cannot be replayed; use paths relative to WORKDIR`);
          if (/^npm ci\b/.test(command)) {
            const lock = inImage("package-lock.json");
            if (!fs.existsSync(lock) || !fs.readFileSync(lock).equals(fs.readFileSync(path.join(opts.repoRoot, "package-lock.json")))) {
              throw new Error(`${where}: npm ci needs the repository's package-lock.json copied into WORKDIR first`);
            }
            execFileSync("cp", ["-al", path.join(opts.repoRoot, "node_modules"), inImage("node_modules")]);
            const hidden = inImage("node_modules/.package-lock.json");
            fs.rmSync(hidden, { force: true });
            fs.copyFileSync(path.join(opts.repoRoot, "node_modules/.package-lock.json"), hidden);
            opts.notes.push(`substituted (needs the npm registry): line ${ins.line}: RUN ${command} -> hard-linked copy of the repository's node_modules (npm ci of the same lockfile)`);
            break;
          }
          execFileSync("sh", ["-c", command], {
            cwd: inImage("."),
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...Object.fromEntries(result.env) },
            stdio: ["ignore", "pipe", "pipe"],
            maxBuffer: 64 * 1024 * 1024,
          });
          break;
        }
        case "EXPOSE":
        case "VOLUME":
        case "STOPSIGNAL":
        case "HEALTHCHECK":
        case "ENTRYPOINT":
        case "CMD":
        case "LABEL":
        case "ARG":
          break; // Metadata: checked by the test, used when the image runs.
        default:
          throw new Error(`${where}: the replay does not know ${ins.keyword}`);
      }
    }
    results.push(result);
  });
  return results;
}

/** The last value of a metadata instruction in a stage. */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return [...stage.instructions].reverse().find((i) => i.keyword === keyword);
}
