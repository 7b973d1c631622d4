// Goal: the ledger's statements name the columns of the MikroORM entities, not a list of their
// own (issue 30). The column lists of src/ledger/store/ (selects, inserts, row sets) and the audit
// recorder's set-based insert are derived from the entities: they equal the metadata MikroORM
// discovered on a running ORM (property -> column, money type), and the migrated table's columns,
// on both engines; a property added to an entity is in the derived lists without touching them.
import { EntitySchema } from "@mikro-orm/core";
import { AUDIT_ROW_SET_COLUMNS, insertAuditEvents } from "../../src/audit/recorder";
import type { Database } from "../../src/db/database";
import * as fs from "node:fs";
import * as path from "node:path";
import { Account, AuditEvent, Entry, IdempotencyKey, MoneyType, Table, Transaction, columnsOf, type EntityColumn } from "../../src/db/entities";
import { LOCK_KEYS_ACCOUNTS_SQL, LOCK_KEYS_TRANSACTIONS_SQL } from "../../src/ledger/store/batch-postgres";
import { KEY_COLUMNS, KEY_MATCH } from "../../src/ledger/store/keys";
import { ACCOUNT_DELTA_COLUMNS, ENTRY_COLUMNS, INSERT_ENTRIES, INSERT_TRANSACTIONS, TRANSACTION_COLUMNS } from "../../src/ledger/store/row-sets";
import { ACCOUNTS, ENTRIES, TRANSACTIONS, accountColumns, transactionColumns } from "../../src/ledger/store/columns";
import { engines, type TestDatabase, openMigratedDatabase, closeMigratedDatabase } from "../support/db";

const TABLES = [
  { table: ACCOUNTS, entity: Account },
  { table: TRANSACTIONS, entity: Transaction },
  { table: ENTRIES, entity: Entry },
] as const;

const mapping = (columns: readonly EntityColumn[]) => columns.map((c) => ({ property: c.property, name: c.name, money: c.money }));

