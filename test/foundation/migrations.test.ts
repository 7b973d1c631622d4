// Goal: the migrations as folders (src/db/migrations/NNNN_name/, read by its index.ts) are the
// migrations databases already carry, and each one that moves data keeps every row:
// - the folders hold the recorded names, in order, and each folder's statements are, statement
//   for statement, those of the function-based list they replace (test/fixtures/
//   function-migrations.ts, the release before folders, frozen); 0005 alone runs outside a
//   transaction, on SQLite only;
// - both lists build the same schema (sqlite_master; information_schema and pg_catalog);
// - a database made by the function-based list, with rows, is upgraded by the folders without
//   re-applying anything (the names match), its rows unchanged and its schema diff empty; one
//   made up to 0006 gets exactly 0007..0010 from the folders;
// - data-moving migrations: 0005 (SQLite rebuilds every table by copy) keeps every row of every
//   table, values beyond 2^53 included; 0007 gives existing accounts shard 0, default limits and
//   nothing used, and the settlement index then allows one account per currency and shard;
//   0010 ends the live sessions of staff only;
// - the hostile side of the loader: a misnamed folder or file, up.sql beside an engine's file, an
//   engine's file missing, a migration.json without its reason, are refused naming the folder; a
//   data.ts step runs after its SQL, in its transaction (a throwing step rolls the SQL back).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Database } from "../../src/db/database";
import { entities } from "../../src/db/entities";
import { MIGRATIONS_DIR, migrationsFor, readMigrations, splitStatements } from "../../src/db/migrations";
import { uuidv7 } from "../../src/util/ids";
import { migrationsFor as functionMigrationsFor } from "../fixtures/function-migrations";
import { createTestDatabase, engines, type Engine, type TestDatabase } from "../support/db";

const RECORDED = ["0001_initial_schema", "0004_audit", "0005_orm_schema", "0006_server_secrets", "0007_settlement_shards_daily_limits",
  "0008_incoming_daily_limit", "0009_service_accounts", "0010_second_factor"];

/** The statements a function-based migration queues (it only calls addSql in up()). */
async function functionStatements(engine: Engine): Promise<{ name: string; statements: string[]; transactional: boolean }[]> {
  return Promise.all(functionMigrationsFor(engine).map(async (m) => {
    const migration = new m.class({} as never, {} as never);
    await migration.up();
    return { name: m.name, statements: migration.getQueries().map((q) => String(q).trim()), transactional: migration.isTransactional() };
  }));
}

const squash = (sql: string) => sql.replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")").trim();

/** A database of the test, opened with the given migrations (the folders by default). */
async function open(tdb: TestDatabase, migrations?: "function-based"): Promise<Database> {
  return Database.open(tdb.config, undefined, migrations ? { migrations: functionMigrationsFor(tdb.engine) } : {});
}

async function withDatabase<T>(engine: Engine, fn: (tdb: TestDatabase) => Promise<T>): Promise<T> {
  const tdb = await createTestDatabase(engine);
  try {
    return await fn(tdb);
  } finally {
    await tdb.drop();
  }
}

/** The schema as the engine describes it, whitespace-insensitive, sorted. */
async function schemaDump(db: Database): Promise<string[]> {
  if (db.dialect === "sqlite") {
    const rows = await db.read((tx) => tx.all<{ type: string; name: string; tbl_name: string; sql: string | null }>(
      `SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`));
    return rows.map((r) => `${r.type} ${r.name} on ${r.tbl_name}: ${squash(r.sql ?? "")}`);
  }
  const rows = await db.read(async (tx) => [
    ...(await tx.all<Record<string, unknown>>(`SELECT 'column' AS kind, table_name, column_name, data_type, is_nullable, column_default, is_identity
      FROM information_schema.columns WHERE table_schema = 'public'`)),
    ...(await tx.all<Record<string, unknown>>(`SELECT 'constraint' AS kind, conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS def
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace`)),
    ...(await tx.all<Record<string, unknown>>(`SELECT 'index' AS kind, tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'`)),
    ...(await tx.all<Record<string, unknown>>(`SELECT 'sequence' AS kind, sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = 'public'`)),
  ]);
  return rows.map((r) => JSON.stringify(r)).sort();
}

