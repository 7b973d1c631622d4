// Goal: the console's TypeScript (web/src, bundled by esbuild, which does not type-check) stays
// type-correct against the generated code in gen/, under the project's strict settings.
import * as path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

test("tsc --noEmit -p web is clean", async () => {
  const result = await run(path.resolve("node_modules/.bin/tsc"), ["--noEmit", "-p", "web"]).catch((err: { stdout?: string; code?: number }) => err);
  expect("stdout" in result ? result.stdout : "").toBe("");
}, 120_000);
