// EXPLAIN (ANALYZE, BUFFERS) of the statements bankd runs on the hot paths, on the seeded bench
// database (PostgreSQL only; run by `--profile`). pg_stat_statements needs
// shared_preload_libraries and a server restart, which a shared server cannot take, so the
// per-statement cost is read from the plans instead (and `--profile` runs on a cluster of its own
// with pg_stat_statements, pg-stat-statements.ts). The posting engine's statements are bankd's
// own (src/ledger/store/batch-postgres.ts, called here on a batch of BATCH transfers built with bankd's
// own BatchState), each explained with the generic plan bankd's named prepared statements run
// (plan_cache_mode = force_generic_plan) inside a savepoint that is rolled back, and then run for
// real so the next one sees its rows; everything runs inside a transaction that is rolled back,
// so the ledger is untouched.
import { randomUUID } from "node:crypto";
import { Role } from "../gen/bank/v1/access_pb";
import type { Tx } from "../src/db/database";
import { postgresEngine } from "../src/db/postgres-engine";
import { accountColumns, transactionColumns } from "../src/ledger/store/columns";
import type { KeyRow } from "../src/ledger/store/keys";
import { lockKeysAndAccounts, writeBatchPostgres } from "../src/ledger/store/batch-postgres";
import { BatchState } from "../src/ledger/engine/batch-state";
import type { Actor } from "../src/ledger/types";
import type { Fixture } from "./seed";
import type { SqlClient } from "./sql-client";

/** Transfers in the explained batch: about what transfer-uniform's batches hold at concurrency 32. */
const BATCH = 32;

/** The select lists bankd's reads use (src/ledger/store/columns.ts, from the entities). */
const ACCOUNT_COLUMNS = accountColumns();
const TRANSACTION_COLUMNS = transactionColumns("t");

interface Statement {
  /** Where bankd runs it. */
  source: string;
  sql: string;
  params: unknown[];
}

export async function explainHotPaths(sql: SqlClient, f: Fixture): Promise<string> {
  const out: string[] = [];
  await sql.exec("BEGIN");
  try {
    out.push(...(await explainPostingBatch(sql, f)));
    for (const s of readStatements(f, await sql.all<{ id: string }>("SELECT id FROM sessions LIMIT 1"))) out.push(await explain(sql, s));
  } finally {
    await sql.exec("ROLLBACK");
  }
  return out.join("\n\n");
}

