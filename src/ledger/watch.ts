// WatchAccount (docs/api.md, Additions): an account's statement entries as a resumable stream. A watcher
// first receives every entry after its start cursor, then each new entry after its commit, in
// statement order, by whichever process posted it.
//
// Why nothing is missed and nothing is sent twice: an account's entries are numbered 1, 2, 3...
// (entries.seq) under the account's row lock, so seq N+1 never commits before seq N. Each watcher
// remembers the last seq it was given and every read asks for `seq > last` (and at most as many
// as it has room for: seq has no gaps, so `seq <= last + room` bounds it exactly). Catch-up and
// live delivery are the same read, so the switch between them cannot skip or repeat an entry.
//
// One hub per process: one read per wake-up for every watcher together (one statement), woken by
// this process's posting engine after each commit and by the change feed for other processes'
// commits (db/change-feed.ts). A watcher's buffer is bounded; a client that stops reading while
// entries wait is cut off with WATCH_TOO_SLOW and resumes from its cursor.
//
// Status changes (issue 28) are states, not events: each watcher remembers the status it last
// reported (the first message reports the account as the stream opens), and a read round may also
// ask, in one statement, which watched accounts now have another status; those get the account as
// it is now. So a change is never reported before its commit (it is read from the table), a
// reconnect never misses one (the first message carries the state), and wake-ups may be doubled
// without harm. That statement runs only in rounds after a wake-up saying a status may have
// changed (a local status command after its commit, through Ledger.onStatusCommitted; a NOTIFY
// with the status payload; SQLite's poll of the audit table; a feed reconnect; a new watcher) or
// while a change is still owed or a watcher has reported FROZEN (rare): the rounds postings cause
// read entries only, as before. Its place among the entries: money never moves on a frozen or
// closed account, so a change to FROZEN or CLOSED follows every entry its read saw (entry_count
// of the same row, read after the entries of the round), and a change back to ACTIVE comes before
// the entries not yet sent (all posted after the unfreeze, which the read after them sees).
import { openChangeFeed, type ChangeFeed } from "../db/change-feed";
import { resourceExhausted, unavailable } from "../errors";
import { limits } from "../limits";
import type { Logger } from "../logger";
import { accessAccount, isStaff } from "./access";
import type { Ledger } from "./ledger";
import { assert } from "./engine/batch-rows";
import { entryCursor, parseEntryCursor, statementLine } from "./reads";
import { changedStatuses, readAccount } from "./store/accounts";
import { withoutCount } from "./store/columns";
import { watchedStatementRows } from "./store/transactions";
import type { AccountStatus, AccountView, Actor, StatementLine } from "./types";
import { parseId } from "./validate";

/** What a watch stream sends: an entry, the account after a status change, or a heartbeat carrying
 * the cursor to resume from (the first one with the account as the stream opens). */
export type WatchEvent = { line: StatementLine; cursor: string } | { account: AccountView; cursor: string } | { heartbeat: true; cursor: string; account?: AccountView };

/** What waits in a watcher's buffer, in the order the stream sends it. */
type Pending = { line: StatementLine } | { account: AccountView };

interface Watcher {
  id: number;
  actor: Actor;
  accountId: string;
  /** The last seq handed to the buffer. */
  afterSeq: number;
  /** The status last handed to the buffer (or reported by the first message). */
  status: AccountStatus;
  /** Set once the account is closed: the stream ends when the entries up to this seq are sent. */
  endAfterSeq?: number;
  buffer: Pending[];
  /** When the buffer last became full while entries waited (0: not full). */
  fullSinceMs: number;
  /** Wakes the stream waiting for entries. */
  notify: () => void;
  /** Set when the hub ends the stream (too slow, draining). */
  ended?: unknown;
}

export class AccountWatchers {
  private readonly watchers = new Map<number, Watcher>();
  private readonly perUser = new Map<string, number>();
  private readonly perAddress = new Map<string, number>();
  private nextId = 1;
  private feed: ChangeFeed | undefined;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private draining = false;
  /** Bumped by every wake-up that says a status may have changed; a round whose status read ran
   * records the value it saw, so a bump during that read asks for another one. */
  private statusWanted = 0;
  private statusRead = 0;

  /** Streams cut off with WATCH_TOO_SLOW since start (readers that stopped reading). */
  slowReadersCutOff = 0;

  private readonly bufferMax: number;
  private readonly stallMs: number;
  private readonly heartbeatMs: number;
  private readonly sessionRecheckMs: number;
  private readonly processMax: number;
  private readonly staffReserve: number;
  private readonly addressMax: number;

