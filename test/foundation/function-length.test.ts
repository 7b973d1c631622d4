// Goal (issue 30, TIGER_STYLE): no function body in src/ or web/src is over 70 lines, checked by
// scripts/check-function-length.js in `npm run lint`. The check is shown to fail on a long one:
// the frozen copy of the first migrations list (test/fixtures/function-migrations.ts), whose
// initialSchema was 141 lines before migrations became folders of SQL.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const root = path.resolve(__dirname, "../..");
const check = (...dirs: string[]) => spawnSync(process.execPath, [path.join(root, "scripts/check-function-length.js"), ...dirs], { cwd: root, encoding: "utf8", timeout: 60_000 });

test("src/ and web/src hold no function over 70 lines", () => {
  const run = check();
  expect([run.status, run.stdout.trim(), run.stderr]).toEqual([0, "no function is over 70 lines", ""]);
});

test("the check fails on a function over 70 lines, naming its place and length", () => {
  const run = check("test/fixtures");
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/^test\/fixtures\/function-migrations\.ts:\d+: initialSchema is 141 lines \(at most 70\)$/m);
});