/** One batch of BATCH transfers through the posting engine's own statements. */
async function explainPostingBatch(sql: SqlClient, f: Fixture): Promise<string[]> {
  const plans: string[] = [];
  let step = "";
  let n = 0;
  const explainThenRun = async (text: string, params: readonly unknown[]) => {
    const bound = params.map((p) => postgresEngine.bindable(p));
    await sql.exec("SAVEPOINT explain");
    const what = /^\s*(WITH|INSERT INTO \w+|UPDATE \w+|DELETE FROM \w+|SELECT)/.exec(text)?.[1] ?? "";
    // The generic plan, as bankd's named statements run once a connection has executed them a few times.
    const name = `bench_explain_${++n}`;
    await sql.exec("SET LOCAL plan_cache_mode = force_generic_plan");
    await sql.exec(`PREPARE ${name} AS ${text}`);
    // EXECUTE's arguments are part of a utility statement: spelled as literals, not bound.
    const args = bound.map(literal).join(", ");
    plans.push(await explain(sql, { source: `posting engine, batch-postgres.ts ${step}: ${what} (generic plan; batch of ${BATCH} transfers)`, sql: `EXECUTE ${name}(${args})`, params: [] }));
    await sql.exec("ROLLBACK TO SAVEPOINT explain");
    return sql.run(text, bound);
  };
  const tx = {
    engine: postgresEngine,
    dialect: postgresEngine.dialect,
    inTransaction: true,
    all: async (text: string, params: readonly unknown[] = []) => (await explainThenRun(text, params)).rows,
    one: async (text: string, params: readonly unknown[] = []) => (await explainThenRun(text, params)).rows[0],
    run: async (text: string, params: readonly unknown[] = []) => (await explainThenRun(text, params)).count,
  } as unknown as Tx;
  const user = f.users[0]!;
  const actor: Actor = { userId: user.id, roles: [Role.CUSTOMER], clientAddress: "127.0.0.1", callId: randomUUID() };
  const pairs = Array.from({ length: BATCH }, (_, i) => [f.accounts[(i * 2) % f.accounts.length]!.id, f.accounts[(i * 2 + 1) % f.accounts.length]!.id] as const);
  const keys: KeyRow[] = pairs.map(() => ({ callerId: user.id, method: "TransactionService/Transfer", requestId: randomUUID(), payloadHash: "h", payloadFields: "{}" }));
  const nowMs = Date.now();
  step = "lock statement (claim keys, lock accounts)";
  const { accounts: locked } = await lockKeysAndAccounts(tx, { keys, nowMs, transactionIds: [], entriesOf: [] }, pairs.flat(), []);
  const state = new BatchState(locked, new Map(), new Map(), nowMs, () => ({ deposit: 0n, withdrawal: 0n, transferOut: 0n, incoming: 0n }));
  for (const [i, [from, to]] of pairs.entries()) {
    state.post({
      transaction: { type: "TRANSFER", status: "POSTED", currency: f.currency, amount: 5n, fromAccountId: from, toAccountId: to, description: "explain", requestId: keys[i]!.requestId, initiatedBy: user.id },
      legs: [{ accountId: from, amount: -5n, held: 0n }, { accountId: to, amount: 5n, held: 0n }],
    });
    state.audit(actor, { action: "transaction.transfer", targetId: from, details: { amount: "5", currency: f.currency } });
  }
  state.assertBatch();
  step = "write statement";
  await writeBatchPostgres(tx, {
    transactions: [...state.newTransactions.values()],
    entries: state.entries,
    accounts: state.changedAccounts(),
    statusChanges: state.statusChanges,
    outcomes: keys.map((k) => ({ callerId: k.callerId, method: k.method, requestId: k.requestId, outcome: '{"ok":{}}' })),
    released: [],
    audits: state.audits,
  });
  return plans;
}

/** A bound value as an SQL literal (strings quoted, arrays as text[] literals). */
function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return literal(`{${value.map((v) => `"${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`);
  return `'${String(value).replace(/'/g, "''")}'`;
}

function readStatements(f: Fixture, sessions: { id: string }[]): Statement[] {
  const a = f.accounts[0]!.id;
  const user = f.users[0]!.id;
  return [
    { source: "ledger/store/accounts.ts readAccount (reads.ts getBalance, watch.ts)", sql: `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`, params: [a] },
    {
      source: "ledger/store/transactions.ts statementRows (listTransactions, first page; without the counterparty joins)",
      sql: `SELECT ${TRANSACTION_COLUMNS}, e.seq AS entry_seq, CAST(e.amount AS TEXT) AS entry_amount, CAST(e.balance_after AS TEXT) AS entry_balance_after
              FROM entries e JOIN transactions t ON t.id = e.transaction_id WHERE e.account_id = ? ORDER BY e.seq DESC LIMIT ?`,
      params: [f.house.accountId, 51],
    },
    {
      source: "auth/authenticator.ts sessionLive (every sessionRecheckMs per token)",
      sql: `SELECT s.revoked_time, s.expire_time, u.disabled FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ? AND s.user_id = ?`,
      params: [sessions[0]?.id ?? "", user],
    },
    { source: "audit/sealer.ts hasUnsealed (every auditSealIntervalMs)", sql: `SELECT 1 AS waiting FROM audit_events WHERE seq IS NULL LIMIT 1`, params: [] },
  ];
}

async function explain(sql: SqlClient, s: Statement): Promise<string> {
  const rows = await sql.all<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${s.sql}`, s.params);
  return [`-- ${s.source}`, ...rows.map((r) => Object.values(r)[0])].join("\n");
}
