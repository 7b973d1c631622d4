// The "slow database" seam. bankd has none, and none is added to src/: the test slows the
// database itself. After migrations, it installs in the scenario's own database a trigger on the
// transactions table that sleeps (pg_sleep) a random time inside every statement inserting
// transactions, i.e. inside every money movement's database transaction, while that transaction
// holds its account locks. The delay is read from a one-row table at each insert, so a scenario
// can turn the slowness on and off at any moment without touching bankd's connections.
import { Client } from "pg";

export interface Slowdown {
  /** Sets the delay range of every insert into transactions; 0, 0 turns it off. */
  set(minMs: number, maxMs: number): Promise<void>;
  remove(): Promise<void>;
}

export async function installSlowdown(databaseUrl: string, minMs = 0, maxMs = 0): Promise<Slowdown> {
  await withPg(databaseUrl, async (c) => {
    await c.query(`CREATE TABLE IF NOT EXISTS bankd_test_slowdown (id INTEGER PRIMARY KEY, min_ms INTEGER NOT NULL, max_ms INTEGER NOT NULL)`);
    await c.query(`INSERT INTO bankd_test_slowdown (id, min_ms, max_ms) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET min_ms = $1, max_ms = $2`, [minMs, maxMs]);
    await c.query(`
      CREATE OR REPLACE FUNCTION bankd_test_slow() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE lo INTEGER; hi INTEGER;
      BEGIN
        SELECT min_ms, max_ms INTO lo, hi FROM bankd_test_slowdown WHERE id = 1;
        IF hi > 0 THEN PERFORM pg_sleep((lo + random() * (hi - lo)) / 1000.0); END IF;
        RETURN NULL;
      END $$`);
    await c.query(`DROP TRIGGER IF EXISTS bankd_test_slow ON transactions`);
    await c.query(`CREATE TRIGGER bankd_test_slow AFTER INSERT ON transactions FOR EACH STATEMENT EXECUTE FUNCTION bankd_test_slow()`);
  });
  return {
    set: (lo, hi) => withPg(databaseUrl, async (c) => void (await c.query(`UPDATE bankd_test_slowdown SET min_ms = $1, max_ms = $2 WHERE id = 1`, [lo, hi]))),
    remove: () =>
      withPg(databaseUrl, async (c) => {
        await c.query(`DROP TRIGGER IF EXISTS bankd_test_slow ON transactions`);
        await c.query(`DROP FUNCTION IF EXISTS bankd_test_slow()`);
        await c.query(`DROP TABLE IF EXISTS bankd_test_slowdown`);
      }),
  };
}

/** How many backends of this database are inside the slowdown's pg_sleep right now. */
export async function sleepingTransactions(databaseUrl: string): Promise<number> {
  return withPg(databaseUrl, async (c) => {
    const res = await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`);
    return Number(res.rows[0]?.n ?? 0);
  });
}

/** How many other backends of this database are working right now (running a statement, or
 * inside a transaction): 0 = nothing in flight in the database. */
export async function busyBackends(databaseUrl: string): Promise<number> {
  return withPg(databaseUrl, async (c) => {
    const res = await c.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')`,
    );
    return Number(res.rows[0]?.n ?? 0);
  });
}

export async function withPg<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
