// PostgreSQL at run time: a plain `pg` pool, statements with bind parameters, and the hot
// statements prepared once per connection.
//
// MikroORM stays for what it is good at here (migrations, the entity schemas), but the unit of
// work of every RPC goes straight to the driver: the benchmark's profile (docs/performance.md)
// showed em.fork() + em.transactional() + em.execute() costing more Node CPU than the statements
// themselves, and inlined values made PostgreSQL parse and plan every statement every time.
import { Pool, type PoolClient, type QueryConfig, type QueryResult } from "pg";
import { limits } from "../limits";

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
