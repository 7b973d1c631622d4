#!/usr/bin/env node
// `npm run build [-- --out-dir DIR]`: everything the production server needs, in one directory
// (dist/ by default), so that `npm ci --omit=dev && node dist/src/main.js` serves with no
// devDependency and writes nothing outside BANK_DATA_DIR:
//   DIR/src, DIR/gen                     tsc -p tsconfig.build.json (the server, the generated code)
//   DIR/console/                         the web console, bundled by esbuild (web/ -> index.html + assets/)
//   DIR/swagger-ui/                      the files of swagger-ui-dist the API explorer serves
//   DIR/gen/openapi/bankd.openapi.json   the explorer's OpenAPI document
//   DIR/src/db/migrations/*/             each migration's SQL and migration.json (tsc compiles only
//                                        its data.ts, so the rest is copied beside it)
// At run time the compiled server finds these next to itself and never builds anything.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const root = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out-dir");
const outDir = path.resolve(root, outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : "dist");

execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json"), "--outDir", outDir], { stdio: "inherit", cwd: root });

// The migrations' SQL (src/db/migrations/index.ts reads the folders next to itself at run time).
require("./copy-migrations").copyMigrations(outDir);

// The console is built by the same code the development server uses (compiled just above).
const { buildConsole } = require(path.join(outDir, "src/web/build.js"));
const { SWAGGER_FILES, DOCUMENT } = require(path.join(outDir, "src/web/explorer.js"));
const consoleDir = path.join(outDir, "console");
fs.rmSync(consoleDir, { recursive: true, force: true });

// No source maps in the production build: a server running from dist/ serves none (W12).
buildConsole({ webDir: path.join(root, "web"), distDir: consoleDir, extraSourceDirs: [] }, require("esbuild"), { sourcemap: false }).then(() => {
  const swaggerDir = path.join(outDir, "swagger-ui");
  fs.rmSync(swaggerDir, { recursive: true, force: true });
  fs.mkdirSync(swaggerDir, { recursive: true });
  const swaggerSource = path.dirname(require.resolve("swagger-ui-dist"));
  for (const name of Object.values(SWAGGER_FILES)) fs.copyFileSync(path.join(swaggerSource, name), path.join(swaggerDir, name));
  fs.mkdirSync(path.dirname(path.join(outDir, DOCUMENT)), { recursive: true });
  fs.copyFileSync(path.join(root, DOCUMENT), path.join(outDir, DOCUMENT));
  console.log(`built ${path.relative(root, outDir) || "."}: server, console, API explorer`);
}, (err) => {
  console.error("build: the web console failed to build:", err);
  process.exit(1);
});