  constructor(
    private readonly ledger: Ledger,
    private readonly logger?: Logger,
    /** Tests shorten these; limits.ts has the product's values. */
    opts: { bufferMax?: number; stallMs?: number; heartbeatMs?: number; sessionRecheckMs?: number; processMax?: number; staffReserve?: number; addressMax?: number } = {},
  ) {
    this.processMax = opts.processMax ?? limits.watchersPerProcessMax;
    this.staffReserve = opts.staffReserve ?? limits.watchersStaffReserve;
    this.addressMax = opts.addressMax ?? limits.watchersPerAddressMax;
    this.bufferMax = opts.bufferMax ?? limits.watchBufferMax;
    this.stallMs = opts.stallMs ?? limits.watchStallMs;
    this.heartbeatMs = opts.heartbeatMs ?? limits.watchHeartbeatMs;
    this.sessionRecheckMs = opts.sessionRecheckMs ?? limits.sessionRecheckMs;
    ledger.engine.onCommitted(() => this.wake());
    ledger.onStatusCommitted(() => this.wake(true));
  }

  /**
   * The stream of one watcher. Refusals come before the first event: an unknown or foreign
   * account is NOT_FOUND, a forged or foreign cursor INVALID_ARGUMENT, too many streams
   * RESOURCE_EXHAUSTED. It ends when `signal` fires (the client's deadline or cancel: the error
   * is the signal's reason), when the server drains (UNAVAILABLE SERVER_DRAINING), when the
   * client stops reading (RESOURCE_EXHAUSTED WATCH_TOO_SLOW), or within sessionRecheckMs of the
   * caller's session ending (UNAUTHENTICATED SESSION_ENDED), however busy the account; and it
   * returns (OK) once the account is closed and every entry is sent.
   */
  async *watch(actor: Actor, input: { accountId: string; startAfter: string }, signal: AbortSignal): AsyncGenerator<WatchEvent> {
    const accountId = parseId(input.accountId, "account_id");
    const found = await this.ledger.db.read((tx) => readAccount(tx, accountId), { signal });
    const account = accessAccount(actor, found && withoutCount(found), "read");
    const entryCount = found!.entryCount;
    const afterSeq = input.startAfter === "" ? entryCount : parseEntryCursor(this.ledger, account.id, input.startAfter);
    // A sealed cursor always names an entry that exists; anything else is a bug.
    assert(afterSeq <= entryCount, "a cursor names an entry of the account");
    const watcher = this.add(actor, account.id, afterSeq, account.status);
    // A closed account never gets another entry: what is owed is up to its entry count.
    if (account.status === "CLOSED") watcher.endAfterSeq = entryCount;
    // Every heartbeat carries a cursor, the start position included (an empty account's too), so
    // a client can always resume from the last message it got.
    let cursor = entryCursor(this.ledger, account.id, afterSeq);
    // A stream must not outlive its session (a sign-out, a revocation, a disabled user): the
    // session is checked every sessionRecheckMs, whether entries flow or not (a busy account
    // never waits for a heartbeat, which is when it used to be checked).
    let sessionDueMs = this.ledger.now() + this.sessionRecheckMs;
    let heartbeatDueMs = this.ledger.now() + this.heartbeatMs;
    const checkSessionIfDue = async () => {
      if (!actor.checkSession || this.ledger.now() < sessionDueMs) return;
      await actor.checkSession();
      sessionDueMs = this.ledger.now() + this.sessionRecheckMs;
    };
    try {
      // At once: the client knows the stream is open (and where it starts) before any entry, and
      // the account's state, which it may have missed while away (issue 28).
      yield { heartbeat: true, cursor, account };
      for (;;) {
        await checkSessionIfDue();
        const next = watcher.buffer.shift();
        if (next) {
          watcher.fullSinceMs = 0;
          // Room again: read what is waiting (catch-up of a long backlog goes in these steps).
          if (watcher.buffer.length <= this.bufferMax / 2) this.wake();
          heartbeatDueMs = this.ledger.now() + this.heartbeatMs;
          if ("line" in next) {
            cursor = next.line.cursor;
            yield { line: next.line, cursor };
          } else {
            yield { account: next.account, cursor };
          }
          continue;
        }
        if (watcher.endAfterSeq !== undefined && watcher.afterSeq >= watcher.endAfterSeq) return;
        if (watcher.ended !== undefined) throw watcher.ended;
        if (signal.aborted) throw signal.reason;
        const waitMs = Math.max(0, Math.min(heartbeatDueMs, actor.checkSession ? sessionDueMs : Infinity) - this.ledger.now());
        if (!(await this.next(watcher, signal, waitMs)) && this.ledger.now() >= heartbeatDueMs) {
          await checkSessionIfDue();
          heartbeatDueMs = this.ledger.now() + this.heartbeatMs;
          yield { heartbeat: true, cursor };
        }
      }
    } finally {
      this.remove(watcher);
    }
  }

