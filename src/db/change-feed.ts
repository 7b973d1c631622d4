// The change feed: how a process learns that ledger entries or account status changes (freeze,
// unfreeze, close) were committed by ANY process on the same database, so that WatchAccount
// streams hear of them when made elsewhere. It carries only a wake-up; watchers then read the
// entries and statuses from the tables (nothing committed is ever missed).
// - PostgreSQL: LISTEN on one connection of its own per process, opened directly from the
//   database URL: BANK_DATABASE_DIRECT_URL when BANK_DATABASE_URL is a transaction-pooling proxy
//   (PgBouncer), whose server connections change between transactions and would lose a
//   session-level LISTEN; else BANK_DATABASE_URL. Fed by
//   the NOTIFY each posting batch and each status change (payload "status") sends in its
//   transaction (delivered at COMMIT, never for a transaction rolled back). The connection
//   is reopened after a failure, and every listener is woken then (statuses included), in case a
//   NOTIFY was lost.
// - SQLite (several processes may share the file): one poll per process of the newest entry id
//   and the newest audit row (a status change writes one in its transaction; its rowid only grows,
//   audit rows are never deleted), every limits.watchPollMs while anyone listens. Other audited
//   actions wake the watchers' status read too: one read for nothing, at most once a poll.
import { Client } from "pg";
import { limits } from "../limits";
import type { Database } from "./database";

export interface ChangeFeed {
  /** Stops listening; no wake-up after it resolves. */
  close(): Promise<void>;
}

const CHANNEL = "bankd_entries";
/** The payload of a status change's NOTIFY (postgres-engine.ts notifyStatusSql); entries send "". */
const STATUS_PAYLOAD = "status";

/** Starts the change feed of `db`; `onWake` is called after commits, with `statuses` true when an
 * account's status may have changed (false: only entries were committed). */
export type OnWake = (statuses: boolean) => void;

export function openChangeFeed(db: Database, onWake: OnWake, onError: (err: unknown) => void = () => undefined): ChangeFeed {
  return db.config.kind === "postgres" ? listenPostgres(db, onWake, onError) : pollSqlite(db, onWake, onError);
}

/** LISTEN where db.sessionUrl() says: with a multi-host URL the primary of the moment, and again
 * on the new one when the pool moves (a NOTIFY is only heard on the host that committed it). */
function listenPostgres(db: Database, onWake: OnWake, onError: (err: unknown) => void): ChangeFeed {
  return new PostgresListener(db, onWake, onError);
}

class PostgresListener implements ChangeFeed {
  private closed = false;
  private client: Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  /** Bumped by every reconnect: a connection begun before it is stale and closes itself. */
  private generation = 0;
  private readonly offHostChange: () => void;

  constructor(
    private readonly db: Database,
    private readonly onWake: OnWake,
    private readonly onError: (err: unknown) => void,
  ) {
    this.offHostChange = db.onHostChange((available) => {
      // The primary moved: listen there (the old host's connection is dead or soon demoted).
      if (available && !this.closed) this.reconnect(0);
    });
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.offHostChange();
    clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const mine = this.generation;
    const stale = () => this.closed || mine !== this.generation;
    let url: string;
    try {
      url = await this.db.sessionUrl();
    } catch (err) {
      if (stale()) return;
      this.onError(err);
      this.reconnect();
      return;
    }
    if (stale()) return;
    const c = new Client({ connectionString: url, application_name: "bankd-listen", connectionTimeoutMillis: limits.dbConnectTimeoutMs, keepAlive: true });
    this.client = c;
    c.on("notification", (msg) => {
      if (msg.channel === CHANNEL) this.onWake(msg.payload === STATUS_PAYLOAD);
    });
    c.on("error", (err) => {
      if (stale()) return;
      this.onError(err);
      this.reconnect();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      if (stale()) await c.end();
      // Commits made while no one listened are caught up by one wake-up.
      else this.onWake(true);
    } catch (err) {
      if (stale()) {
        c.end().catch(() => undefined);
        return;
      }
      this.onError(err);
      this.reconnect();
    }
  }

  private reconnect(delayMs: number = limits.watchReconnectMs): void {
    this.generation++;
    const dead = this.client;
    this.client = undefined;
    dead?.end().catch(() => undefined);
    if (this.closed) return;
    if (this.retry) {
      if (delayMs > 0) return;
      clearTimeout(this.retry);
    }
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, delayMs);
    this.retry.unref();
  }
}

function pollSqlite(db: Database, onWake: OnWake, onError: (err: unknown) => void): ChangeFeed {
  let last: { entries: number; audit: number } | undefined;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = (async () => {
      try {
        const row = await db.read((tx) => tx.one<{ id: number | null; audit: number | null }>(`SELECT (SELECT MAX(id) FROM entries) AS id, (SELECT MAX(rowid) FROM audit_events) AS audit`));
        const newest = { entries: Number(row?.id ?? 0), audit: Number(row?.audit ?? 0) };
        // The first poll wakes too: commits between the feed's start and its first poll count.
        const statuses = newest.audit !== last?.audit;
        if (statuses || newest.entries !== last?.entries) onWake(statuses);
        last = newest;
      } catch (err) {
        onError(err);
      } finally {
        running = undefined;
      }
    })();
  }, limits.watchPollMs);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
