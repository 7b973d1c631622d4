// The kysely dialect MikroORM 7 runs bankd's SQLite queries on: kysely's SqliteDialect (its query
// compiler, adapter and introspector) with a driver of bankd's own over the better-sqlite3 database,
// written against kysely's public Driver and DatabaseConnection interfaces. It differs from kysely's
// SqliteDriver in one way: statements are prepared once and kept (better-sqlite3's prepare() parses
// and plans the text every time; the posting engine's statements are constants of the code, and a
// transfer runs about ten of them). At most limits.dbPreparedStatementsMax texts are kept; past
// that the cache starts over.
import Database from "better-sqlite3";
import { CompiledQuery, SqliteDialect, type DatabaseConnection, type Driver, type QueryResult } from "kysely";
import { limits } from "../limits";

export interface BankdSqliteDialectOptions {
  /** The database file (or ":memory:"). */
  file: string;
  /** Statements run on the connection when it opens (pragmas). */
  pragmas: readonly string[];
}

class CachingSqliteConnection implements DatabaseConnection {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      if (this.statements.size >= limits.dbPreparedStatementsMax) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.prepare(compiled.sql);
    const parameters = compiled.parameters as unknown[];
    if (stmt.reader) return { rows: stmt.all(parameters) as R[] };
    const { changes, lastInsertRowid } = stmt.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: lastInsertRowid != null ? BigInt(lastInsertRowid) : undefined, rows: [] };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("streaming queries are not used by bankd");
  }
}

class CachingSqliteDriver implements Driver {
  private connection?: CachingSqliteConnection;

  constructor(private readonly opts: BankdSqliteDialectOptions) {}

  async init(): Promise<void> {
    // No busy wait inside better-sqlite3 (see SQLITE_PRAGMAS): timeout 0.
    const db = new Database(this.opts.file, { timeout: 0 });
    for (const pragma of this.opts.pragmas) db.exec(pragma);
    this.connection = new CachingSqliteConnection(db);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (!this.connection) throw new Error("the SQLite database is not open");
    return this.connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("BEGIN"));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("COMMIT"));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("ROLLBACK"));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`SAVEPOINT "${name.replace(/"/g, '""')}"`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`ROLLBACK TO SAVEPOINT "${name.replace(/"/g, '""')}"`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`RELEASE SAVEPOINT "${name.replace(/"/g, '""')}"`));
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    this.connection?.db.close();
    this.connection = undefined;
  }
}

export class BankdSqliteDialect extends SqliteDialect {
  constructor(private readonly opts: BankdSqliteDialectOptions) {
    // kysely's own driver is never made (createDriver below); its database option is unused.
    super({ database: undefined as never });
  }

  override createDriver(): Driver {
    return new CachingSqliteDriver(this.opts);
  }
}
