// Copies the migrations' SQL and migration.json (src/db/migrations/*/) next to the compiled
// loader in OUT_DIR/src/db/migrations: tsc compiles only the TypeScript, and the loader
// (src/db/migrations/index.ts) reads the folders next to itself at run time. Used by
// scripts/build.js (npm run build) and by npm run bench, which compiles with tsc itself.
// Usage: node scripts/copy-migrations.js [OUT_DIR]   (default: dist)
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");

function copyMigrations(outDir) {
  const source = path.join(root, "src", "db", "migrations");
  fs.cpSync(source, path.join(outDir, "src", "db", "migrations"), {
    recursive: true,
    filter: (from) => fs.statSync(from).isDirectory() || /\.(sql|json)$/.test(from),
  });
}

module.exports = { copyMigrations };

if (require.main === module) copyMigrations(path.resolve(root, process.argv[2] ?? "dist"));
