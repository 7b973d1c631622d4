// Fails when gen/ is not what `buf generate` makes from proto/ (someone edited gen/ by hand or
// forgot to regenerate): the TypeScript of protoc-gen-es and gen/openapi/ of
// scripts/protoc-gen-openapi alike. Generates into a temporary directory and compares file by file.
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-gen-"));
try {
  execFileSync(path.join(root, "node_modules/.bin/buf"), ["generate", "-o", tmp], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, PATH: `${path.join(root, "node_modules/.bin")}${path.delimiter}${process.env.PATH}` },
  });
  const list = (dir) =>
    fs.readdirSync(dir, { recursive: true }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).map(String).sort();
  const expected = list(path.join(tmp, "gen"));
  const actual = list(path.join(root, "gen"));
  const problems = [];
  for (const f of new Set([...expected, ...actual])) {
    const a = path.join(root, "gen", f);
    const e = path.join(tmp, "gen", f);
    if (!fs.existsSync(a)) problems.push(`missing in gen/: ${f}`);
    else if (!fs.existsSync(e)) problems.push(`not generated from proto/: gen/${f}`);
    else if (!fs.readFileSync(a).equals(fs.readFileSync(e))) problems.push(`differs from generated: gen/${f}`);
  }
  if (problems.length > 0) {
    console.error("gen/ is out of date; run `npm run generate` and commit:\n  " + problems.join("\n  "));
    process.exit(1);
  }
  console.log(`gen/ is up to date (${actual.length} files)`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