  /** Ends every stream at once (the server drains): clients reconnect elsewhere from their cursor. */
  drain(): void {
    this.draining = true;
    for (const w of this.watchers.values()) this.end(w, unavailable("SERVER_DRAINING", "The server is shutting down; reconnect and resume from your last cursor."));
  }

  async stop(): Promise<void> {
    this.drain();
    await this.feed?.close();
    this.feed = undefined;
    await this.reading;
  }

  /** Asks for one read round for every watcher (coalesced: at most one read runs at a time);
   * `statuses`: an account's status may have changed, so the round reads statuses too. */
  wake(statuses = false): void {
    if (statuses) this.statusWanted++;
    if (this.watchers.size === 0) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = this.readRounds().finally(() => (this.reading = undefined));
  }

  private add(actor: Actor, accountId: string, afterSeq: number, status: AccountStatus): Watcher {
    if (this.draining) throw unavailable("SERVER_DRAINING", "The server is shutting down; reconnect to another instance.");
    // Staff (the console's live view) may use the whole process cap; everyone else leaves the
    // staff's reserve free (issue 25: 100 customers x 10 streams held all 1,000).
    const processMax = isStaff(actor) ? this.processMax : this.processMax - this.staffReserve;
    if (this.watchers.size >= processMax) {
      throw resourceExhausted("WATCHERS_PER_PROCESS", `This server already serves ${processMax} watch streams; retry later or elsewhere.`, { retry_after_ms: String(limits.watchReconnectMs) });
    }
    const mine = this.perUser.get(actor.userId) ?? 0;
    if (mine >= limits.watchersPerUserMax) {
      throw resourceExhausted("WATCHERS_PER_USER", `At most ${limits.watchersPerUserMax} watch streams per user at once; close one first.`, { max: String(limits.watchersPerUserMax) });
    }
    const fromAddress = this.perAddress.get(actor.clientAddress) ?? 0;
    if (fromAddress >= this.addressMax) {
      throw resourceExhausted("WATCHERS_PER_ADDRESS", `At most ${this.addressMax} watch streams from one client address at once; close one first.`, { max: String(this.addressMax) });
    }
    const watcher: Watcher = { id: this.nextId++, actor, accountId, afterSeq, status, buffer: [], fullSinceMs: 0, notify: () => undefined };
    this.watchers.set(watcher.id, watcher);
    this.perUser.set(actor.userId, mine + 1);
    this.perAddress.set(actor.clientAddress, fromAddress + 1);
    this.feed ??= openChangeFeed(this.ledger.db, (statuses) => this.wake(statuses), (err) => this.logger?.warn({ err }, "watch: change feed failed; reconnecting"));
    // Catch up from the start cursor at once; its status was read before it was added, and may
    // have changed since.
    this.wake(true);
    return watcher;
  }

  private remove(w: Watcher): void {
    if (!this.watchers.delete(w.id)) return;
    const left = (this.perUser.get(w.actor.userId) ?? 1) - 1;
    if (left > 0) this.perUser.set(w.actor.userId, left);
    else this.perUser.delete(w.actor.userId);
    const fromAddress = (this.perAddress.get(w.actor.clientAddress) ?? 1) - 1;
    if (fromAddress > 0) this.perAddress.set(w.actor.clientAddress, fromAddress);
    else this.perAddress.delete(w.actor.clientAddress);
    assert(this.watchers.size >= 0 && [...this.perUser.values()].every((n) => n > 0), "watcher counts stay positive");
    if (this.watchers.size === 0 && this.feed) {
      const feed = this.feed;
      this.feed = undefined;
      void feed.close();
    }
  }

  private end(w: Watcher, error: unknown): void {
    if (w.ended !== undefined) return;
    w.ended = error;
    w.notify();
  }

  /** Waits for entries (true) or `waitMs` (false: a heartbeat or a session check is due);
   * throws when the call ends. */
  private next(w: Watcher, signal: AbortSignal, waitMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const done = (result: () => void) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        w.notify = () => undefined;
        result();
      };
      const onAbort = () => done(() => reject(signal.reason));
      const timer = setTimeout(() => done(() => resolve(false)), waitMs);
      w.notify = () => done(() => resolve(true));
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private async readRounds(): Promise<void> {
    do {
      this.readAgain = false;
      try {
        if (await this.readOnce()) this.readAgain = true;
      } catch (err) {
        // An outage: the watchers keep their positions and the next wake-up reads again.
        this.logger?.warn({ err }, "watch: reading new entries failed");
        return;
      }
    } while (this.readAgain && this.watchers.size > 0);
  }

