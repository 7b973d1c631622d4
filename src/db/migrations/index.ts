// Schema migrations as folders, applied at start and by `bankd migrate` (docs/architecture.md,
// "Migrations"). Each folder of this directory is one migration, applied in name order and
// recorded in schema_migrations under its folder name (NNNN_name). A folder holds:
//
//   up.sql                           its SQL when it is the same on both engines, or else
//   up.sqlite.sql, up.postgres.sql   its SQL for each engine (never with up.sql);
//   migration.json                   optional: {"nonTransactionalOn": ["sqlite"], "why": "..."}
//                                    runs it outside the migration transaction on those engines
//                                    (the only other key is "why", which must say why);
//   data.ts                          optional: `export async function up(step: DataStep)`, code
//                                    run after the SQL, in the same transaction, for the rare
//                                    migration that must compute what it writes.
//
// SQL files: a statement ends with `;` at the end of a line; lines that start with `--` are
// comments and are dropped. A `;` that ends a line inside a statement (a string, a trigger body)
// is therefore not allowed (the split would cut the statement there). No placeholders: where the
// engines differ (an identity column, the clock), each engine's file spells its own SQL.
//
// Append new migrations with the next number; never edit one that has shipped (databases record
// the names, and test/foundation/migrations.test.ts pins the shipped ones to their first form).
import * as fs from "node:fs";
import * as path from "node:path";
import type { MigrationObject } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";
import type { Dialect } from "../engine";

/** The folder of the shipped migrations (next to this module, in src/ and in the build). */
export const MIGRATIONS_DIR = __dirname;

const DIALECTS: readonly Dialect[] = ["sqlite", "postgres"];
const FOLDER_NAME = /^\d{4}_[a-z0-9_]+$/;
const KNOWN_FILE = /^(up\.sql|up\.sqlite\.sql|up\.postgres\.sql|migration\.json|data\.(ts|js)(\.map)?)$/;

/** What a data.ts step gets: the engine, and statements run in the migration's own transaction. */
export interface DataStep {
  dialect: Dialect;
  execute(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
}

/** One migration folder, read for one engine. */
export interface FolderMigration {
  name: string;
  statements: string[];
  transactional: boolean;
  data?: (step: DataStep) => Promise<void>;
}

/** Splits a SQL file into statements: `--` comment lines dropped, a statement ends with `;` at
 * the end of a line. */
export function splitStatements(text: string): string[] {
  const lines = text.split(/\r?\n/).filter((line) => !/^\s*--/.test(line));
  return lines.join("\n").split(/;[ \t]*(?:\n|$)/).map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The migrations of `dir` for one engine, in name order. Throws on a folder it cannot read
 * unambiguously (a misnamed folder or file, up.sql beside an engine's file, an engine missing). */
export function readMigrations(dialect: Dialect, dir: string = MIGRATIONS_DIR): FolderMigration[] {
  const folders = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  // A build that compiled the loader but did not copy the folders would start on an empty schema.
  if (folders.length === 0) throw new Error(`no migration folders in ${dir}: a build must copy src/db/migrations/*/ next to the compiled loader (scripts/copy-migrations.js)`);
  return folders.map((name) => readFolder(dialect, dir, name));
}

function readFolder(dialect: Dialect, dir: string, name: string): FolderMigration {
  const folder = path.join(dir, name);
  const fail = (why: string): never => {
    throw new Error(`migration ${name} (${folder}): ${why}`);
  };
  if (!FOLDER_NAME.test(name)) fail("a migration folder is named NNNN_name (four digits, lower-case words)");
  const files = fs.readdirSync(folder);
  const unknown = files.filter((f) => !KNOWN_FILE.test(f));
  if (unknown.length > 0) fail(`unknown file(s) ${unknown.join(", ")}`);
  const has = (f: string) => files.includes(f);
  const perEngine = DIALECTS.filter((d) => has(`up.${d}.sql`));
  if (has("up.sql") && perEngine.length > 0) fail("up.sql and an engine's up.<engine>.sql together");
  if (perEngine.length > 0 && perEngine.length < DIALECTS.length) fail(`up.${DIALECTS.find((d) => !perEngine.includes(d))}.sql is missing`);
  const sqlFile = has("up.sql") ? "up.sql" : perEngine.length > 0 ? `up.${dialect}.sql` : undefined;
  const hasData = files.some((f) => /^data\.(ts|js)$/.test(f));
  if (!sqlFile && !hasData) fail("no up.sql, up.<engine>.sql or data.ts");
  const statements = sqlFile ? splitStatements(fs.readFileSync(path.join(folder, sqlFile), "utf8")) : [];
  let transactional = true;
  if (has("migration.json")) {
    const options = JSON.parse(fs.readFileSync(path.join(folder, "migration.json"), "utf8")) as Record<string, unknown>;
    const extra = Object.keys(options).filter((k) => k !== "nonTransactionalOn" && k !== "why");
    if (extra.length > 0) fail(`migration.json: unknown key(s) ${extra.join(", ")}`);
    const on = options.nonTransactionalOn;
    if (!Array.isArray(on) || !on.every((d) => DIALECTS.includes(d as Dialect))) fail(`migration.json: nonTransactionalOn lists engines (${DIALECTS.join(", ")})`);
    if (typeof options.why !== "string" || options.why.trim() === "") fail("migration.json: \"why\" says why it runs outside a transaction");
    transactional = !(on as string[]).includes(dialect);
  }
  let data: FolderMigration["data"];
  if (hasData) {
    // Resolved as data.ts under tsx and jest, data.js in the build.
    const step = require(path.join(folder, "data")) as { up?: unknown };
    if (typeof step.up !== "function") fail("data.ts exports no up(step) function");
    data = step.up as FolderMigration["data"];
  }
  return { name, statements, transactional, data };
}

/** A folder migration as MikroORM's migrator runs it: the statements in order, then the data
 * step, all in the migration's transaction unless it is non-transactional on this engine. */
function toMikroOrm(dialect: Dialect, m: FolderMigration): MigrationObject {
  class FolderSqlMigration extends Migration {
    override async up(): Promise<void> {
      for (const sql of m.statements) await this.execute(sql);
      await m.data?.({ dialect, execute: (sql, params) => this.execute(sql, params) as Promise<Record<string, unknown>[]> });
    }

    override isTransactional(): boolean {
      return m.transactional;
    }
  }
  return { name: m.name, class: FolderSqlMigration };
}

/** MikroORM's migrationsList for one engine: the folders of `dir` (the shipped ones by default). */
export function migrationsFor(dialect: Dialect, dir: string = MIGRATIONS_DIR): MigrationObject[] {
  return readMigrations(dialect, dir).map((m) => toMikroOrm(dialect, m));
}