async function tableColumns(db: Database, table: string): Promise<string[]> {
  const rows = await db.read((tx) =>
    tx.dialect === "postgres"
      ? tx.all<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`, [table])
      : tx.all<{ name: string }>(`SELECT name FROM pragma_table_info(?)`, [table]));
  return rows.map((r) => r.name).sort();
}

describe.each(engines())("the ledger store's columns on %s", (engine) => {
  let tdb: TestDatabase;
  let db: Database;
  beforeAll(async () => ({ tdb, db } = await openMigratedDatabase(engine)));
  afterAll(() => closeMigratedDatabase(db, tdb));

  test.each(TABLES.map((t) => [t.table.name, t] as const))("%s: the row mapping is the entity's metadata and the table's columns", async (_name, { table, entity }) => {
    const meta = db.orm.getMetadata().get(entity as EntitySchema);
    expect(table.name).toBe(meta.tableName);
    const discovered = meta.props.map((p) => ({ property: p.name, name: p.fieldNames[0]!, money: p.customType instanceof MoneyType }));
    expect(mapping(table.columns)).toEqual(discovered);
    // Derived again now that MikroORM has discovered (and rewritten) the definitions: the same.
    expect(columnsOf(entity).map(({ toJs: _toJs, ...c }) => c)).toEqual(table.columns.map(({ toJs: _toJs, ...c }) => c));
    expect(table.columns.map((c) => c.name).sort()).toEqual(await tableColumns(db, table.name));
  });

  test("the audit recorder's set-based insert writes the audit_events columns but the chain's", async () => {
    const meta = db.orm.getMetadata().get(AuditEvent);
    const chain = new Set(["seq", "prevHash", "prevEventId", "hash"]);
    const expected = meta.props.filter((p) => !chain.has(p.name)).map((p) => p.fieldNames[0]!);
    expect(AUDIT_ROW_SET_COLUMNS.map((c) => c.name)).toEqual(expected);
    expect(insertAuditEvents("rows r")).toBe(`INSERT INTO audit_events (${expected.join(", ")}) SELECT ${expected.map((c) => `r.${c}`).join(", ")} FROM rows r`);
    expect([...expected, "seq", "prev_hash", "prev_event_id", "hash"].sort()).toEqual(await tableColumns(db, "audit_events"));
  });
});

describe("the statements' column lists come from the entities", () => {
  test("the batch's inserts and row sets name every written column of transactions and entries", () => {
    const transactionNames = columnsOf(Transaction).map((c) => c.name);
    expect(TRANSACTION_COLUMNS.map((c) => c.name)).toEqual(transactionNames);
    expect(INSERT_TRANSACTIONS("s r")).toBe(`INSERT INTO transactions (${transactionNames.join(", ")}) SELECT ${transactionNames.map((c) => `r.${c}`).join(", ")} FROM s r`);
    // entries.id is the database's (auto-increment): never written.
    const entryNames = columnsOf(Entry).map((c) => c.name).filter((c) => c !== "id");
    expect(ENTRY_COLUMNS.map((c) => c.name)).toEqual(entryNames);
    expect(INSERT_ENTRIES("s r")).toBe(`INSERT INTO entries (${entryNames.join(", ")}) SELECT ${entryNames.map((c) => `r.${c}`).join(", ")} FROM s r`);
    // Money is a bigint in the row set, text columns are text.
    expect(TRANSACTION_COLUMNS.find((c) => c.name === "amount")?.type).toBe("bigint");
    expect(TRANSACTION_COLUMNS.find((c) => c.name === "from_account_id")?.type).toBe("text");
  });

  test("the select lists read every column, money as text", () => {
    for (const c of columnsOf(Account)) expect(accountColumns("a")).toContain(c.money ? `CAST(a.${c.name} AS TEXT) AS ${c.name}` : `a.${c.name}`);
    expect(transactionColumns().split(", ")).toHaveLength(columnsOf(Transaction).length);
    expect(transactionColumns()).toContain("CAST(amount AS TEXT) AS amount");
    expect(transactionColumns()).toContain("update_time");
  });

  test("the hand-named columns of the balance update are the account entity's", () => {
    const names = new Set(columnsOf(Account).map((c) => c.name));
    const ownColumns = new Set(["delta", "held_delta", "entries"]);
    for (const c of ACCOUNT_DELTA_COLUMNS) if (!ownColumns.has(c.name)) expect(names).toContain(c.name);
    expect(() => ACCOUNTS.column("noSuchColumn" as never)).toThrow("accounts has no property noSuchColumn");
  });

  // The idempotency keys' statements name their columns by hand (a few, read back by name);
  // this is their drift alarm: a column added to or renamed in the entity fails here.
  test("the idempotency keys' claim inserts every column of the entity, and the key is its primary key", () => {
    const columns = columnsOf(IdempotencyKey);
    const names = columns.map((c) => c.name);
    const claimsOf = (sql: string) => [...sql.matchAll(/INSERT INTO idempotency_keys \(([^)]*)\)/g)].map((m) => m[1]!.split(",").map((c) => c.trim()));
    const sqliteSource = fs.readFileSync(path.join(__dirname, "../../src/ledger/store/keys.ts"), "utf8");
    const claims = [...claimsOf(LOCK_KEYS_ACCOUNTS_SQL), ...claimsOf(LOCK_KEYS_TRANSACTIONS_SQL), ...claimsOf(sqliteSource)];
    expect(claims).toHaveLength(3);
    for (const claim of claims) expect(claim).toEqual(names);
    const primary = columns.filter((c) => IdempotencyKey.meta.properties[c.property as keyof typeof IdempotencyKey.meta.properties]?.primary).map((c) => c.name);
    expect(KEY_COLUMNS.map((c) => c.name)).toEqual(primary);
    expect(KEY_MATCH).toBe(primary.map((c) => `idempotency_keys.${c} = r.${c}`).join(" AND "));
  });

  test("a property added to an entity is in every derived list by itself", () => {
    const properties = {
      id: { type: "text", columnType: "text", primary: true },
      amount: { type: MoneyType, columnType: "bigint" },
      settledTime: { type: "text", columnType: "bigint", nullable: true },
      payerId: { kind: "m:1", entity: () => Account, mapToPk: true, fieldName: "payer_account_id", nullable: true },
    } as const;
    const table = new Table(new EntitySchema<{ id: string; amount: bigint; settledTime: number | null; payerId: string | null }>({ name: "ProbeEntity", tableName: "probe", properties } as never));
    expect(mapping(table.columns)).toEqual([
      { property: "id", name: "id", money: false },
      { property: "amount", name: "amount", money: true },
      { property: "settledTime", name: "settled_time", money: false },
      { property: "payerId", name: "payer_account_id", money: false },
    ]);
    expect(table.select()).toBe("id, CAST(amount AS TEXT) AS amount, settled_time, payer_account_id");
    expect(table.insertFrom("s r")).toBe("INSERT INTO probe (id, amount, settled_time, payer_account_id) SELECT r.id, r.amount, r.settled_time, r.payer_account_id FROM s r");
    expect(table.jsonColumns().map((c) => c.type)).toEqual(["text", "bigint", "bigint", "text"]);
    expect(table.json([{ id: "p1", amount: 12345678901234567890n, settledTime: null, payerId: "a1" }])).toBe(
      '[{"id":"p1","amount":"12345678901234567890","settled_time":null,"payer_account_id":"a1"}]',
    );
    expect(table.entity({ id: "p1", amount: "12345678901234567890", settled_time: "17", payer_account_id: null })).toEqual({ id: "p1", amount: 12345678901234567890n, settledTime: 17, payerId: null });
  });
});