  /** One read for every watcher with room (and a one-entry probe for full ones, to tell a stalled
   * reader), and of the watched accounts whose status is not the one their watchers last reported.
   * Returns true when the read was capped and more may be waiting. */
  private async readOnce(): Promise<boolean> {
    const nowMs = this.ledger.now();
    const live = [...this.watchers.values()].filter((w) => w.ended === undefined);
    const wanted = live.map((w) => {
      const room = this.bufferMax - w.buffer.length;
      return { w: w.id, account_id: w.accountId, after_seq: w.afterSeq, upto_seq: w.afterSeq + Math.max(room, 1) };
    });
    if (wanted.length === 0) return false;
    const statusWanted = this.statusWanted;
    // A watcher that reported FROZEN reads statuses every round: entries it is given can follow
    // an unfreeze whose own wake-up has not come yet, and must not come before its news.
    const readStatuses = statusWanted !== this.statusRead || live.some((w) => w.status === "FROZEN");
    const reported = live.map((w) => ({ w: w.id, account_id: w.accountId, status: w.status }));
    const { changed, rows } = await this.ledger.db.read(async (tx) => {
      const rows = await watchedStatementRows(tx, wanted, limits.watchReadRowsMax);
      // Statuses after the entries (PostgreSQL reads each statement at its own instant): an
      // unfreeze before an entry just read is seen, and so goes before it (see the top).
      const changed = readStatuses ? await changedStatuses(tx, reported) : [];
      return { changed, rows };
    });
    if (readStatuses) this.statusRead = statusWanted;
    // Per watcher, the status change it is owed and the seq after which it goes.
    const owed = new Map<number, { account: AccountView; afterSeq: number }>();
    for (const { watcherId, account } of changed) {
      const w = this.watchers.get(watcherId);
      if (!w || w.ended !== undefined) continue;
      owed.set(w.id, { account: withoutCount(account), afterSeq: account.status === "ACTIVE" ? w.afterSeq : Math.max(w.afterSeq, account.entryCount) });
    }
    for (const row of rows) {
      const w = this.watchers.get(Number(row.watcher_id));
      if (!w || w.ended !== undefined) continue;
      const seq = Number(row.entry_seq);
      if (seq !== w.afterSeq + 1) continue; // Already delivered by an overlapping read.
      this.handOver(w, owed);
      if (w.buffer.length >= this.bufferMax) {
        // Entries wait for a reader whose buffer is full: give it watchStallMs to read on.
        w.fullSinceMs ||= nowMs;
        if (nowMs - w.fullSinceMs >= this.stallMs) {
          this.slowReadersCutOff++;
          this.end(w, resourceExhausted("WATCH_TOO_SLOW", "The stream was not read fast enough; reconnect with start_after set to your last cursor."));
        }
        continue;
      }
      // After a close nothing follows (and nothing can be posted to a closed account).
      if (w.endAfterSeq !== undefined && seq > w.endAfterSeq) continue;
      w.buffer.push({ line: statementLine(this.ledger, w.actor, row) });
      w.afterSeq = seq;
      w.notify();
    }
    for (const w of this.watchers.values()) this.handOver(w, owed);
    // A change still owed (entries before it beyond the row cap, or no room: the reader's progress
    // wakes the hub) is read again in the next round.
    if (owed.size > 0) this.statusWanted++;
    // A stalled reader is looked at again when it is due to be cut off, even without new commits.
    const stalled = [...this.watchers.values()].filter((w) => w.fullSinceMs > 0 && w.ended === undefined);
    if (stalled.length > 0) setTimeout(() => this.wake(), this.stallMs).unref();
    return rows.length >= limits.watchReadRowsMax;
  }

  /** Hands `w` the status change it is owed once every entry before it is in the buffer (and the
   * buffer has room). A close is the stream's last message. */
  private handOver(w: Watcher, owed: Map<number, { account: AccountView; afterSeq: number }>): void {
    const change = owed.get(w.id);
    if (!change || w.ended !== undefined || w.afterSeq < change.afterSeq || w.buffer.length >= this.bufferMax) return;
    owed.delete(w.id);
    w.buffer.push({ account: change.account });
    w.status = change.account.status;
    if (w.status === "CLOSED") w.endAfterSeq = w.afterSeq;
    w.notify();
  }
}
