// The kysely dialect MikroORM 7 runs bankd's PostgreSQL queries on: kysely's PostgresDialect (its
// query compiler, adapter and introspector) with a driver of bankd's own over the pg Pool that
// bankd makes (src/db/postgres-engine.ts). The driver is written against kysely's public Driver and
// DatabaseConnection interfaces and pg's public Client API; it differs from kysely's own
// PostgresDriver in four ways, each for a measured reason (docs/performance.md):
//
// 1. Named prepared statements. A statement with parameters runs as a named statement (pg's
//    `{ name, text, values }`), so the database parses and plans it once per connection instead of
//    once per call. Names are derived from the text; at most limits.dbPreparedStatementsMax
//    distinct texts per connection are named, the rest run unnamed. Behind a transaction pooler
//    (PgBouncer in transaction mode, BANK_DATABASE_DIRECT_URL set) every statement is unnamed: a
//    named statement prepared in one transaction may be looked for on another server connection.
// 2. BEGIN travels with the transaction's first statement. pg's `pipeline` mode (a public Client
//    option) writes queued queries without waiting for the previous answer; the driver defers
//    BEGIN (and, behind a pooler, SET LOCAL statement_timeout) until the first statement and
//    sends both at once: one round trip instead of two. A transaction that ends without a
//    statement sends nothing at all.
// 3. A transaction's connection always goes back to the pool, even when ROLLBACK fails (the
//    connection died inside the transaction): the failed ROLLBACK is reported and swallowed, and
//    the connection is destroyed rather than reused. kysely's ControlledTransaction releases a
//    connection only after its ROLLBACK succeeded, so each such failure would otherwise leak one
//    of limits.dbPoolMax slots for the life of the process.
// 4. Round trips are counted (bankd_db_round_trips_total), so the engine's budget of round trips
//    per batch is observable and tested.
import { createHash } from "node:crypto";
import { CompiledQuery, PostgresDialect, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from "kysely";
import type { PoolClient, QueryResult as PgResult } from "pg";
import { limits } from "../limits";

/** Where connections come from: a pg Pool, or (a multi-host URL) the pool of the host that is
 * the primary now (src/db/primary.ts, FollowingPool). */
export interface ConnectionSource {
  connect(): Promise<PoolClient>;
  end(): Promise<void>;
  /** The pool's configuration (kysely's PostgresPool shape names it; bankd's driver ignores it). */
  readonly options: object;
}

export interface BankdPostgresDialectOptions {
  pool: ConnectionSource;
  /** A statement, COMMIT or ROLLBACK failed (the follower of a multi-host URL looks at it: a lost
   * connection or a write refused as read-only sends it looking for the primary). */
  onStatementError?: (err: unknown) => void;
  /** The URL is a transaction pooler's: no named statements, statement_timeout per transaction. */
  pooled: boolean;
  /** A ROLLBACK failed (its connection was gone); the connection was released all the same. */
  onRollbackFailed?: (err: unknown) => void;
  /** Each round trip to the database (a message exchange the client waited for). */
  onRoundTrip?: () => void;
}

const COUNTED_COMMANDS = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

/** Statement names by text, made once per text (a digest per call showed in the read profile). */
const names = new Map<string, string>();

function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    name = `bankd_${createHash("sha1").update(sql).digest("hex").slice(0, 20)}`;
    if (names.size >= limits.dbPreparedStatementsMax) names.clear();
    names.set(sql, name);
  }
  return name;
}

class BankdPostgresConnection implements DatabaseConnection {
  /** The BEGIN (and prelude) to send with the next statement, when a transaction has begun. */
  pendingBegin: string | undefined;
  /** Statement names this connection has prepared (pg keeps the prepared statements). */
  private readonly named = new Set<string>();
  /** ROLLBACK failed: the connection is destroyed when released. */
  broken = false;

