// What every system scenario shares: the PostgreSQL gate (scenarios run on PostgreSQL and are
// skipped cleanly when BANK_TEST_POSTGRES_URL is unset), the load's size, the audit check, and
// cleanup that runs even when a scenario fails half-way.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createTestDatabase, type TestDatabase } from "../../support/db";
import { BankdProcess, runCli, type BankdOptions } from "./bankd-process";
import type { PgCluster } from "./pg-cluster";
import type { Probe } from "./probe";
import type { Rng } from "./rng";

export const postgresUrl = process.env.BANK_TEST_POSTGRES_URL;

/** `describe` on PostgreSQL runs, `describe.skip` otherwise (with the reason in the title). */
export const describeOnPostgres: jest.Describe = postgresUrl ? describe : describe.skip;

/** The load: 16 clients x 300 transfers among 20 accounts. BANK_SYSTEM_CLIENTS and
 * BANK_SYSTEM_OPS scale it (e.g. for a quick local run); CI runs the default. */
export const LOAD = {
  clients: envInt("BANK_SYSTEM_CLIENTS", 16),
  opsPerClient: envInt("BANK_SYSTEM_OPS", 300),
  users: 4,
  accountsPerUser: 5,
  /** Four USD accounts and one EUR account per user: two currencies, each summing to zero. */
  currencies: ["USD", "USD", "EUR", "USD", "USD"],
  fundingMinor: 100_000n,
};

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  return raw && /^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : fallback;
}

/** A fresh database on the machine's main PostgreSQL (never restarted by these tests). */
export function mainClusterDatabase(): Promise<TestDatabase> {
  return createTestDatabase("postgres");
}

/** A fresh temporary directory, deleted when the test process exits. */
export function tempDir(prefix = "bankd-system-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `bankd verify-audit` on the scenario's database: seals what is pending, verifies the chain. */
export async function verifyAudit(databaseUrl: string, dataDir: string): Promise<{ code: number | null; output: string }> {
  const res = await runCli(["verify-audit"], { databaseUrl, dataDir });
  return { code: res.code, output: (res.stdout + res.stderr).trim() };
}

/** Starts processes one after the other (the first creates the signing key and migrates; the
 * others then find both). */
export async function startProcesses(count: number, opts: BankdOptions): Promise<BankdProcess[]> {
  const processes: BankdProcess[] = [];
  for (let i = 0; i < count; i++) processes.push(await BankdProcess.start({ ...opts, name: `bankd-${i}` }));
  return processes;
}

/** Log lines of a process at level error or above (pino levels 50, 60). */
export function errorLines(lines: readonly string[]): string[] {
  return lines.filter((l) => {
    try {
      return (JSON.parse(l) as { level?: number }).level! >= 50;
    } catch {
      return true;
    }
  });
}

export const MINUTE = 60_000;

/** A scenario's throwaway cluster, its bankd and its probe, set by the test as it makes them
 * and released in afterAll (registered here) whatever happened: probe, then bankd, then cluster. */
export interface ScenarioResources {
  cluster?: PgCluster;
  bankd?: BankdProcess;
  probe?: Probe;
}

export function releasedAfterAll(): ScenarioResources {
  const held: ScenarioResources = {};
  afterAll(async () => {
    await held.probe?.close();
    await held.bankd?.stop();
    await held.cluster?.destroy();
  }, MINUTE);
  return held;
}

/** What must never reach a client: SQL, driver and socket errors, stack frames, file paths,
 * connection strings and secrets. Returns the patterns found in `text`. */
export type LeakKind = "sql" | "sql-error" | "driver" | "stack" | "path" | "address" | "secret";

export function leaks(text: string, extraSecrets: readonly string[] = [], kinds?: readonly LeakKind[]): string[] {
  const patterns: [LeakKind, RegExp][] = [
    ["sql", /\b(select|insert\s+into|update|delete\s+from)\b[\s\S]*\b(from|values|set|where)\b/i],
    ["sql-error", /duplicate key|violates|constraint|relation "|syntax error|sqlstate|deadlock|serializ/i],
    ["driver", /ECONN\w*|ETIMEDOUT|EPIPE|knex|mikro-?orm|node-postgres|pg-pool|sqlite_\w+|terminating connection|Connection terminated/i],
    ["stack", /\n\s+at\s|\bat\s+\S+\s+\(.*:\d+:\d+\)|\.(ts|js):\d+/],
    ["path", /\/work\/|\/tmp\/|\/usr\/|\/root\/|node_modules|\\\\/],
    ["address", /127\.0\.0\.1:\d+|localhost:\d+/],
    ["secret", /postgres(ql)?:\/\/|password|secret|private key|bearer\s|argon2/i],
  ];
  const found: string[] = patterns.filter(([kind, re]) => (!kinds || kinds.includes(kind)) && re.test(text)).map(([kind]) => kind);
  for (const s of extraSecrets) if (s !== "" && text.includes(s)) found.push(`secret:${s.slice(0, 12)}`);
  return found;
}

/** The log lines of unexpected failures ("rpc failed unexpectedly") of the given code, trimmed:
 * what a finding needs (method, request id, the error's name, message and first stack frames). */
export function unexpectedFailures(lines: readonly string[], code = "Internal", max = 5): string[] {
  const found: string[] = [];
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { code?: string; method?: string; requestId?: string; err?: { type?: string; message?: string; stack?: string; code?: string } };
      if (entry.code !== code || !entry.err) continue;
      const stack = (entry.err.stack ?? "").split("\n").slice(0, 6).join(" | ");
      found.push(`${entry.method} ${entry.requestId}: ${entry.err.type} ${entry.err.code ?? ""} ${entry.err.message} :: ${stack}`);
    } catch {
      // Not a log line.
    }
    if (found.length >= max) break;
  }
  return found;
}

/** Runs `fault` `count` times at random points of a load of `total` operations, one after the
 * other: the k-th in the k-th slice of the middle 80 % of the load. Pass `onProgress` to the load;
 * `settled()` waits for the faults still running and returns what each returned. */
export function faultSchedule<T>(rng: Rng, total: number, count: number, fault: (atOp: number) => Promise<T>): { onProgress(done: number): void; settled(): Promise<T[]> } {
  const slice = 0.8 / count;
  const points = Array.from({ length: count }, (_, k) => rng.int(Math.floor(total * (0.1 + slice * k)), Math.floor(total * (0.1 + slice * (k + 0.7)))));
  const results: T[] = [];
  let chain: Promise<void> = Promise.resolve();
  return {
    onProgress: (done) => {
      while (points.length > 0 && done >= points[0]!) {
        const atOp = points.shift()!;
        chain = chain.then(async () => void results.push(await fault(atOp)));
      }
    },
    settled: async () => {
      await chain;
      return results;
    },
  };
}
