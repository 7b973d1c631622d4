// Where a live entry goes in the statement's first page, decided without guessing: a cursor is
// opaque, so the console cannot compare two entries' positions. What it knows is the chain the
// stream gives: each entry comes with the cursor just before it. An entry goes on top only when
// that cursor is the newest line shown; an entry already shown is left alone; anything else (a
// gap, a stream that started without a cursor) means the page must be read again. Pure, so the
// rules are tested without a browser.
import type { StatementEntry } from "../../gen/bank/v1/transaction_pb";

export interface ArrivedEntry {
  entry: StatementEntry;
  /** The stream's position just before this entry ("" when not known). */
  previousCursor: string;
}

/**
 * The arrived entries to add on top of a first page whose lines' cursors are `shown` (newest
 * first), oldest first; or undefined when one cannot be placed with certainty.
 *
 * Entries are taken in the order they arrived (statement order). Those before the last one the
 * page already shows are older than it: shown, or older than the page reaches. The rest must
 * chain from the newest line shown.
 */
export function placeOnTop(shown: readonly string[], arrived: readonly ArrivedEntry[]): StatementEntry[] | undefined {
  const seen = new Set(shown);
  let lastSeen = -1;
  arrived.forEach((a, i) => {
    if (seen.has(a.entry.cursor)) lastSeen = i;
  });
  let top = shown[0] ?? "";
  const added: StatementEntry[] = [];
  for (const a of arrived.slice(lastSeen + 1)) {
    if (seen.has(a.entry.cursor)) continue;
    if (a.previousCursor === "" || a.previousCursor !== top) return undefined;
    added.push(a.entry);
    seen.add(a.entry.cursor);
    top = a.entry.cursor;
  }
  return added;
}

/** Whether an entry created at `createMs` belongs to a statement narrowed to [startMs, endMs)
 * (undefined: no bound), by the same rule as the server's filter on create_time. An entry
 * outside it is never put on the page; one inside goes on top by the chain rule above, since any
 * entry between it and the newest line shown would be inside the dates too, so on the page. */
export function withinDates(createMs: number | undefined, startMs: number | undefined, endMs: number | undefined): boolean {
  if (startMs === undefined && endMs === undefined) return true;
  if (createMs === undefined) return false;
  return (startMs === undefined || createMs >= startMs) && (endMs === undefined || createMs < endMs);
}
