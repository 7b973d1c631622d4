// The change feed: how a process learns that ledger entries were committed by ANY process on the
// same database, so that WatchAccount streams hear of postings made elsewhere. It carries only a
// wake-up; watchers then read the entries from the table (nothing committed is ever missed).
// - PostgreSQL: LISTEN on one connection of its own per process, opened directly from the
//   database URL: BANK_DATABASE_DIRECT_URL when BANK_DATABASE_URL is a transaction-pooling proxy
//   (PgBouncer), whose server connections change between transactions and would lose a
//   session-level LISTEN; else BANK_DATABASE_URL. Fed by
//   the NOTIFY each posting batch sends in its transaction (delivered at COMMIT). The connection
//   is reopened after a failure, and every listener is woken then, in case a NOTIFY was lost.
// - SQLite (several processes may share the file): one poll per process of the newest entry id,
//   every limits.watchPollMs while anyone listens.
import { Client } from "pg";
import { limits } from "../limits";
import type { Database } from "./database";

export interface ChangeFeed {
  /** Stops listening; no wake-up after it resolves. */
  close(): Promise<void>;
}

const CHANNEL = "bankd_entries";

/** Starts the change feed of `db`; `onWake` is called (without arguments) after commits. */
export function openChangeFeed(db: Database, onWake: () => void, onError: (err: unknown) => void = () => undefined): ChangeFeed {
  return db.config.kind === "postgres" ? listenPostgres(db.config.directUrl ?? db.config.url, onWake, onError) : pollSqlite(db, onWake, onError);
}

function listenPostgres(url: string, onWake: () => void, onError: (err: unknown) => void): ChangeFeed {
  let closed = false;
  let client: Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const c = new Client({ connectionString: url, application_name: "bankd-listen", connectionTimeoutMillis: limits.dbConnectTimeoutMs, keepAlive: true });
    client = c;
    c.on("notification", (msg) => {
      if (msg.channel === CHANNEL) onWake();
    });
    c.on("error", (err) => {
      onError(err);
      reconnect();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      if (closed) await c.end();
      // Commits made while no one listened are caught up by one wake-up.
      else onWake();
    } catch (err) {
      onError(err);
      reconnect();
    }
  };
  const reconnect = () => {
    const dead = client;
    client = undefined;
    dead?.end().catch(() => undefined);
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, limits.watchReconnectMs);
    retry.unref();
  };
  void connect();
  return {
    close: async () => {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}

function pollSqlite(db: Database, onWake: () => void, onError: (err: unknown) => void): ChangeFeed {
  let last: number | undefined;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = (async () => {
      try {
        const row = await db.read((tx) => tx.one<{ id: number | null }>(`SELECT MAX(id) AS id FROM entries`));
        const newest = Number(row?.id ?? 0);
        // The first poll wakes too: commits between the feed's start and its first poll count.
        if (newest !== last) onWake();
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