  constructor(
    readonly client: PoolClient,
    private readonly opts: BankdPostgresDialectOptions,
  ) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const values = compiled.parameters as unknown[];
    const config = { text: compiled.sql, values, ...(this.nameFor(compiled.sql, values.length) ?? {}) };
    const begin = this.pendingBegin;
    this.pendingBegin = undefined;
    this.opts.onRoundTrip?.();
    try {
      return await this.run(config, begin);
    } catch (err) {
      this.opts.onStatementError?.(err);
      throw err;
    }
  }

  private async run<R>(config: { text: string; values: unknown[]; name?: string }, begin: string | undefined): Promise<QueryResult<R>> {
    let result: PgResult;
    if (begin === undefined) {
      result = await this.client.query(config);
    } else {
      // Both leave now (pipeline mode); BEGIN's answer arrives first. If BEGIN failed the
      // connection is unusable (it is the first statement of a transaction on an idle
      // connection), and the statement's own failure or result is moot.
      const began = this.client.query(begin);
      const statement = this.client.query(config);
      try {
        await began;
      } catch (err) {
        await statement.catch(() => undefined);
        throw err;
      }
      result = await statement;
    }
    return {
      numAffectedRows: COUNTED_COMMANDS.has(result.command) ? BigInt(result.rowCount ?? 0) : undefined,
      rows: (result.rows ?? []) as R[],
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("streaming queries are not used by bankd");
  }

  /** A statement with parameters is named after its text (up to the cap per connection). */
  private nameFor(sql: string, parameters: number): { name: string } | undefined {
    if (this.opts.pooled || parameters === 0) return undefined;
    const name = statementName(sql);
    if (this.named.has(name)) return { name };
    if (this.named.size >= limits.dbPreparedStatementsMax) return undefined;
    this.named.add(name);
    return { name };
  }
}

class BankdPostgresDriver implements Driver {
  private readonly connections = new WeakMap<PoolClient, BankdPostgresConnection>();

  constructor(private readonly opts: BankdPostgresDialectOptions) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const client = await this.opts.pool.connect();
    let connection = this.connections.get(client);
    if (!connection) {
      connection = new BankdPostgresConnection(client, this.opts);
      this.connections.set(client, connection);
    }
    return connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let begin = "BEGIN";
    if (settings.isolationLevel || settings.accessMode) {
      begin = `START TRANSACTION${settings.isolationLevel ? ` ISOLATION LEVEL ${settings.isolationLevel.toUpperCase()}` : ""}${settings.accessMode ? ` ${settings.accessMode.toUpperCase()}` : ""}`;
    }
    // Behind a transaction pooler no session setting survives the transaction (nor may be sent
    // at connect): the statement timeout is the transaction's own.
    if (this.opts.pooled) begin += `; SET LOCAL statement_timeout = ${limits.statementTimeoutMs}`;
    (connection as BankdPostgresConnection).pendingBegin = begin;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as BankdPostgresConnection;
    // Nothing was sent: there is no transaction to commit.
    if (c.pendingBegin !== undefined) {
      c.pendingBegin = undefined;
      return;
    }
    this.opts.onRoundTrip?.();
    try {
      await c.client.query("COMMIT");
    } catch (err) {
      this.opts.onStatementError?.(err);
      throw err;
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as BankdPostgresConnection;
    if (c.pendingBegin !== undefined) {
      c.pendingBegin = undefined;
      return;
    }
    try {
      this.opts.onRoundTrip?.();
      await c.client.query("ROLLBACK");
    } catch (err) {
      // The connection is gone (nothing of the transaction committed); release it all the same,
      // and never hand it out again.
      c.broken = true;
      this.opts.onStatementError?.(err);
      this.opts.onRollbackFailed?.(err);
    }
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`SAVEPOINT ${quoteIdent(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`ROLLBACK TO SAVEPOINT ${quoteIdent(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`RELEASE SAVEPOINT ${quoteIdent(name)}`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as BankdPostgresConnection;
    c.pendingBegin = undefined;
    if (c.broken) {
      this.connections.delete(c.client);
      // pg destroys a client released with an error instead of returning it to the pool.
      c.client.release(new Error("ROLLBACK failed: connection discarded"));
      return;
    }
    c.client.release();
  }

  async destroy(): Promise<void> {
    await this.opts.pool.end();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export class BankdPostgresDialect extends PostgresDialect {
  constructor(private readonly opts: BankdPostgresDialectOptions) {
    super({ pool: opts.pool });
  }

  override createDriver(): Driver {
    return new BankdPostgresDriver(this.opts);
  }
}