async function tablesOf(db: Database): Promise<string[]> {
  const rows = db.dialect === "sqlite"
    ? await db.read((tx) => tx.all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`))
    : await db.read((tx) => tx.all<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations'`));
  return rows.map((r) => r.name).sort();
}

async function columnsOf(db: Database, table: string): Promise<string[]> {
  const rows = db.dialect === "sqlite"
    ? await db.read((tx) => tx.all<{ name: string }>(`SELECT name FROM pragma_table_info(?)`, [table]))
    : await db.read((tx) => tx.all<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ?`, [table]));
  return rows.map((r) => r.name).sort();
}

/** Every row of the given tables (every table but schema_migrations by default), each value read
 * as text (exact beyond 2^53), rows sorted: for "nothing changed" comparisons. */
async function rowsOf(db: Database, tables?: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of tables ?? await tablesOf(db)) {
    const columns = await columnsOf(db, table);
    const rows = await db.read((tx) => tx.all<Record<string, string | null>>(`SELECT ${columns.map((c) => `CAST(${c} AS TEXT) AS ${c}`).join(", ")} FROM ${table}`));
    out[table] = rows.map((r) => JSON.stringify(columns.map((c) => [c, r[c]]))).sort();
  }
  return out;
}

async function recorded(db: Database): Promise<{ name: string; executed_at: string }[]> {
  return db.read((tx) => tx.all<{ name: string; executed_at: string }>(`SELECT name, CAST(executed_at AS TEXT) AS executed_at FROM schema_migrations ORDER BY id`));
}

async function schemaDiff(db: Database): Promise<string> {
  return (await db.orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true })).trim();
}

const BIG = "9007199254740993";

/** Rows in every table the first four migrations make (0001, 0004), with money beyond 2^53. */
async function insertEarlyRows(db: Database): Promise<{ customer: string; staff: string; account: string }> {
  const [customer, staff, account, settlement, tx, hold] = [uuidv7(), uuidv7(), uuidv7(), uuidv7(), uuidv7(), uuidv7()];
  await db.transaction(async (t) => {
    for (const [id, roles] of [[customer, "CUSTOMER"], [staff, "CUSTOMER,TELLER"]]) {
      await t.run(`INSERT INTO users (id, email, full_name, password_hash, roles, disabled, create_time, update_time) VALUES (?, ?, 'Old', 'h', ?, 0, 1, 2)`, [id, `${id}@example.test`, roles]);
      await t.run(`INSERT INTO sessions (id, user_id, user_agent, client_address, create_time, last_used_time, expire_time) VALUES (?, ?, 'ua', '10.0.0.1', 1, 2, ?)`, [`s-${id}`, id, Date.now() + 86_400_000]);
      await t.run(`INSERT INTO refresh_tokens (token_hash, session_id, create_time, expire_time, used_time) VALUES (?, ?, 1, 2, NULL)`, [`h-${id}`, `s-${id}`]);
    }
    await t.run(`INSERT INTO sessions (id, user_id, user_agent, client_address, create_time, last_used_time, expire_time, revoked_time, revoke_reason) VALUES (?, ?, '', '', 1, 1, 9, 5, 'signed out')`, [`gone-${staff}`, staff]);
    await t.run(`INSERT INTO login_throttle (throttle_key, failures, window_start, blocked_until) VALUES ('addr:10.0.0.1', 3, 1, 2)`);
    await t.run(`INSERT INTO accounts (id, number, owner_id, kind, currency, account_type, status, display_name, balance, held, overdraft_limit, entry_count, version, create_time, update_time)
                 VALUES (?, '10000000000001', ?, 'CUSTOMER', 'USD', 'CHECKING', 'ACTIVE', 'Old', ${BIG}, 7, 0, 1, 3, 1, 2)`, [account, customer]);
    await t.run(`INSERT INTO accounts (id, number, owner_id, kind, currency, account_type, status, display_name, balance, entry_count, create_time, update_time)
                 VALUES (?, '00000030281319', NULL, 'SETTLEMENT', 'USD', 'CHECKING', 'ACTIVE', 'Settlement USD', -${BIG}, 1, 1, 1)`, [settlement]);
    await t.run(`INSERT INTO transactions (id, tx_type, status, currency, amount, from_account_id, to_account_id, description, request_id, initiated_by, create_time, update_time)
                 VALUES (?, 'DEPOSIT', 'POSTED', 'USD', ${BIG}, ?, ?, 'funding', 'r1', ?, 1, 1)`, [tx, settlement, account, customer]);
    await t.run(`INSERT INTO transactions (id, tx_type, status, currency, amount, from_account_id, to_account_id, description, request_id, initiated_by, expire_time, create_time, update_time)
                 VALUES (?, 'HOLD', 'PENDING', 'USD', 7, ?, NULL, 'hold', 'r2', ?, 99, 1, 1)`, [hold, account, customer]);
    await t.run(`INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) VALUES (?, ?, 1, ${BIG}, ${BIG}, 1)`, [tx, account]);
    await t.run(`INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) VALUES (?, ?, 1, -${BIG}, -${BIG}, 1)`, [tx, settlement]);
    await t.run(`INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time) VALUES (?, 'm', 'r1', 'h', '{}', '{"ok":true}', 1)`, [customer]);
    await t.run(`INSERT INTO audit_events (id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details, seq, prev_hash, hash)
                 VALUES ('e1', 1, ?, 'Deposit', ?, 'OK', '10.0.0.1', 'r1', '{}', 1, '00', 'ab')`, [customer, account]);
    await t.run(`INSERT INTO audit_events (id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details)
                 VALUES ('e2', 2, ?, 'Transfer', ?, 'OK', '10.0.0.1', 'r3', '{}')`, [customer, account]);
    await t.run(`UPDATE audit_chain_head SET seq = 1, hash = 'ab' WHERE id = 1`);
  });
  return { customer, staff, account };
}

describe.each(["sqlite", "postgres"] as const)("the migration folders for %s (no database)", (engine) => {
  test("hold the recorded names in order, each statement for statement the function-based one's; 0005 is non-transactional on SQLite only", async () => {
    const folders = readMigrations(engine);
    const before = await functionStatements(engine);
    expect(folders.map((m) => m.name)).toEqual(RECORDED);
    expect(before.map((m) => m.name)).toEqual(RECORDED);
    for (const [i, m] of folders.entries()) {
      expect({ name: m.name, statements: m.statements.map(squash), transactional: m.transactional })
        .toEqual({ name: before[i]!.name, statements: before[i]!.statements.map(squash), transactional: before[i]!.transactional });
      expect(m.data).toBeUndefined();
    }
    expect(folders.filter((m) => !m.transactional).map((m) => m.name)).toEqual(engine === "sqlite" ? ["0005_orm_schema"] : []);
  });
});

describe("reading migration folders (the hostile side)", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-migr-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const folder = (name: string, files: Record<string, string>) => {
    fs.mkdirSync(path.join(dir, name));
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name, file), text);
  };

  test("statements end with ; at a line's end; comment lines go; a ; inside a line stays", () => {
    expect(splitStatements("-- head; comment;\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n\n  -- between\nINSERT INTO a VALUES ('c');   \r\nSELECT 1")).toEqual([
      "CREATE TABLE a (x TEXT DEFAULT 'a;b')", "INSERT INTO a VALUES ('c')", "SELECT 1",
    ]);
    expect(splitStatements("-- only a comment;\n\n")).toEqual([]);
  });

  test("folders are read in name order, the engine's file where the engines differ", () => {
    folder("0002_b", { "up.sqlite.sql": "SELECT 'sqlite';\n", "up.postgres.sql": "SELECT 'postgres';\n" });
    folder("0001_a", { "up.sql": "SELECT 1;\nSELECT 2;\n" });
    fs.writeFileSync(path.join(dir, "README.txt"), "files beside the folders are not migrations");
    expect(readMigrations("postgres", dir).map((m) => [m.name, m.statements])).toEqual([["0001_a", ["SELECT 1", "SELECT 2"]], ["0002_b", ["SELECT 'postgres'"]]]);
    expect(readMigrations("sqlite", dir)[1]!.statements).toEqual(["SELECT 'sqlite'"]);
  });

  test("a folder with no migration at all is refused (a build that compiled the loader but did not copy the SQL)", () => {
    fs.writeFileSync(path.join(dir, "index.js"), "// the compiled loader, alone");
    expect(() => readMigrations("sqlite", dir)).toThrow(/no migration folders in .*scripts\/copy-migrations\.js/);
  });

  test.each([
    ["a misnamed folder", "1_a", { "up.sql": "SELECT 1;" }, /NNNN_name/],
    ["a misspelt engine file", "0001_a", { "up.sql": "SELECT 1;", "up.postgresql.sql": "SELECT 1;" }, /unknown file\(s\) up\.postgresql\.sql/],
    ["up.sql beside an engine's file", "0001_a", { "up.sql": "SELECT 1;", "up.sqlite.sql": "SELECT 1;" }, /up\.sql and an engine's/],
    ["an engine's file missing", "0001_a", { "up.sqlite.sql": "SELECT 1;" }, /up\.postgres\.sql is missing/],
    ["no SQL and no data step", "0001_a", { "migration.json": "{}" }, /no up\.sql/],
    ["migration.json without its reason", "0001_a", { "up.sql": "SELECT 1;", "migration.json": `{"nonTransactionalOn": ["sqlite"]}` }, /"why"/],
    ["migration.json naming an unknown engine", "0001_a", { "up.sql": "SELECT 1;", "migration.json": `{"nonTransactionalOn": ["mysql"], "why": "x"}` }, /lists engines/],
    ["migration.json with an unknown key", "0001_a", { "up.sql": "SELECT 1;", "migration.json": `{"transactional": false}` }, /unknown key\(s\) transactional/],
  ])("%s is refused, naming the folder", (_what, name, files, message) => {
    folder(name, files);
    expect(() => readMigrations("sqlite", dir)).toThrow(new RegExp(`migration ${name} `));
    expect(() => readMigrations("sqlite", dir)).toThrow(message);
  });
});

describe.each(engines())("migrations on %s", (engine) => {
  test("the folders build the same schema as the function-based list, and the entities' (empty diff)", async () => {
    const dumps = await Promise.all(["function-based" as const, undefined].map((list) => withDatabase(engine, async (tdb) => {
      const db = await open(tdb, list);
      try {
        expect(await db.migrate()).toEqual(RECORDED);
        expect(await schemaDiff(db)).toBe("");
        return await schemaDump(db);
      } finally {
        await db.close();
      }
    })));
    const [before, after] = [dumps[0]!, dumps[1]!];
    // Every entity's table is in it (the dump is not vacuously equal).
    for (const e of entities) expect(after.join("\n")).toContain((e.meta as { tableName: string }).tableName);
    expect(after).toEqual(before);
  });

  test("a database made by the function-based list is upgraded by the folders: nothing re-applied, rows intact, schema as fresh", async () => {
    const fresh = await withDatabase(engine, async (tdb) => {
      const db = await open(tdb);
      await db.migrate();
      const dump = await schemaDump(db);
      await db.close();
      return dump;
    });
    await withDatabase(engine, async (tdb) => {
      const old = await open(tdb, "function-based");
      await old.orm.migrator.up({ to: "0004_audit" });
      await insertEarlyRows(old);
      await old.migrate();
      await old.transaction(async (t) => {
        await t.run(`INSERT INTO server_secrets (name, secret, create_time) VALUES ('page-token', 's3cret', 1)`);
        await t.run(`INSERT INTO service_accounts (id, name, roles, allowed_owner_ids, allowed_account_ids, creator_id, create_time, update_time) VALUES ('sa1', 'feed', 'AUDITOR', '', '', 'admin', 1, 1)`);
        await t.run(`UPDATE accounts SET deposit_limit = 500, incoming_used = 3 WHERE kind = 'CUSTOMER'`);
      });
      const rows = await rowsOf(old);
      const history = await recorded(old);
      await old.close();

      const db = await open(tdb);
      try {
        expect(await db.migrate()).toEqual([]);
        expect(await recorded(db)).toEqual(history);
        expect(await rowsOf(db)).toEqual(rows);
        expect(rows.accounts!.join()).toContain(BIG);
        expect(await schemaDiff(db)).toBe("");
        expect(await schemaDump(db)).toEqual(fresh);
      } finally {
        await db.close();
      }
    });
  });

  test("a database the function-based list brought to 0006 gets exactly 0007..0010 from the folders", async () => {
    await withDatabase(engine, async (tdb) => {
      const old = await open(tdb, "function-based");
      await old.orm.migrator.up({ to: "0006_server_secrets" });
      const { account } = await insertEarlyRows(old);
      await old.close();
      const db = await open(tdb);
      try {
        expect(await db.migrate()).toEqual(RECORDED.slice(4));
        expect(await schemaDiff(db)).toBe("");
        const row = await db.read((t) => t.one<{ b: string; shard: number }>(`SELECT CAST(balance AS TEXT) AS b, shard FROM accounts WHERE id = ?`, [account]));
        expect({ b: row!.b, shard: Number(row!.shard) }).toEqual({ b: BIG, shard: 0 });
      } finally {
        await db.close();
      }
    });
  });

  test("0005 keeps every row of every table (values beyond 2^53 too), and foreign keys are enforced after it", async () => {
    await withDatabase(engine, async (tdb) => {
      const db = await open(tdb);
      try {
        await db.orm.migrator.up({ to: "0004_audit" });
        await insertEarlyRows(db);
        const before = await rowsOf(db);
        expect(Object.keys(before)).toHaveLength(10);
        for (const [table, rows] of Object.entries(before)) expect({ table, empty: rows.length === 0 }).toEqual({ table, empty: false });
        expect(await db.orm.migrator.up({ to: "0005_orm_schema" })).toEqual([expect.objectContaining({ name: "0005_orm_schema" })]);
        expect(await rowsOf(db)).toEqual(before);
        if (engine === "sqlite") {
          expect(await db.read((t) => t.all(`SELECT * FROM pragma_foreign_key_check`))).toEqual([]);
          expect(Number((await db.read((t) => t.one<{ foreign_keys: number }>(`PRAGMA foreign_keys`)))!.foreign_keys)).toBe(1);
          expect(await db.read((t) => t.all(`SELECT name FROM sqlite_master WHERE name LIKE '%__new'`))).toEqual([]);
        }
        await expect(db.transaction((t) => t.run(`INSERT INTO refresh_tokens (token_hash, session_id, create_time, expire_time) VALUES ('x', 'no-such-session', 1, 2)`))).rejects.toThrow();
      } finally {
        await db.close();
      }
    });
  });

  test("0007 gives existing accounts shard 0, default limits and nothing used; settlement is then one per currency and shard", async () => {
    await withDatabase(engine, async (tdb) => {
      const db = await open(tdb);
      try {
        await db.orm.migrator.up({ to: "0006_server_secrets" });
        await insertEarlyRows(db);
        const before = await rowsOf(db, ["accounts"]);
        await db.orm.migrator.up({ to: "0007_settlement_shards_daily_limits" });
        const added = ["shard", "deposit_limit", "withdrawal_limit", "transfer_out_limit", "usage_day", "deposit_used", "withdrawal_used", "transfer_out_used"];
        const rows = await db.read((t) => t.all<Record<string, string | null>>(`SELECT ${added.map((c) => `CAST(${c} AS TEXT) AS ${c}`).join(", ")} FROM accounts`));
        expect(rows).toHaveLength(2);
        for (const row of rows) {
          expect(row).toEqual({ shard: "0", deposit_limit: null, withdrawal_limit: null, transfer_out_limit: null, usage_day: "0", deposit_used: "0", withdrawal_used: "0", transfer_out_used: "0" });
        }
        // The columns that were there keep their values.
        const kept = (rows: string[]) => rows.map((r) => JSON.stringify((JSON.parse(r) as [string, unknown][]).filter(([c]) => !added.includes(c))));
        expect(kept((await rowsOf(db, ["accounts"])).accounts!)).toEqual(kept(before.accounts!));
        const settlement = (number: string, shard: number) => db.transaction((t) => t.run(
          `INSERT INTO accounts (id, number, owner_id, kind, currency, account_type, status, display_name, create_time, update_time, shard)
           VALUES (?, ?, NULL, 'SETTLEMENT', 'USD', 'CHECKING', 'ACTIVE', 'Settlement', 1, 1, ?)`, [uuidv7(), number, shard]));
        await expect(settlement("00000000000002", 0)).rejects.toThrow();
        await expect(settlement("00000000000003", 1)).resolves.toBe(1);
      } finally {
        await db.close();
      }
    });
  });

  test("0010 ends the live sessions of staff (teller, auditor, admin); customers' and already-ended ones are untouched", async () => {
    await withDatabase(engine, async (tdb) => {
      const db = await open(tdb);
      try {
        await db.orm.migrator.up({ to: "0009_service_accounts" });
        const { customer, staff } = await insertEarlyRows(db);
        const [auditor, admin] = [uuidv7(), uuidv7()];
        await db.transaction(async (t) => {
          for (const [id, roles] of [[auditor, "AUDITOR"], [admin, "ADMIN"]]) {
            await t.run(`INSERT INTO users (id, email, full_name, password_hash, roles, disabled, create_time, update_time) VALUES (?, ?, 'x', 'h', ?, 0, 1, 1)`, [id, `${id}@example.test`, roles]);
            await t.run(`INSERT INTO sessions (id, user_id, user_agent, client_address, create_time, last_used_time, expire_time) VALUES (?, ?, '', '', 1, 1, ?)`, [`s-${id}`, id, Date.now() + 86_400_000]);
          }
        });
        const started = Date.now();
        await db.migrate();
        const sessions = await db.read((t) => t.all<{ id: string; revoked_time: string | null; revoke_reason: string | null }>(`SELECT id, CAST(revoked_time AS TEXT) AS revoked_time, revoke_reason FROM sessions`));
        const of = (id: string) => sessions.find((s) => s.id === id)!;
        for (const id of [staff, auditor, admin]) {
          expect(Number(of(`s-${id}`).revoked_time)).toBeGreaterThanOrEqual(started - 1_000);
          expect(of(`s-${id}`).revoke_reason).toBe("second factor required (migration 0010)");
        }
        expect(of(`s-${customer}`)).toMatchObject({ revoked_time: null, revoke_reason: null });
        expect(of(`gone-${staff}`)).toMatchObject({ revoked_time: "5", revoke_reason: "signed out" });
      } finally {
        await db.close();
      }
    });
  });

  test("a data.ts step runs after its SQL, in its transaction: a throwing step leaves nothing of its migration", async () => {
    const dir = path.join(__dirname, "..", "fixtures", "data-step-migrations");
    await withDatabase(engine, async (tdb) => {
      const db = await Database.open(tdb.config, undefined, { migrations: migrationsFor(engine, dir) });
      try {
        await db.orm.migrator.up({ to: "0001_numbers" });
        await db.transaction((t) => t.run(`INSERT INTO numbers (n) VALUES (3), (3037000500), (-1)`));
        await expect(db.migrate()).rejects.toThrow(/poisoned/);
        expect((await recorded(db)).map((r) => r.name)).toEqual(["0001_numbers"]);
        expect(await columnsOf(db, "numbers")).toEqual(["n"]);
        await db.transaction((t) => t.run(`DELETE FROM numbers WHERE n = -1`));
        expect(await db.migrate()).toEqual(["0002_squares"]);
        const rows = await db.read((t) => t.all<{ n: string; square: string }>(`SELECT CAST(n AS TEXT) AS n, square FROM numbers ORDER BY n`));
        expect(rows).toEqual([{ n: "3", square: "9" }, { n: "3037000500", square: "9223372037000250000" }]);
      } finally {
        await db.close();
      }
    });
  });
});

test("the shipped folders are where the loader looks (src/db/migrations/)", () => {
  expect(path.relative(path.join(__dirname, "..", ".."), MIGRATIONS_DIR)).toBe(path.join("src", "db", "migrations"));
});
