// `--profile` on PostgreSQL: per-statement database figures from pg_stat_statements. The
// extension needs shared_preload_libraries and a server restart, which the machine's shared
// server cannot take, so the bench starts a throwaway cluster of its own for the whole run (the
// system tests' PgCluster: initdb in a temporary folder, fsync on, the extension preloaded), and
// pgbench and bankd both run on it. Around each measured workload the statistics are reset and
// then read: each statement's calls, mean execution and planning time, and its calls and time per
// committed posting batch.
import * as fs from "node:fs";
import { PgCluster } from "../test/system/support/pg-cluster";
import type { SqlClient } from "./sql-client";

/** The profile cluster: PgCluster's defaults with the extension preloaded, planning tracked, and
 * PostgreSQL's default shared_buffers (the shared cluster's). */
export function startProfileCluster(): Promise<PgCluster> {
  return PgCluster.create({
    settings: ["shared_preload_libraries = 'pg_stat_statements'", "pg_stat_statements.track = all", "pg_stat_statements.track_planning = on", "shared_buffers = 128MB"],
  });
}

export async function enableStatementStats(sql: SqlClient): Promise<void> {
  await sql.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
}

export async function resetStatementStats(sql: SqlClient): Promise<void> {
  await sql.all("SELECT pg_stat_statements_reset()");
}

interface StatementRow {
  query: string;
  calls: string;
  mean_exec_ms: string;
  mean_plan_ms: string;
  plans: string;
  total_ms: string;
  rows: string;
}

/** Writes the workload's statements, heaviest first, to `file`; returns the top lines to print. */
export async function writeStatementStats(sql: SqlClient, file: string, workload: string, batches: number | undefined, ops: number): Promise<string> {
  const rows = await sql.all<StatementRow>(
    `SELECT query, calls::text, round(mean_exec_time::numeric, 4)::text AS mean_exec_ms, round(mean_plan_time::numeric, 4)::text AS mean_plan_ms,
            plans::text, round((total_exec_time + total_plan_time)::numeric, 1)::text AS total_ms, rows::text
       FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      ORDER BY total_exec_time + total_plan_time DESC LIMIT 25`,
  );
  const per = (n: number, by: number | undefined) => (by && by > 0 ? (n / by).toFixed(2) : "-");
  const total = rows.reduce((t, r) => t + Number(r.total_ms), 0);
  const lines = [
    `# pg_stat_statements: ${workload}`,
    "",
    `${ops} calls, ${batches ?? "-"} committed posting batches; database time of the top statements ${total.toFixed(0)} ms${batches ? ` (${per(total, batches)} ms per batch)` : ""}.`,
    "",
    "| calls | per batch | mean exec ms | mean plan ms | plans | total ms | ms per batch | rows | statement |",
    "|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ...rows.map((r) => `| ${r.calls} | ${per(Number(r.calls), batches)} | ${r.mean_exec_ms} | ${r.mean_plan_ms} | ${r.plans} | ${r.total_ms} | ${per(Number(r.total_ms), batches)} | ${r.rows} | \`${r.query.replace(/\s+/g, " ").slice(0, 160).replace(/\|/g, "\\|")}\` |`),
  ];
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return rows.slice(0, 6).map((r) => `  ${per(Number(r.calls), batches).padStart(6)}/batch ${r.mean_exec_ms.padStart(8)} ms exec ${r.mean_plan_ms.padStart(7)} ms plan  ${r.query.replace(/\s+/g, " ").slice(0, 90)}`).join("\n");
}
