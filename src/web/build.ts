// Builds the web console (web/) into web/dist/ with esbuild's JS API. web/dist/ is not committed,
// so the development server (`npm start`) builds it at start when it is missing or older than its
// sources: a fresh clone needs no separate build step. `npm run build` (scripts/build.js) builds
// it once into dist/console for production, where nothing is built at start. Files are written atomically (temporary file +
// rename) and named by content hash, so processes building at the same time cannot serve a
// half-written file, and index.html (written last) only ever names assets that exist.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

export interface ConsolePaths {
  /** web/: index.html, src/, tsconfig.json. */
  webDir: string;
  /** web/dist/: index.html and assets/. */
  distDir: string;
  /** Other source trees the bundle includes (gen/), for the staleness check. */
  extraSourceDirs: string[];
}

/** The console `npm run build` put next to the compiled server (dist/console, from
 * dist/src/web), if this is such a build; under tsx (src/web) there is none. */
export function prebuiltConsoleDir(): string | undefined {
  const dir = path.resolve(__dirname, "../../console");
  return fs.existsSync(path.join(dir, "index.html")) ? dir : undefined;
}

/** Finds web/ from this file, both under tsx (src/web) and compiled (dist/src/web). */
export function consolePaths(): ConsolePaths | undefined {
  for (const up of ["../..", "../../.."]) {
    const root = path.resolve(__dirname, up);
    const webDir = path.join(root, "web");
    if (fs.existsSync(path.join(webDir, "index.html"))) {
      return { webDir, distDir: path.join(webDir, "dist"), extraSourceDirs: [path.join(root, "gen"), __dirname] };
    }
  }
  return undefined;
}

/** True when web/dist/index.html is missing or older than any source file. */
export function isStale(paths: ConsolePaths): boolean {
  let builtMs: number;
  try {
    builtMs = fs.statSync(path.join(paths.distDir, "index.html")).mtimeMs;
  } catch {
    return true;
  }
  const sources = [path.join(paths.webDir, "index.html"), path.join(paths.webDir, "tsconfig.json"), path.join(paths.webDir, "src"), ...paths.extraSourceDirs];
  return sources.some((source) => newestMtimeMs(source) > builtMs);
}

function newestMtimeMs(target: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(target)) newest = Math.max(newest, newestMtimeMs(path.join(target, entry)));
  return newest;
}

/** Bundles web/src into hashed assets and writes web/dist/index.html naming them. */
export async function buildConsole(paths: ConsolePaths, esbuildModule?: typeof import("esbuild"), opts: { sourcemap?: boolean } = {}): Promise<void> {
  // Loaded here, not at the top: a production install without dev dependencies can still serve a
  // console built beforehand. The production build passes the repository's own (it compiles this
  // file into a directory that may have no node_modules).
  const esbuild = esbuildModule ?? (await import("esbuild"));
  const assetsDir = path.join(paths.distDir, "assets");
  // The build runs once per start: stop esbuild's helper process afterwards instead of keeping it.
  const result = await esbuild.build({
    absWorkingDir: paths.webDir,
    entryPoints: { app: path.join(paths.webDir, "src/main.ts"), style: path.join(paths.webDir, "src/styles.css") },
    entryNames: "[name]-[hash]",
    outdir: assetsDir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    // No source maps unless asked for (security W12): the development server (`npm start`) is
    // reachable like any other, and served the console's 1 MB map to anyone (issue 26).
    sourcemap: opts.sourcemap === true ? "linked" : false,
    legalComments: "none",
    tsconfig: path.join(paths.webDir, "tsconfig.json"),
    metafile: true,
    write: false,
    logLevel: "silent",
  }).finally(() => esbuild.stop());
  fs.mkdirSync(assetsDir, { recursive: true });
  const names: string[] = [];
  for (const file of result.outputFiles) {
    writeAtomically(file.path, file.contents);
    names.push(path.basename(file.path));
  }
  const js = names.find((n) => /^app-.*\.js$/.test(n));
  const css = names.find((n) => /^style-.*\.css$/.test(n));
  if (!js || !css) throw new Error(`esbuild produced no app bundle or stylesheet: ${names.join(", ")}`);
  const template = fs.readFileSync(path.join(paths.webDir, "index.html"), "utf8");
  const html = template.replace("%APP_JS%", `/assets/${js}`).replace("%APP_CSS%", `/assets/${css}`);
  writeAtomically(path.join(paths.distDir, "index.html"), Buffer.from(html, "utf8"));
  pruneAssets(assetsDir, new Set(names));
}

function writeAtomically(file: string, contents: Uint8Array): void {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  fs.writeFileSync(temporary, contents);
  fs.renameSync(temporary, file);
}

/** Removes assets of earlier builds (not temporary files of a build running elsewhere). */
function pruneAssets(assetsDir: string, keep: Set<string>): void {
  for (const name of fs.readdirSync(assetsDir)) {
    if (keep.has(name) || name.endsWith(".tmp")) continue;
    fs.rmSync(path.join(assetsDir, name), { force: true });
  }
}
