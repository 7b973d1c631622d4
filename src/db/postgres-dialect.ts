// The kysely dialect MikroORM 7 runs bankd's PostgreSQL queries on: kysely's own PostgresDialect
// over a pg Pool that bankd makes (src/db/postgres-engine.ts), with one change to its driver: a
// transaction's connection always goes back to the pool, even when ROLLBACK fails.
//
// Why: kysely's ControlledTransaction (MikroORM's em.transactional) releases the connection only
// after its ROLLBACK succeeded. When the database connection died inside a transaction (a
// restart, a killed backend, the network), the ROLLBACK fails too, the connection is never
// released, and the pool keeps counting it as checked out: each such failure would leak one of
// limits.dbPoolMax slots for the life of the process, and closing the pool would wait forever.
// Here a failed ROLLBACK is reported to the caller's log and swallowed, so kysely releases the
// connection; pg's pool drops a connection that is no longer queryable instead of reusing it.
// (The transaction's own error, the reason it rolled back, still reaches the caller.)
import { PostgresDialect, type DatabaseConnection, type Driver, type PostgresDialectConfig, type TransactionSettings } from "kysely";

/** A driver that forwards everything to kysely's PostgreSQL driver, but never fails a ROLLBACK. */
class ReleasingDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly onRollbackFailed: (err: unknown) => void,
  ) {}

  init(options?: Parameters<Driver["init"]>[0]) {
    return this.inner.init(options);
  }

  acquireConnection(options?: Parameters<Driver["acquireConnection"]>[0]) {
    return this.inner.acquireConnection(options);
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection) {
    return this.inner.commitTransaction(connection);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.inner.rollbackTransaction(connection);
    } catch (err) {
      // The connection is gone (nothing of the transaction committed); release it all the same.
      this.onRollbackFailed(err);
    }
  }

  savepoint(...args: Parameters<NonNullable<Driver["savepoint"]>>) {
    return this.inner.savepoint!(...args);
  }

  rollbackToSavepoint(...args: Parameters<NonNullable<Driver["rollbackToSavepoint"]>>) {
    return this.inner.rollbackToSavepoint!(...args);
  }

  releaseSavepoint(...args: Parameters<NonNullable<Driver["releaseSavepoint"]>>) {
    return this.inner.releaseSavepoint!(...args);
  }

  releaseConnection(connection: DatabaseConnection, options?: Parameters<Driver["releaseConnection"]>[1]) {
    return this.inner.releaseConnection(connection, options);
  }

  destroy(options?: Parameters<Driver["destroy"]>[0]) {
    return this.inner.destroy(options);
  }
}

export class BankdPostgresDialect extends PostgresDialect {
  constructor(
    config: PostgresDialectConfig,
    private readonly onRollbackFailed: (err: unknown) => void,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return new ReleasingDriver(super.createDriver(), this.onRollbackFailed);
  }
}
