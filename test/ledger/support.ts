// Helpers of the ledger tests: a migrated test database with a Ledger on it (and a clock the
// test controls), users inserted directly, and queries that read the ledger's raw state.
import { Role } from "../../gen/bank/v1/access_pb";
import { Database } from "../../src/db/database";
import { loadConfig } from "../../src/config";
import { uuidv7 } from "../../src/util/ids";
import { Ledger } from "../../src/ledger/ledger";
import type { Actor } from "../../src/ledger/types";
import { DomainError } from "../../src/errors";
import { createTestDatabase, type Engine, type TestDatabase } from "../support/db";
import { roleFromProto } from "../../src/services/mapping/roles";

export interface LedgerFixture {
  db: Database;
  ledger: Ledger;
  testDb: TestDatabase;
  clock: { nowMs: number; frozen: boolean };
  close(): Promise<void>;
}

export async function openLedger(engine: Engine, opts: { postingBatchMax?: number } = {}): Promise<LedgerFixture> {
  const testDb = await createTestDatabase(engine);
  const db = await Database.open(testDb.config);
  await db.migrate();
  const clock = { nowMs: Date.now(), frozen: false };
  const currencies = loadConfig({ BANK_DATA_DIR: testDb.dataDir }).currencies;
  const ledger = await Ledger.open(db, currencies, { clock: () => (clock.frozen ? clock.nowMs : Date.now()), postingBatchMax: opts.postingBatchMax });
  return {
    db,
    ledger,
    testDb,
    clock,
    close: async () => {
      await ledger.stop();
      await db.close();
      await testDb.drop();
    },
  };
}

/** The cast most ledger suites start from: a ledger and a customer each for alice and bob, and
 * one user per staff role. */
export interface LedgerCast {
  f: LedgerFixture;
  alice: Actor;
  bob: Actor;
  teller: Actor;
  auditor: Actor;
  admin: Actor;
}

export async function openLedgerWithCast(engine: Engine): Promise<LedgerCast> {
  const f = await openLedger(engine);
  return {
    f,
    alice: await addUser(f.db),
    bob: await addUser(f.db),
    teller: await addUser(f.db, [Role.TELLER]),
    auditor: await addUser(f.db, [Role.AUDITOR]),
    admin: await addUser(f.db, [Role.ADMIN]),
  };
}

/** Inserts a user row (no password: these users never sign in) and returns its Actor. */
export async function addUser(db: Database, roles: Role[] = [Role.CUSTOMER]): Promise<Actor> {
  const id = uuidv7();
  const now = Date.now();
  await db.transaction((tx) =>
    tx.run(`INSERT INTO users (id, email, full_name, password_hash, roles, disabled, create_time, update_time) VALUES (?, ?, ?, ?, ?, 0, ?, ?)`, [
      id, `${id}@example.test`, "Ledger Test", "x", roles.map((r) => Role[r]).join(","), now, now,
    ]),
  );
  return { userId: id, roles: roles.map((r) => roleFromProto(r)!), clientAddress: "127.0.0.1", callId: uuidv7() };
}

/** Counts of everything a command may write. */
export async function writeCounts(db: Database): Promise<Record<string, number>> {
  return db.read(async (tx) => {
    const out: Record<string, number> = {};
    for (const table of ["transactions", "entries", "idempotency_keys", "audit_events", "accounts"]) {
      const row = await tx.one<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${table}`);
      out[table] = Number(row?.n ?? 0);
    }
    return out;
  });
}

/** Per currency, the sum of every balance (settlement included): always zero. */
export async function balanceSums(db: Database): Promise<Map<string, bigint>> {
  const rows = await db.read((tx) => tx.all<{ currency: string; total: string }>(`SELECT currency, CAST(SUM(balance) AS TEXT) AS total FROM accounts GROUP BY currency`));
  return new Map(rows.map((r) => [r.currency, BigInt(r.total)]));
}

/** Every account's balance equals the sum of its entries and the balance_after of its last one. */
export async function entriesMatchBalances(db: Database): Promise<string[]> {
  const rows = await db.read((tx) =>
    tx.all<{ id: string; balance: string; total: string | null; last: string | null; entry_count: string | number; n: string | number }>(
      `SELECT a.id, CAST(a.balance AS TEXT) AS balance, CAST(SUM(e.amount) AS TEXT) AS total, a.entry_count, COUNT(e.id) AS n,
              (SELECT CAST(balance_after AS TEXT) FROM entries WHERE account_id = a.id ORDER BY seq DESC LIMIT 1) AS last
         FROM accounts a LEFT JOIN entries e ON e.account_id = a.id GROUP BY a.id, a.balance, a.entry_count`,
    ),
  );
  const bad: string[] = [];
  for (const r of rows) {
    const total = BigInt(r.total ?? "0");
    if (total !== BigInt(r.balance)) bad.push(`${r.id}: sum of entries ${total} != balance ${r.balance}`);
    if (r.last !== null && BigInt(r.last) !== BigInt(r.balance)) bad.push(`${r.id}: last balance_after ${r.last} != balance ${r.balance}`);
    if (Number(r.n) !== Number(r.entry_count)) bad.push(`${r.id}: ${r.n} entries but entry_count ${r.entry_count}`);
  }
  return bad;
}

/** The DomainError a promise rejects with (fails the test if it resolves or throws another error). */
export async function domainError(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error("expected a DomainError, but the call succeeded");
}

export { usd } from "../support/money";
export { eur } from "../support/money";

let counter = 0;
/** A fresh request_id. */
export function rid(prefix = "r"): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}
