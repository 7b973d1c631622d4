// The database's errors, as the layers above see them: unavailable (retry elsewhere or later),
// a conflict that persisted after retries, a call that ended before its work committed, a write
// on the read replica; and the sorting of a driver's (or MikroORM's) error into what the caller
// can do about it. No imports: the edge (src/transport/errors.ts) maps these to wire codes.

export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super("database unavailable", { cause });
    this.name = "DatabaseUnavailableError";
  }
}

export class TransactionConflictError extends Error {
  constructor(cause: unknown) {
    super("transaction conflict persisted after retries", { cause });
    this.name = "TransactionConflictError";
  }
}

/** The caller's deadline passed (or the caller went away) before the unit of work committed:
 * it was rolled back, or never started. */
export class CallAbortedError extends Error {
  constructor(readonly reason: unknown) {
    super("the call ended before its work committed");
    this.name = "CallAbortedError";
  }
}

/** A write was attempted through the read replica's connection: a programming error, never
 * retried elsewhere (the replica serves reads only). */
export class ReadOnlyViolationError extends Error {
  constructor(what: string) {
    super(`${what} on the read-only replica database`);
    this.name = "ReadOnlyViolationError";
  }
}

export type DbErrorKind = "conflict" | "unavailable" | "unique" | "other";

/** Sorts a driver (or MikroORM) error into what the caller can do about it. */
export function classifyDbError(err: unknown): DbErrorKind {
  if (err instanceof DatabaseUnavailableError) return "unavailable";
  const e = err as { code?: string; errno?: number; message?: string; name?: string; cause?: unknown } | undefined;
  if (!e || typeof e !== "object") return "other";
  const code = String(e.code ?? "");
  const message = e.message ?? "";
  // PostgreSQL SQLSTATEs: 40001 serialization_failure, 40P01 deadlock_detected.
  if (code === "40001" || code === "40P01" || e.name === "DeadlockException") return "conflict";
  // SQLite (better-sqlite3 reports extended result codes, SQLITE_BUSY_SNAPSHOT and the like):
  // another process holds the write lock past busy_timeout, or a stale snapshot.
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "conflict";
  if (code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || e.name === "UniqueConstraintViolationException") return "unique";
  if (code.startsWith("SQLITE_CONSTRAINT") && /UNIQUE constraint failed/.test(message)) return "unique";
  // 25006 read_only_sql_transaction: a write reached a host that no longer accepts writes (a
  // primary demoted by a switchover, or a new one not yet open for writes); nothing of it
  // committed, and the pool follows the new primary (src/db/primary.ts).
  if (code === "25006") return "unavailable";
  // Connection-level failures: refused, reset, terminated, admin shutdown, too many clients,
  // pool acquisition time-outs. 57014: statement_timeout (a stalled database); 55P03: a lock not
  // available in time. Nothing of the statement committed, so the caller may retry with the
  // same request_id.
  if (["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN",
    "57P01", "57P02", "57P03", "57014", "55P03", "53300", "08000", "08003", "08006", "08001", "08004"].includes(code)) return "unavailable";
  // SQLite: the file cannot be opened, read or written (disk full, removed, I/O error).
  if (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_IOERR") || code === "SQLITE_FULL" || code.startsWith("SQLITE_READONLY")) return "unavailable";
  // pg: a connection that ended under a query or before one, and the pool's wait for a
  // connection; better-sqlite3: a statement on a closed database.
  if (/Connection terminated|terminating connection|timeout exceeded when trying to connect|Client was closed and is not queryable|connect ECONNREFUSED|Client has encountered a connection error|Connection ended unexpectedly|Cannot use a pool after calling end|The database connection is not open/.test(message)) {
    return "unavailable";
  }
  if (e.name === "ConnectionException" || e.name === "LockWaitTimeoutException") return "unavailable";
  if (e.cause && e.cause !== err) return classifyDbError(e.cause);
  return "other";
}
