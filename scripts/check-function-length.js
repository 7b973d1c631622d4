// No function body over 70 lines (TIGER_STYLE's limit) in the directories given (default: src and
// web/src). Counted from the body's opening brace to its closing one. Run by `npm run lint`;
// test/foundation/function-length.test.ts shows it failing on a long function.
// Usage: node scripts/check-function-length.js [DIR ...]
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const ts = require("typescript");

const MAX_LINES = 70;

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [full] : [];
  });
}

function longFunctions(file) {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.body.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.body.getEnd()).line;
      const lines = last - first + 1;
      if (lines > MAX_LINES) found.push(`${file}:${first + 1}: ${node.name ? node.name.getText(source) : "(anonymous)"} is ${lines} lines (at most ${MAX_LINES})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const dirs = process.argv.slice(2);
const problems = (dirs.length > 0 ? dirs : ["src", "web/src"]).flatMap((dir) => sources(dir)).flatMap(longFunctions);
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`no function is over ${MAX_LINES} lines`);
