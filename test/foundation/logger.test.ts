// Goal: a database error reaches the log without the values of the row that failed. Drivers and
// MikroORM put the statement with its values in the message, and MikroORM also appends the
// driver's detail ("Failing row contains (...)", "Key (email)=(...) already exists"); a failed
// flush of the unit of work carries a password hash that way. The logged form keeps the
// driver's own message and codes only.
import { Database } from "../../src/db/database";
import { User } from "../../src/db/entities";
import { uuidv7 } from "../../src/util/ids";
import { loggableError } from "../../src/logger";
import { engines, type TestDatabase, openMigratedDatabase, closeMigratedDatabase } from "../support/db";

describe("loggableError", () => {
  test("MikroORM's message format: the statement and the appended detail are both dropped", () => {
    const err = new Error(
      `insert into "users" ("id", "password_hash") values ('u1', '$argon2id$v=19$SECRET - HASH') - new row for relation "users" violates check constraint "c"\n - detail: Failing row contains (u1, $argon2id$v=19$SECRET - HASH).`,
    );
    const logged = JSON.stringify(loggableError(err));
    expect(logged).not.toContain("SECRET");
    expect(loggableError(err).message).toBe(`[statement removed] new row for relation "users" violates check constraint "c"`);
  });
});

describe.each(engines())("a failed flush of the unit of work on %s", (engine) => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => ({ tdb, db } = await openMigratedDatabase(engine)));
  afterAll(() => closeMigratedDatabase(db, tdb));

  test("is logged without the row's values (email, password hash)", async () => {
    const email = `secret-${uuidv7()}@example.test`;
    const user = (passwordHash: string) => ({ id: uuidv7(), email, fullName: "Dup", passwordHash, roles: "CUSTOMER", disabled: 0, createTime: 1, updateTime: 1 });
    await db.transaction(async (tx) => void tx.em.create(User, user("$argon2id$first")));
    const err = await db.transaction(async (tx) => {
      tx.em.create(User, user("$argon2id$SECRET-HASH"));
      await tx.em.flush();
    }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const logged = JSON.stringify(loggableError(err));
    expect(logged).not.toContain("SECRET-HASH");
    expect(logged).not.toContain(email);
    expect(logged).toMatch(/unique|duplicate/i);
  });
});
