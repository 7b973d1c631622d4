// The web console module: at start, loads the console into memory and serves it at GET / and
// GET /assets/*: the production build's dist/console as it is, else (development) web/dist/,
// built from web/ when that is missing or stale (esbuild, a few hundred milliseconds). A build failure never stops the API: GET / then explains what is missing.
import type { AppContext, AppModule } from "../module";
import type { Logger } from "../logger";
import { buildConsole, consolePaths, isStale, prebuiltConsoleDir } from "./build";
import { loadStaticFiles, staticRoute, type StaticFiles } from "./static-files";

/** One build at a time per process: apps started in parallel (tests) share it. */
let building: Promise<void> | undefined;

export async function webModule(ctx: AppContext): Promise<AppModule> {
  const currencies = [...ctx.config.currencies.values()].map((c) => `${c.code}:${c.exponent}`).join(",");
  const files = await prepareConsole(ctx.logger, currencies);
  return { httpRoutes: [staticRoute(files)] };
}

async function prepareConsole(logger: Logger, currencies: string): Promise<StaticFiles | undefined> {
  // A production build (npm run build) ships the console prebuilt next to the compiled server
  // (dist/console): served as it is, nothing is built or written.
  const prebuilt = prebuiltConsoleDir();
  if (prebuilt) return loadStaticFiles(prebuilt, currencies);
  const paths = consolePaths();
  if (!paths) {
    logger.warn("web console sources (web/) not found; GET / is disabled");
    return undefined;
  }
  if (isStale(paths)) {
    const started = Date.now();
    building ??= buildConsole(paths).finally(() => (building = undefined));
    try {
      await building;
      logger.info({ ms: Date.now() - started, dir: paths.distDir }, "web console built");
    } catch (err) {
      logger.warn({ err }, "web console build failed; serving the previous build if there is one");
    }
  }
  try {
    return loadStaticFiles(paths.distDir, currencies);
  } catch (err) {
    logger.warn({ err }, "web console not available");
    return undefined;
  }
}
