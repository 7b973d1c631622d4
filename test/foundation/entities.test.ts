// Goal: MikroORM's entities (src/db/entities.ts) are the schema, exactly, on both engines: after
// migrating, MikroORM's schema diff against the entities (drops included) is empty; a row written
// through the unit of work reads back exactly through SQL (money beyond 2^53 included); and the
// migration that brought existing databases to the entities' form (0005) keeps every row and
// every constraint of a database made by the earlier migrations.
import { Database } from "../../src/db/database";
import { Account, IdempotencyKey, User, entities } from "../../src/db/entities";
import { uuidv7 } from "../../src/util/ids";
import { createTestDatabase, engines, type TestDatabase, openMigratedDatabase, closeMigratedDatabase } from "../support/db";

const TABLES = ["users", "sessions", "refresh_tokens", "login_throttle", "accounts", "transactions", "entries", "idempotency_keys", "audit_events", "audit_chain_head", "server_secrets",
  "service_accounts", "service_account_keys", "service_sessions", "service_assertions", "totp_enrolments", "recovery_codes"];

async function schemaDiff(db: Database): Promise<string> {
  return (await db.orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true })).trim();
}

describe.each(engines())("entities on %s", (engine) => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => ({ tdb, db } = await openMigratedDatabase(engine)));
  afterAll(() => closeMigratedDatabase(db, tdb));

  test("every table has an entity, and the schema diff against the migrated database is empty", async () => {
    const mapped = entities.map((e) => (e.meta as { tableName?: string }).tableName ?? "").sort();
    expect(mapped).toEqual([...TABLES].sort());
    expect(await schemaDiff(db)).toBe("");
  });

  test("a unit-of-work write reads back exactly through SQL", async () => {
    const id = uuidv7();
    const now = Date.now();
    await db.transaction(async (tx) => {
      tx.em.create(User, { id, email: `${id}@example.com`, fullName: "Ada", passwordHash: "$argon2id$test", roles: "CUSTOMER", disabled: 0, createTime: now, updateTime: now });
      // The owner first: the unit of work orders inserts by foreign key only for relations it
      // knows to load, so flush explicitly before the account.
      await tx.em.flush();
      tx.em.create(Account, {
        id: uuidv7(), number: `T${id.slice(0, 8)}`, ownerId: id, kind: "CUSTOMER", currency: "USD", accountType: "CHECKING", status: "ACTIVE",
        displayName: "Big", balance: 9_007_199_254_740_993n, held: 0n, overdraftLimit: 0n, entryCount: 0, version: 1, createTime: now, updateTime: now,
      });
    });
    const row = await db.read((tx) => tx.one<{ balance: string }>(`SELECT CAST(balance AS TEXT) AS balance FROM accounts WHERE owner_id = ?`, [id]));
    expect(BigInt(row!.balance)).toBe(9_007_199_254_740_993n);
    const account = await db.read((tx) => tx.em.findOneOrFail(Account, { ownerId: id }));
    expect(account.balance).toBe(9_007_199_254_740_993n);
    expect((await db.read((tx) => tx.em.findOneOrFail(User, { id }))).email).toBe(`${id}@example.com`);
  });
});

describe.each(engines())("migration 0005 on %s keeps a database made by the earlier migrations", (engine) => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase(engine);
    db = await Database.open(tdb.config);
  });
  afterAll(async () => {
    await db.close();
    await tdb.drop();
  });

  test("rows, values beyond 2^53, keys and constraints survive; the diff is then empty", async () => {
    await db.orm.migrator.up({ to: "0004_audit" });
    const [user, account, settlement, tx] = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
    await db.transaction(async (t) => {
      await t.run(`INSERT INTO users (id, email, full_name, password_hash, roles, disabled, create_time, update_time) VALUES (?, 'old@example.com', 'Old', 'h', 'CUSTOMER', 0, 1, 1)`, [user]);
      await t.run(`INSERT INTO accounts (id, number, owner_id, kind, currency, account_type, status, display_name, balance, entry_count, create_time, update_time)
                   VALUES (?, '10000000000001', ?, 'CUSTOMER', 'USD', 'CHECKING', 'ACTIVE', 'Old', 9007199254740993, 1, 1, 1)`, [account, user]);
      await t.run(`INSERT INTO accounts (id, number, owner_id, kind, currency, account_type, status, display_name, balance, entry_count, create_time, update_time)
                   VALUES (?, '00000030281319', NULL, 'SETTLEMENT', 'USD', 'CHECKING', 'ACTIVE', 'Settlement USD', -9007199254740993, 1, 1, 1)`, [settlement]);
      await t.run(`INSERT INTO transactions (id, tx_type, status, currency, amount, from_account_id, to_account_id, description, request_id, initiated_by, create_time, update_time)
                   VALUES (?, 'DEPOSIT', 'POSTED', 'USD', 9007199254740993, NULL, ?, '', 'r1', ?, 1, 1)`, [tx, account, user]);
      await t.run(`INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) VALUES (?, ?, 1, 9007199254740993, 9007199254740993, 1)`, [tx, account]);
      await t.run(`INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) VALUES (?, ?, 1, -9007199254740993, -9007199254740993, 1)`, [tx, settlement]);
      await t.run(`INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time) VALUES (?, 'm', 'r1', 'h', '{}', '{}', 1)`, [user]);
    });
    await db.migrate();
    expect(await schemaDiff(db)).toBe("");
    const balance = await db.read((t) => t.one<{ b: string }>(`SELECT CAST(balance AS TEXT) AS b FROM accounts WHERE id = ?`, [account]));
    expect(balance!.b).toBe("9007199254740993");
    const entries = await db.read((t) => t.all<{ id: number | string; seq: number | string }>(`SELECT id, seq FROM entries ORDER BY id`));
    expect(entries.map((e) => Number(e.seq))).toEqual([1, 1]);
    // The entry ids continue after the copied ones.
    const next = await db.transaction(async (t) => {
      await t.run(`INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) VALUES (?, ?, 2, 0, 9007199254740993, 2)`, [tx, account]);
      return t.one<{ id: number | string }>(`SELECT MAX(id) AS id FROM entries`);
    });
    expect(Number(next!.id)).toBe(Number(entries[1]!.id) + 1);
    expect((await db.read((t) => t.em.findOneOrFail(IdempotencyKey, { callerId: user, method: "m", requestId: "r1" }))).payloadHash).toBe("h");
    // Constraints hold after the rebuild: a duplicate email, an entry of a missing account.
    await expect(db.transaction((t) => t.run(`INSERT INTO users (id, email, full_name, password_hash, roles, disabled, create_time, update_time) VALUES (?, 'old@example.com', 'x', 'h', 'CUSTOMER', 0, 1, 1)`, [uuidv7()]))).rejects.toThrow();
    await expect(db.transaction((t) => t.run(`INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) VALUES (?, ?, 9, 0, 0, 1)`, [tx, uuidv7()]))).rejects.toThrow();
  });
});
