// A diagnostic, not part of `npm run bench`: where a transfer's CPU goes in the Node process,
// layer by layer, measured as CPU time per transfer of this process (process.cpuUsage), which a
// busy machine inflates far less than throughput. One transfer at a time, on a fresh database:
//   raw-pg           a per-transfer version of the posting's statements (lock, one-statement
//                    write, audit, key) through a bare pg.Client, unnamed statements
//   raw-pg-prepared  the same with named prepared statements (what pgbench -M prepared does)
//   db-layer         the same statements through bankd's Database.transaction / tx.all (a
//                    forked MikroORM EntityManager's transactional, knex bindings)
//   ledger           bankd's domain transfer(): one posting-engine request, so, one at a time,
//                    a batch of one (keys, locks, checks, set-based writes, audit), without the
//                    RPC stack and auth. Under load the engine batches; this line is its
//                    per-batch floor, not its per-transfer cost.
// Each line gives the CPU per transfer of this Node process and (PostgreSQL) of the database
// backends serving it (read from /proc).
//   node dist/bench/micro.js [--db postgres|sqlite] [--n 2000]
import { randomUUID } from "node:crypto";
import { Client } from "pg";
import { loadConfig } from "../src/config";
import { Database } from "../src/db/database";
import { Ledger } from "../src/ledger/ledger";
import { createAccount } from "../src/ledger/accounts";
import { deposit, transfer } from "../src/ledger/commands";
import type { Actor } from "../src/ledger/types";
import { Role } from "../gen/bank/v1/access_pb";
import { createBenchDatabase } from "./sql-client";
import { CpuSampler, postgresBackendsOf } from "./cpu";

type Step = (i: number) => Promise<void>;

let dbSampler: () => CpuSampler = () => new CpuSampler(() => false);

