// Goal: the console's live feed logic without a browser. The feed resumes every new stream from
// the last cursor it was given (by an entry or a heartbeat), so a reconnect neither repeats nor
// skips an entry; it reconnects after drains, deadlines, WATCH_TOO_SLOW, network failures and
// silent connections with a doubling, jittered, bounded back-off, and gives up after a bounded
// number of fruitless attempts; it stops for good on refusals another stream would repeat; a
// stream started without a cursor asks for a resync; stop() aborts the stream. A live entry is
// put on top of the statement only when it follows the newest line shown, checked against a
// model with fast-check (seed printed; BANK_TEST_SEED replays it). The account a message carries
// (issue 28: each stream's first message, and after a status change) reaches the sink in stream
// order; once a stream said the account is closed and ended, the feed stops for good.
import fc from "fast-check";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { WatchAccountResponseSchema, type WatchAccountResponse } from "../../gen/bank/v1/account_service_pb";
import { AccountStatus } from "../../gen/bank/v1/account_pb";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { StatementEntrySchema, type StatementEntry } from "../../gen/bank/v1/transaction_pb";
import { consoleLimits } from "../../web/src/limits";
import { placeOnTop, type ArrivedEntry } from "../../web/src/live-lines";
import { endsTheFeed, LiveWatch, reconnectDelayMs, type LiveDetail, type LiveState } from "../../web/src/live-watch";
import { FakeTimers, settle } from "./fake-timers";

const seed = Number(process.env.BANK_TEST_SEED ?? Date.now() % 2 ** 31);
// eslint-disable-next-line no-console
console.log(`live-watch: fast-check seed ${seed} (replay with BANK_TEST_SEED=${seed})`);

const cursorOf = (n: number) => (n === 0 ? "" : `c${n}`);
const entry = (n: number): StatementEntry => create(StatementEntrySchema, { cursor: cursorOf(n), amount: { currency: "USD", minorUnits: BigInt(n) } });
const entryMessage = (n: number): WatchAccountResponse => create(WatchAccountResponseSchema, { entry: entry(n), cursor: cursorOf(n) });
const heartbeat = (n: number): WatchAccountResponse => create(WatchAccountResponseSchema, { cursor: cursorOf(n) });
const accountMessage = (n: number, status: AccountStatus): WatchAccountResponse => create(WatchAccountResponseSchema, { cursor: cursorOf(n), account: { id: "a1", status } });
const withReason = (code: Code, reason: string) => new ConnectError("ended", code, undefined, [{ desc: ErrorInfoSchema, value: { reason, domain: "bankd", metadata: {} } }]);
const networkError = () => new ConnectError("Failed to fetch", Code.Unknown, undefined, undefined, new TypeError("Failed to fetch"));

/** One scripted stream: the messages it sends, then how it ends ("hang": until aborted). */
interface Script {
  messages: WatchAccountResponse[];
  end: unknown | "hang" | "done";
}

/** Opens the scripted streams in turn, recording each start_after and each abort. */
class Streams {
  readonly starts: string[] = [];
  aborted = 0;
  constructor(private readonly scripts: Script[]) {}
  open = (startAfter: string, signal: AbortSignal): AsyncIterable<WatchAccountResponse> => {
    this.starts.push(startAfter);
    const script = this.scripts.shift() ?? { messages: [], end: "hang" };
    signal.addEventListener("abort", () => void this.aborted++);
    return (async function* () {
      for (const m of script.messages) {
        await Promise.resolve();
        if (signal.aborted) throw new ConnectError("aborted", Code.Canceled);
        yield m;
      }
      if (script.end === "done") return;
      if (script.end === "hang") {
        await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve())));
        throw new ConnectError("aborted", Code.Canceled);
      }
      throw script.end;
    })();
  };
}

function feed(scripts: Script[], start = "", random = () => 1) {
  const timers = new FakeTimers();
  const streams = new Streams(scripts);
  const got: Array<[string, string]> = [];
  const states: Array<[LiveState, LiveDetail]> = [];
  let resyncs = 0;
  const statuses: string[] = [];
  const watch = new LiveWatch(streams.open, start, {
    entry: (e, previous) => void got.push([e.cursor, previous]),
    account: (a) => void statuses.push(AccountStatus[a.status]),
    resync: () => void resyncs++,
    state: (s, d) => void states.push([s, d]),
  }, timers, random);
  return { timers, streams, got, states, statuses, watch, resyncs: () => resyncs, lastWait: () => states.filter(([s]) => s === "waiting").map(([, d]) => d.retryInMs) };
}

