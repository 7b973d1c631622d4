// PostgreSQL at run time: a plain `pg` pool, statements with bind parameters, and the hot
// statements prepared once per connection.
//
// MikroORM stays for what it is good at here (migrations, the entity schemas), but the unit of
// work of every RPC goes straight to the driver: the benchmark's profile (docs/performance.md)
// showed em.fork() + em.transactional() + em.execute() costing more Node CPU than the statements
// themselves, and inlined values made PostgreSQL parse and plan every statement every time.
import { Pool, type PoolClient, type QueryConfig, type QueryResult } from "pg";
import { limits } from "../limits";

// pg's own result and value-serialization code, reused so that a pipeline's rows are parsed and
// its parameters sent exactly as a plain client.query() would (pg ships no types for these).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const PgResult = require("pg/lib/result") as new () => PipelineResult;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pgUtils = require("pg/lib/utils") as { prepareValue(value: unknown): unknown };

export interface PgOptions {
  url: string;
  /** Called when a pooled connection fails (the database restarted, a network cut). */
  onConnectionError?: (err: Error) => void;
}

/**
 * The statements of this process, by SQL text: `?` placeholders rewritten to `$n` once, and a
 * prepared-statement name for the first `limits.dbPreparedStatementsMax` distinct texts. SQL
 * texts are constants of the code (only the length of an `IN (...)` list varies, and it is
 * bounded by request limits), so the cap is a guard, not an eviction policy: texts past it run
 * unnamed, which is correct, only slower.
 */
class StatementCache {
  private readonly statements = new Map<string, { text: string; name?: string }>();
  private named = 0;