async function measure(name: string, n: number, step: Step): Promise<void> {
  for (let i = 0; i < Math.min(200, n / 10); i++) await step(i);
  const sampler = dbSampler();
  sampler.start();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await step(i);
  const used = process.cpuUsage(cpu);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpuMs = (used.user + used.system) / 1000;
  const sysMs = used.system / 1000;
  const dbMs = sampler.stop();
  console.log(`${name.padEnd(16)} node ${(cpuMs / n).toFixed(3).padStart(6)} ms CPU/transfer (${(sysMs / n).toFixed(3)} system)  db ${(dbMs / n).toFixed(3).padStart(6)} ms CPU/transfer  ${(wallMs / n).toFixed(3).padStart(7)} ms wall/transfer`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const engine = args[args.indexOf("--db") + 1] === "sqlite" ? "sqlite" : "postgres";
  const n = args.includes("--n") ? Number(args[args.indexOf("--n") + 1]) : 2000;
  const bench = await createBenchDatabase(engine, process.env.BANK_BENCH_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/postgres");
  const config = engine === "postgres" ? { kind: "postgres" as const, url: bench.url } : { kind: "sqlite" as const, file: bench.url.slice("sqlite:".length) };
  const db = await Database.open(config);
  if (engine === "postgres") dbSampler = () => new CpuSampler(postgresBackendsOf(new URL(bench.url).pathname.slice(1)));
  try {
    await db.migrate();
    const ledger = await Ledger.open(db, loadConfig({ BANK_DATA_DIR: bench.dataDir }).currencies);
    const userId = randomUUID();
    await db.transaction((tx) => tx.run(`INSERT INTO users (id, email, full_name, password_hash, roles, disabled, create_time, update_time) VALUES (?, 'micro@example.test', 'Micro', 'x', 'CUSTOMER', 0, 0, 0)`, [userId]));
    const actor: Actor = { userId, roles: [Role.CUSTOMER], clientAddress: "127.0.0.1", callId: randomUUID() };
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const a = await createAccount(ledger, actor, { requestId: randomUUID(), currency: "USD", type: "CHECKING", displayName: "", ownerId: "" });
      await deposit(ledger, actor, { requestId: randomUUID(), accountId: a.id, amount: { currency: "USD", minorUnits: 100_000_000n }, description: "" });
      ids.push(a.id);
    }
    const pair = (i: number): [string, string] => [ids[i % ids.length]!, ids[(i * 7 + 3) % ids.length]!];
    const statements = postingStatements();
    if (engine === "postgres") {
      for (const prepared of [false, true]) {
        const client = new Client({ connectionString: bench.url });
        await client.connect();
        await measure(prepared ? "raw-pg-prepared" : "raw-pg", n, async (i) => {
          const [a, b] = pair(i);
          const params = paramsFor(a, b, userId);
          await client.query("BEGIN");
          for (const [k, s] of statements.entries()) await client.query(prepared ? { name: `s${k}`, text: toDollar(s), values: params[k] } : { text: toDollar(s), values: params[k] });
          await client.query("COMMIT");
        });
        await client.end();
      }
    }
    if (engine === "postgres") {
      await measure("db-layer", n, async (i) => {
        const [a, b] = pair(i);
        const params = paramsFor(a, b, userId);
        await db.transaction(async (tx) => {
          for (const [k, s] of statements.entries()) await tx.all(s, params[k]);
        });
      });
    }
    await measure("ledger", n, async (i) => {
      const [a, b] = pair(i);
      await transfer(ledger, actor, { requestId: randomUUID(), fromAccountId: a, toAccountId: b, toAccountNumber: "", amount: { currency: "USD", minorUnits: 1n }, description: "micro" });
    });
  } finally {
    await db.close();
    await bench.drop();
  }
}

/** The store's statements for one transfer (src/ledger/store/batch-postgres.ts) on PostgreSQL (writeInOneStatement), with `?`
 * placeholders: entries take seq and balance_after from the UPDATE ... RETURNING, as in bankd. */
function postingStatements(): string[] {
  return [
    `SELECT id, number, owner_id, kind, currency, account_type, status, display_name, CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held, CAST(overdraft_limit AS TEXT) AS overdraft_limit, entry_count, version, create_time, update_time FROM accounts WHERE id IN (?, ?) ORDER BY id FOR UPDATE`,
    `WITH new_transaction AS (INSERT INTO transactions (id, tx_type, status, currency, amount, from_account_id, to_account_id, description, request_id, initiated_by, reverses_id, hold_id, expire_time, create_time, update_time) VALUES (?, 'TRANSFER', 'POSTED', 'USD', CAST(? AS BIGINT), ?, ?, 'micro', ?, ?, NULL, NULL, NULL, CAST(? AS BIGINT), CAST(? AS BIGINT))),
       updated AS (UPDATE accounts SET balance = balance + CASE id WHEN ? THEN CAST(? AS BIGINT) WHEN ? THEN CAST(? AS BIGINT) END, held = held + CASE id WHEN ? THEN CAST(? AS BIGINT) WHEN ? THEN CAST(? AS BIGINT) END, entry_count = entry_count + 1, update_time = CAST(? AS BIGINT) WHERE id IN (?, ?) RETURNING id, balance, held, entry_count),
       new_entries AS (INSERT INTO entries (transaction_id, account_id, seq, amount, balance_after, create_time) SELECT ?, updated.id, updated.entry_count, CASE updated.id WHEN ? THEN CAST(-1 AS BIGINT) ELSE CAST(1 AS BIGINT) END, updated.balance, CAST(? AS BIGINT) FROM updated RETURNING 1)
     SELECT id, CAST(balance AS TEXT) AS balance, CAST(held AS TEXT) AS held, entry_count, (SELECT COUNT(*) FROM new_entries) AS entries_written FROM updated`,
    `INSERT INTO audit_events (id, event_time, actor_id, action, target_id, outcome, client_address, request_id, details) VALUES (?, ?, ?, 'transaction.transfer', ?, 'SUCCESS', '127.0.0.1', ?, '{"amount":"1","currency":"USD"}')`,
    `INSERT INTO idempotency_keys (caller_id, method, request_id, payload_hash, payload_fields, outcome, create_time) VALUES (?, 'TransactionService/Transfer', ?, 'h', '{}', '{}', ?)`,
  ];
}

function paramsFor(a: string, b: string, user: string): unknown[][] {
  const now = Date.now();
  const tx = randomUUID();
  const req = randomUUID();
  return [
    [a, b],
    [tx, "1", a, b, req, user, now, now, a, "-1", b, "1", a, "0", b, "0", now, a, b, tx, a, now],
    [randomUUID(), now, user, tx, req],
    [user, req, now],
  ];
}

function toDollar(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