describe("the live feed", () => {
  test("every reconnect resumes after the last cursor given, by an entry or a heartbeat; entries come with the cursor before them", async () => {
    const f = feed([
      { messages: [entryMessage(4), entryMessage(5)], end: withReason(Code.Unavailable, "SERVER_DRAINING") },
      { messages: [heartbeat(5), entryMessage(6)], end: new ConnectError("deadline", Code.DeadlineExceeded) },
      { messages: [entryMessage(7)], end: withReason(Code.ResourceExhausted, "WATCH_TOO_SLOW") },
      { messages: [heartbeat(7)], end: networkError() },
      { messages: [entryMessage(8)], end: "done" },
    ], "c3");
    f.watch.start();
    for (let i = 0; i < 5; i++) {
      await settle();
      await f.timers.advance(consoleLimits.liveReconnectDelayMsBase);
    }
    expect(f.streams.starts).toEqual(["c3", "c5", "c6", "c7", "c7", "c8"]);
    expect(f.got).toEqual([["c4", "c3"], ["c5", "c4"], ["c6", "c5"], ["c7", "c6"], ["c8", "c7"]]);
    expect(f.resyncs()).toBe(0);
    f.watch.stop();
  });

  test("back-off doubles for each stream in a row that delivered nothing, is jittered within [half, full], resets after a delivery, and gives up after the bound", async () => {
    expect([0, 1, 2, 3, 6, 7, 50].map((n) => reconnectDelayMs(n, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000, 60_000, 60_000, 60_000]);
    expect([0, 3, 7].map((n) => reconnectDelayMs(n, () => 0))).toEqual([500, 4_000, 30_000]);
    const failing = Array.from({ length: consoleLimits.liveReconnectsMax + 1 }, () => ({ messages: [], end: networkError() }));
    const f = feed([{ messages: [entryMessage(1)], end: networkError() }, { messages: [], end: networkError() }, { messages: [heartbeat(1)], end: networkError() }, ...failing], "");
    f.watch.start();
    for (let i = 0; i < consoleLimits.liveReconnectsMax + 3; i++) {
      await settle();
      await f.timers.advance(consoleLimits.liveReconnectDelayMsMax);
    }
    expect(f.lastWait().slice(0, 4)).toEqual([1_000, 2_000, 1_000, 2_000]);
    expect(f.lastWait()).toHaveLength(2 + consoleLimits.liveReconnectsMax);
    expect(Math.max(...f.lastWait().map(Number))).toBe(consoleLimits.liveReconnectDelayMsMax);
    const last = f.states[f.states.length - 1]!;
    expect([last[0], last[1].gaveUp]).toEqual(["stopped", true]);
    expect(f.watch.running).toBe(false);
  });

  test("refusals another stream would repeat stop the feed at once; transient endings do not", async () => {
    for (const err of [withReason(Code.NotFound, "ACCOUNT_NOT_FOUND"), new ConnectError("x", Code.Unauthenticated), new ConnectError("x", Code.PermissionDenied), withReason(Code.InvalidArgument, "ID_INVALID")]) {
      expect(endsTheFeed(err)).toBe(true);
      const f = feed([{ messages: [], end: err }], "c1");
      f.watch.start();
      await settle();
      await f.timers.advance(consoleLimits.liveReconnectDelayMsMax);
      expect(f.streams.starts).toEqual(["c1"]);
      expect(f.states[f.states.length - 1]).toEqual(["stopped", { error: err, gaveUp: true }]);
    }
    for (const err of [withReason(Code.Unavailable, "SERVER_DRAINING"), new ConnectError("x", Code.DeadlineExceeded), withReason(Code.ResourceExhausted, "WATCH_TOO_SLOW"), withReason(Code.ResourceExhausted, "WATCHERS_PER_USER"), networkError(), withReason(Code.InvalidArgument, "CURSOR_INVALID")]) {
      expect(endsTheFeed(err)).toBe(false);
    }
  });

  test("a cursor the server refuses is dropped: the next stream starts from now and asks for a resync when it delivers", async () => {
    const f = feed([{ messages: [], end: withReason(Code.InvalidArgument, "CURSOR_INVALID") }, { messages: [heartbeat(9), entryMessage(10)], end: "hang" }], "c-forged");
    f.watch.start();
    await settle();
    await f.timers.advance(consoleLimits.liveReconnectDelayMsBase);
    expect(f.streams.starts).toEqual(["c-forged", ""]);
    expect(f.resyncs()).toBe(1);
    expect(f.got).toEqual([["c10", "c9"]]);
    f.watch.stop();
  });

  test("a stream started without a cursor resyncs once, on its first message; one started from a cursor never does", async () => {
    const f = feed([{ messages: [heartbeat(0), heartbeat(0), entryMessage(1)], end: "hang" }], "");
    f.watch.start();
    await settle();
    expect(f.resyncs()).toBe(1);
    // Its first entry follows an unknown position: the statement cannot chain it.
    expect(f.got).toEqual([["c1", ""]]);
    f.watch.stop();
  });

  test("a silent connection is aborted after the silence limit and replaced; stop() aborts the stream and nothing reopens", async () => {
    const f = feed([{ messages: [heartbeat(2)], end: "hang" }, { messages: [], end: "hang" }], "c2");
    f.watch.start();
    await settle();
    expect(f.states.map(([s]) => s)).toEqual(["connecting", "live"]);
    await f.timers.advance(consoleLimits.liveSilenceMsMax - 1);
    expect(f.streams.aborted).toBe(0);
    await f.timers.advance(1);
    expect(f.streams.aborted).toBe(1);
    await f.timers.advance(consoleLimits.liveReconnectDelayMsBase);
    expect(f.streams.starts).toEqual(["c2", "c2"]);
    f.watch.stop();
    await settle();
    expect(f.streams.aborted).toBe(2);
    await f.timers.advance(consoleLimits.liveReconnectDelayMsMax);
    expect(f.streams.starts).toHaveLength(2);
    expect(f.watch.running).toBe(false);
  });

  test("accounts reach the sink in stream order; a stream that said the account is closed and ended stops the feed for good, one cut before its end is resumed", async () => {
    const f = feed([
      { messages: [accountMessage(3, AccountStatus.ACTIVE), entryMessage(4), accountMessage(4, AccountStatus.FROZEN)], end: networkError() },
      { messages: [accountMessage(4, AccountStatus.FROZEN), accountMessage(4, AccountStatus.ACTIVE), entryMessage(5), accountMessage(5, AccountStatus.CLOSED)], end: networkError() },
      { messages: [accountMessage(5, AccountStatus.CLOSED)], end: "done" },
    ], "c3");
    f.watch.start();
    for (let i = 0; i < 3; i++) {
      await settle();
      await f.timers.advance(consoleLimits.liveReconnectDelayMsMax);
    }
    expect(f.statuses).toEqual(["ACTIVE", "FROZEN", "FROZEN", "ACTIVE", "CLOSED", "CLOSED"]);
    expect(f.got).toEqual([["c4", "c3"], ["c5", "c4"]]);
    expect(f.streams.starts).toEqual(["c3", "c4", "c5"]);
    expect(f.states[f.states.length - 1]).toEqual(["stopped", { closed: true }]);
    expect(f.watch.running).toBe(false);
  });

  test("reconnectNow skips the rest of a back-off", async () => {
    const f = feed([{ messages: [], end: networkError() }, { messages: [], end: "hang" }], "c5");
    f.watch.start();
    await settle();
    expect(f.lastWait()).toEqual([1_000]);
    f.watch.reconnectNow();
    await settle();
    expect(f.streams.starts).toEqual(["c5", "c5"]);
    f.watch.stop();
  });
});

describe("placing live entries on the statement's first page", () => {
  const arrived = (from: number, to: number, previous = cursorOf(from - 1)): ArrivedEntry[] =>
    Array.from({ length: to - from + 1 }, (_, i) => ({ entry: entry(from + i), previousCursor: i === 0 ? previous : cursorOf(from + i - 1) }));
  const page = (newest: number, size: number) => Array.from({ length: Math.min(size, newest) }, (_, i) => cursorOf(newest - i));
  const cursors = (entries: StatementEntry[] | undefined) => entries?.map((e) => e.cursor);

  test("entries that follow the newest line go on top; lines already shown are skipped; a gap or an unknown start asks for a read", () => {
    expect(cursors(placeOnTop(page(3, 20), arrived(4, 5)))).toEqual(["c4", "c5"]);
    expect(cursors(placeOnTop(page(5, 20), arrived(3, 6)))).toEqual(["c6"]);
    expect(placeOnTop(page(3, 20), arrived(5, 5))).toBeUndefined();
    expect(placeOnTop(page(3, 20), arrived(4, 4, ""))).toBeUndefined();
    expect(placeOnTop([], arrived(1, 1))).toBeUndefined();
    // Entries older than the page reaches, before one it shows, are left out.
    expect(cursors(placeOnTop(page(30, 20), arrived(5, 31)))).toEqual(["c31"]);
    expect(cursors(placeOnTop(page(7, 20), []))).toEqual([]);
  });

  test("against a model: whatever was read and whatever arrived, the lines shown are the newest entries in order, without a gap or a duplicate, or a read is asked for", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.boolean(),
        (readAt, pageSize, streamFrom, delivered, knownStart) => {
          // Entries 1..N exist; the page was read when `readAt` existed; the stream started after
          // `streamFrom` and has delivered `delivered` entries since.
          const shown = page(readAt, pageSize);
          const came = arrived(streamFrom + 1, streamFrom + delivered, knownStart ? cursorOf(streamFrom) : "");
          const added = placeOnTop(shown, came);
          if (added === undefined) return;
          const lines = [...cursors(added)!.reverse(), ...shown];
          // The newest entry the console was told of, by the read or by the stream.
          const newest = delivered > 0 ? Math.max(readAt, streamFrom + delivered) : readAt;
          expect(lines).toEqual(page(newest, lines.length));
        },
      ),
      { seed, numRuns: 2_000 },
    );
    // The usual case is never asked to read again: the stream started from the newest line.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 25 }), fc.integer({ min: 0, max: 40 }), (readAt, pageSize, delivered) => {
        expect(placeOnTop(page(readAt, pageSize), arrived(readAt + 1, readAt + delivered))).toBeDefined();
      }),
      { seed, numRuns: 500 },
    );
  });
});
