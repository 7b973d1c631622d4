// Goal: the one set of MikroORM entities maps the migrated schema on both engines: every mapped
// column exists, and a row written through the unit of work reads back exactly through SQL
// (BIGINT values beyond 2^53 included).
import { Database } from "../../src/db/database";
import { Account, AuditEvent, Entry, Session, Transaction, User, entities } from "../../src/db/entities";
import { createTestDatabase, engines, type TestDatabase } from "../support/db";
import { uuidv7 } from "../../src/ids";

describe.each(engines())("entities on %s", (engine) => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase(engine);
    db = await Database.open(tdb.config);
    await db.migrate();
  });
  afterAll(async () => {
    await db.close();
    await tdb.drop();
  });

  test("every entity's columns exist in the migrated schema", async () => {
    expect(entities).toHaveLength(6);
    const em = db.orm.em.fork();
    for (const entity of [User, Session, Account, Transaction, Entry, AuditEvent]) {
      await expect(em.find(entity as never, {}, { limit: 1 })).resolves.toEqual([]);
    }
  });

  test("a unit-of-work write reads back exactly through SQL", async () => {
    const id = uuidv7();
    const now = String(Date.now());
    await db.orm.em.fork().transactional(async (em) => {
      em.create(User, { id, email: `${id}@example.com`, fullName: "Ada", passwordHash: "$argon2id$test", roles: "CUSTOMER", disabled: 0, createTime: now, updateTime: now });
      // The owner first: the entities carry plain id columns, not relations, so the unit of
      // work does not order inserts by foreign key.
      await em.flush();
      em.create(Account, {
        id: uuidv7(), number: `T${id.slice(0, 8)}`, ownerId: id, kind: "CUSTOMER", currency: "USD", accountType: "CHECKING", status: "ACTIVE",
        displayName: "Big", balance: "9007199254740993", held: "0", overdraftLimit: "0", entryCount: "0", version: 1, createTime: now, updateTime: now,
      });
    });
    const row = await db.read((tx) => tx.one<{ balance: string }>(`SELECT ${db.money("balance")} FROM accounts WHERE owner_id = ?`, [id]));
    expect(BigInt(row!.balance)).toBe(9007199254740993n);
    const user = await db.orm.em.fork().findOneOrFail(User, { id });
    expect(user.email).toBe(`${id}@example.com`);
  });
});