  get(sql: string): { text: string; name?: string } {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = { text: toNumberedPlaceholders(sql) };
      if (this.named < limits.dbPreparedStatementsMax) statement.name = `bankd_${++this.named}`;
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

export class PgPool {
  private readonly pool: Pool;
  private readonly statements = new StatementCache();

  constructor(opts: PgOptions) {
    this.pool = new Pool({
      connectionString: opts.url,
      max: limits.dbPoolMax,
      connectionTimeoutMillis: limits.dbConnectTimeoutMs,
      idleTimeoutMillis: limits.dbIdleTimeoutMs,
      statement_timeout: limits.statementTimeoutMs,
      application_name: "bankd",
      keepAlive: true,
    });
    // A connection that dies (restart, network) emits 'error': while idle the pool's listener
    // drops it and re-emits here; while checked out between two statements nobody listens, and
    // an unheard 'error' event would crash the process. So every connection gets a listener
    // for life; the transaction's next statement then fails as unavailable and the connection
    // is discarded on release.
    this.pool.on("error", () => undefined);
    this.pool.on("connect", (client) => client.on("error", (err) => opts.onConnectionError?.(err)));
  }

  connect(): Promise<PoolClient> {
    return this.pool.connect();
  }

  /** Runs one statement on `client` (or on any pooled connection for single reads). */
  query(client: PoolClient | Pool | undefined, sql: string, params: unknown[]): Promise<QueryResult> {
    const statement = this.statements.get(sql);
    const config: QueryConfig = { text: statement.text, values: params.map((p) => (p === undefined ? null : p)) };
    if (statement.name) config.name = statement.name;
    return (client ?? this.pool).query(config);
  }

  /**
   * Sends several statements in ONE round trip (PostgreSQL's extended protocol, one Sync at the
   * end) and returns their results in order. They run one after the other, as if sent
   * separately; the first error skips the rest (a transaction is then aborted) and rejects.
   */
  pipeline(client: PoolClient, sqls: readonly { sql: string; params: unknown[] }[]): Promise<QueryResult[]> {
    const statements = sqls.map(({ sql, params }) => ({ ...this.statements.get(sql), values: params.map((p) => (p === undefined ? null : p)) }));
    return new Promise((resolve, reject) => {
      const pipeline = new Pipeline(statements, (err, results) => {
        if (!err) return resolve(results!);
        // A statement first parsed in a failed pipeline may or may not exist on the server now;
        // the caller discards the connection rather than guess.
        if (pipeline.parsedHere) (err as PipelineError).connectionUncertain = true;
        reject(err);
      });
      (client as unknown as { query(q: Pipeline): void }).query(pipeline);
    });
  }

  stats(): { used: number; free: number; pending: number } {
    return { used: this.pool.totalCount - this.pool.idleCount, free: this.pool.idleCount, pending: this.pool.waitingCount };
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** `a = ? AND b = ?` -> `a = $1 AND b = $2`; question marks inside quoted text are left alone. */
export function toNumberedPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = undefined;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === "?") {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  return out;
}

interface PipelineResult extends QueryResult {
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): Record<string, unknown>;
  addRow(row: Record<string, unknown>): void;
  addCommandComplete(msg: unknown): void;
}

export interface PipelineError extends Error {
  /** A statement was prepared by the failed pipeline: whether it exists is unknown. */
  connectionUncertain?: boolean;
  /** The results of the statements that completed before the failing one, in order. */
  completedResults?: QueryResult[];
}

/** The parts of pg's Connection a pipeline writes to. */
interface PgConnection {
  stream: { cork?(): void; uncork?(): void };
  parsedStatements: Record<string, string>;
  parse(msg: { text: string; name: string; types: number[] }): void;
  bind(msg: { statement: string; portal: string; values: unknown[]; valueMapper: (v: unknown) => unknown }): void;
  describe(msg: { type: "P"; name: string }): void;
  execute(msg: { portal: string; rows: number }): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

/**
 * A submittable for pg's Client: Parse (first use per connection) / Bind / Describe / Execute
 * for each statement, then one Sync, written with one corked write. pg's Client hands it the
 * backend's answers (row descriptions, rows, command completions, the error, ReadyForQuery)
 * exactly as it does to its own Query; one CommandComplete ends each statement's result.
 */
class Pipeline {
  private readonly results: PipelineResult[];
  private index = 0;
  private rowError: Error | undefined;
  /** The statement whose rows could not be parsed: its result is incomplete. */
  private rowErrorAt = Infinity;
  private done = false;
  /** True when this pipeline sent a Parse: the statement exists only if it got that far. */
  parsedHere = false;

  constructor(
    private readonly statements: { text: string; name?: string; values: unknown[] }[],
    private readonly callback: (err: Error | null, results?: QueryResult[]) => void,
  ) {
    this.results = statements.map(() => new PgResult());
  }

  submit(connection: PgConnection): Error | null {
    // Values are serialized before anything is written: a value pg cannot send fails the
    // pipeline here, with nothing on the wire, which pg's Client reports as this query's error.
    let values: unknown[][];
    try {
      values = this.statements.map((s) => s.values.map((v) => pgUtils.prepareValue(v)));
    } catch (err) {
      return err as Error;
    }
    connection.stream.cork?.();
    try {
      for (const [i, s] of this.statements.entries()) {
        const name = s.name ?? "";
        if (!name || connection.parsedStatements[name] !== s.text) {
          connection.parse({ text: s.text, name, types: [] });
          if (name) {
            connection.parsedStatements[name] = s.text;
            this.parsedHere = true;
          }
        }
        connection.bind({ statement: name, portal: "", values: values[i]!, valueMapper: (v) => v });
        connection.describe({ type: "P", name: "" });
        connection.execute({ portal: "", rows: 0 });
      }
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(msg: { fields: unknown[] }): void {
    this.results[this.index]?.addFields(msg.fields);
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    const result = this.results[this.index];
    if (!result || this.rowError) return;
    try {
      result.addRow(result.parseRow(msg.fields));
    } catch (err) {
      this.rowError = err as Error;
      this.rowErrorAt = this.index;
    }
  }

  handleCommandComplete(msg: unknown): void {
    this.results[this.index]?.addCommandComplete(msg);
    this.index++;
  }

  handleEmptyQuery(): void {
    this.index++;
  }

  handlePortalSuspended(): void {
    // Never asked for: every Execute fetches all rows.
  }

  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail("COPY is not supported in a pipeline");
  }

  handleCopyData(): void {
    // See handleCopyInResponse.
  }

  handleError(err: Error): void {
    this.finish(err);
  }

  handleReadyForQuery(): void {
    if (this.rowError) return this.finish(this.rowError);
    if (this.index !== this.statements.length) return this.finish(new Error(`pipeline: ${this.index} of ${this.statements.length} statements completed`));
    this.finish(null);
  }

  private finish(err: Error | null): void {
    if (this.done) return;
    this.done = true;
    if (err) (err as PipelineError).completedResults = this.results.slice(0, Math.min(this.index, this.rowErrorAt));
    this.callback(err, err ? undefined : this.results);
  }
}
