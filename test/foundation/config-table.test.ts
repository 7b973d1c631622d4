// Goal (issue 30): the README's configuration table is the declaration itself. Every variable
// bankd reads is declared once (src/config-variables.ts: type and bounds, default, error text,
// meaning); the table between the config-table markers in README.md is generated from it, and
// every BANK_* variable the source reads is declared. Regenerate with:
//   node --import tsx -e 'console.log(require("./src/config-variables").configurationTable())'
import * as fs from "node:fs";
import * as path from "node:path";
import { configurationTable, VARIABLES } from "../../src/config-variables";
import { ConfigError, loadConfig } from "../../src/config";

test("README's configuration table equals the one generated from the declarations", () => {
  const readme = fs.readFileSync("README.md", "utf8");
  const table = /<!-- config-table:start[^>]*-->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme)?.[1];
  expect(table).toBe(configurationTable());
});

test("every BANK_* variable the source reads is declared, and every declared one is read", () => {
  const sources = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
  const code = sources("src").filter((f) => !f.endsWith("config-variables.ts")).map((f) => fs.readFileSync(f, "utf8")).join("\n");
  // Read where the environment is: env["BANK_X"], vars.raw("BANK_X"), vars.read("BANK_X"), vars.unset("BANK_X").
  const read = new Set([...code.matchAll(/(?:\.(?:raw|read|unset)\(|env\[|process\.env\.)"?(BANK_[A-Z0-9_]+)/g)].map((m) => m[1]!));
  const declared = Object.keys(VARIABLES);
  // Set by `serve` for the worker processes it forks (src/workers.ts), never by a person.
  const internal = ["BANK_WORKER_INDEX"];
  expect([...read].filter((name) => !declared.includes(name) && !internal.includes(name)).sort()).toEqual([]);
  expect(declared.filter((name) => !read.has(name)).sort()).toEqual([]);
});

test("each declared bound is enforced with its own error text, naming the variable and the value (a secret's value is never echoed)", () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };
  expect(problems({ BANK_WORKERS: "0" })).toEqual([expect.stringMatching(/^BANK_WORKERS="0" is invalid: set it to an integer from 1 to \d+\.$/)]);
  expect(problems({ BANK_ACCESS_TOKEN_TTL_SECONDS: "29" })).toEqual(['BANK_ACCESS_TOKEN_TTL_SECONDS="29" is invalid: set it to an integer from 30 to 86400.']);
  expect(problems({ BANK_TRUST_PROXY: "yes" })).toEqual(['BANK_TRUST_PROXY="yes" is invalid: set it to true (behind your own proxy) or false.']);
  expect(loadConfig({ BANK_TRUST_PROXY: "true" }).trustProxy).toBe(true);
  expect(loadConfig({}).trustProxy).toBe(false);
  expect(problems({ BANK_METRICS_TOKEN: "short secret" })).toEqual(["BANK_METRICS_TOKEN is invalid: set it to 16 to 256 printable characters without spaces (a long random string)."]);
  expect(loadConfig({ BANK_METRICS_TOKEN: "a".repeat(16) }).metricsToken).toBe("a".repeat(16));
  expect(loadConfig({}).metricsToken).toBeUndefined();
});
