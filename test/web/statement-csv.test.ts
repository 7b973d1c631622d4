// Goal: the console's CSV export is RFC 4180 (CRLF line ends, fields with a comma, quote, CR or
// LF quoted, quotes doubled, a header) and exact: amounts and balances are decimal strings in
// major units made with bigint arithmetic from the currency's exponent (never a float, never
// locale-formatted), times ISO 8601 in UTC. Hostile text cannot become a spreadsheet formula:
// a description or name starting with = + - @ (or a tab or CR) gets a leading quote, while a
// negative amount stays a number. Whatever the text, the file reads back (by a strict parser) to
// exactly the fields written (fast-check). Reading a statement for export stops at the cap and
// says so, without taking a statement of exactly the cap for a capped one. A live entry belongs
// to dates by the server's rule (start inclusive, end exclusive).
import fc from "fast-check";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { StatementEntrySchema, TransactionStatus, TransactionType, type StatementEntry } from "../../gen/bank/v1/transaction_pb";
import { csvDocument, csvField, csvText } from "../../web/src/csv";
import { isoTime, readWholeStatement, STATEMENT_CSV_HEADER, statementCsv } from "../../web/src/statement-csv";
import { consoleLimits } from "../../web/src/limits";
import { pageSizeOptions } from "../../web/src/pager";
import { dayRange } from "../../web/src/format";
import { withinDates } from "../../web/src/live-lines";
import { parseCsv } from "../support/csv";

const seed = Number(process.env.BANK_TEST_SEED ?? Date.now() % 2 ** 31);
// eslint-disable-next-line no-console
console.log(`statement-csv: fast-check seed ${seed} (replay with BANK_TEST_SEED=${seed})`);

const exponents: Record<string, number> = { USD: 2, JPY: 0, KWD: 3 };
const exponentOf = (c: string) => exponents[c]!;

function entry(fields: { id?: string; description?: string; amount: bigint; balance: bigint; currency?: string; type?: TransactionType; cp?: { accountNumber: string; name: string }; ms?: number; nanos?: number }): StatementEntry {
  const currency = fields.currency ?? "USD";
  const createTime = timestampFromMs(fields.ms ?? Date.UTC(2026, 11, 6, 20, 34, 45));
  if (fields.nanos !== undefined) createTime.nanos = fields.nanos;
  return create(StatementEntrySchema, {
    transaction: {
      id: fields.id ?? "0b6f6a4e-1111-4222-8333-444455556666",
      type: fields.type ?? TransactionType.TRANSFER,
      status: TransactionStatus.POSTED,
      amount: { currency, minorUnits: fields.amount < 0n ? -fields.amount : fields.amount },
      description: fields.description ?? "",
      createTime,
    },
    amount: { currency, minorUnits: fields.amount },
    balanceAfter: { currency, minorUnits: fields.balance },
    cursor: "c",
    counterparty: fields.cp,
  });
}

describe("RFC 4180 fields and documents", () => {
  test("quotes a field only when it holds a comma, a quote, CR or LF, doubling quotes", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("")).toBe("");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\r\nlines")).toBe('"two\r\nlines"');
    expect(csvField("lf\nonly")).toBe('"lf\nonly"');
    expect(csvField("cr\ronly")).toBe('"cr\ronly"');
    expect(csvDocument([["a", "b"], ["c,d", ""]])).toBe('a,b\r\n"c,d",\r\n');
  });

  test("free text that a spreadsheet would run as a formula gets a leading quote; other text does not", () => {
    for (const hostile of ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]) expect(csvText(hostile)).toBe(`'${hostile}`);
    for (const harmless of ["Salary", " =x", "'quoted", "", "1,000"]) expect(csvText(harmless)).toBe(harmless);
  });

  test("any fields read back exactly (fast-check)", () => {
    const text = fc.string({ unit: fc.constantFrom("a", ",", '"', "\r", "\n", " ", "=", "é", "x") });
    fc.assert(fc.property(fc.array(fc.array(text, { minLength: 1, maxLength: 5 }), { maxLength: 6 }), (records) => {
      // A record of one empty field is written as an empty line, which reads back as one empty field.
      expect(parseCsv(csvDocument(records))).toEqual(records);
    }), { seed });
  });
});

describe("a statement as CSV", () => {
  test("a header, then one line per entry as given, with exact decimal amounts and UTC times", () => {
    const csv = statementCsv([
      entry({ id: "t2", description: "Lunch, with \"Bob\"", amount: -1250n, balance: 8750n, cp: { accountNumber: "4021 5583 1907 26", name: "Bob Example" }, nanos: 123_456_000 }),
      entry({ id: "t1", description: "Salary", amount: 10000n, balance: 10000n, type: TransactionType.DEPOSIT, ms: Date.UTC(2026, 0, 2, 3, 4, 5) }),
    ], exponentOf);
    expect(csv.split("\r\n")).toEqual([
      STATEMENT_CSV_HEADER.join(","),
      '2026-12-06T20:34:45.123456Z,t2,TRANSFER,POSTED,"Lunch, with ""Bob""",-12.50,USD,87.50,12.50,4021 5583 1907 26,Bob Example',
      "2026-01-02T03:04:05Z,t1,DEPOSIT,POSTED,Salary,100.00,USD,100.00,100.00,,",
      "",
    ]);
  });

  test("amounts follow each currency's exponent, with bigint precision past 2^53", () => {
    const lines = parseCsv(statementCsv([
      entry({ amount: -5n, balance: 0n }),
      entry({ amount: 1234n, balance: -1_000_000_000_000_000n, currency: "JPY" }),
      entry({ amount: 1n, balance: 9_007_199_254_740_993n, currency: "KWD" }),
    ], exponentOf)).slice(1);
    expect(lines.map((l) => [l[5], l[6], l[7]])).toEqual([["-0.05", "USD", "0.00"], ["1234", "JPY", "-1000000000000000"], ["0.001", "KWD", "9007199254740.993"]]);
  });

  test("hostile descriptions and names are guarded, negative amounts are not", () => {
    const [, line] = parseCsv(statementCsv([entry({ description: "=cmd|' /C calc'!A0", amount: -100n, balance: -100n, cp: { accountNumber: "4021 5583 1907 26", name: "@evil" } })], exponentOf));
    expect(line![4]).toBe("'=cmd|' /C calc'!A0");
    expect(line![5]).toBe("-1.00");
    expect(line![7]).toBe("-1.00");
    expect(line![10]).toBe("'@evil");
  });

  test("times carry 0, 3, 6 or 9 fraction digits, as protobuf JSON does", () => {
    const at = (nanos: number) => isoTime({ ...timestampFromMs(0), nanos });
    expect([at(0), at(5_000_000), at(123_456_000), at(7)]).toEqual(["1970-01-01T00:00:00Z", "1970-01-01T00:00:00.005Z", "1970-01-01T00:00:00.123456Z", "1970-01-01T00:00:00.000000007Z"]);
    expect(isoTime(undefined)).toBe("");
  });
});

describe("reading a whole statement for export", () => {
  /** A fake ListTransactions over `n` entries that records the page sizes asked for. */
  function fakeList(n: number, asked: number[]) {
    const all = Array.from({ length: n }, (_, i) => entry({ id: `t${n - i}`, amount: 1n, balance: BigInt(n - i) }));
    return async (pageToken: string, pageSize: number) => {
      asked.push(pageSize);
      const from = pageToken === "" ? 0 : Number(pageToken);
      const next = from + pageSize;
      return { entries: all.slice(from, next), nextPageToken: next < n ? String(next) : "" };
    };
  }

  test("every page is read at the largest size, in order", async () => {
    const asked: number[] = [];
    const { entries, capped } = await readWholeStatement(fakeList(23, asked), 100, 10);
    expect(capped).toBe(false);
    expect(entries.map((e) => e.transaction!.id)).toEqual(Array.from({ length: 23 }, (_, i) => `t${23 - i}`));
    expect(asked).toEqual([10, 10, 10]);
  });

  test("stops at the cap and says so; exactly the cap is not capped", async () => {
    const over = await readWholeStatement(fakeList(31, []), 20, 10);
    expect([over.entries.length, over.capped, over.entries[0]!.transaction!.id]).toEqual([20, true, "t31"]);
    const asked: number[] = [];
    const exact = await readWholeStatement(fakeList(20, asked), 20, 10);
    expect([exact.entries.length, exact.capped]).toEqual([20, false]);
    // The last page said there is no next one: no call for the one entry past the cap.
    expect(asked).toEqual([10, 10]);
    // A server that gives a token with the last full page: one entry more is asked for, none comes.
    const tokenAlways = fakeList(20, []);
    const asked2: number[] = [];
    const withToken = await readWholeStatement(async (token, size) => {
      asked2.push(size);
      const page = await tokenAlways(token, size);
      return { ...page, nextPageToken: page.entries.length === 0 ? "" : String(Number(token || "0") + size) };
    }, 20, 10);
    expect([withToken.entries.length, withToken.capped]).toEqual([20, false]);
    expect(asked2).toEqual([10, 10, 1]);
  });
});

describe("page sizes and statement dates", () => {
  test("every pager's sizes include its default, and none is above the server's page_size maximum (500)", () => {
    for (const size of [consoleLimits.statementPageSize, consoleLimits.accountsPageSize, consoleLimits.usersPageSize, consoleLimits.auditPageSize]) {
      const options = pageSizeOptions(size);
      expect(options).toContain(size);
      expect(Math.max(...options)).toBeLessThanOrEqual(consoleLimits.statementPageSizeMax);
    }
    expect(consoleLimits.statementPageSizeMax).toBe(500);
  });

  test("From is the start of its local day, To includes its whole local day; To before From is refused", () => {
    expect(dayRange("", "")).toEqual({ startMs: undefined, endMs: undefined });
    expect(dayRange("2026-03-07", "2026-03-08")).toEqual({ startMs: new Date(2026, 2, 7).getTime(), endMs: new Date(2026, 2, 9).getTime() });
    expect(dayRange("2026-12-31", "")).toEqual({ startMs: new Date(2026, 11, 31).getTime(), endMs: undefined });
    expect(dayRange("", "2026-12-31")).toEqual({ startMs: undefined, endMs: new Date(2027, 0, 1).getTime() });
    // One day is a range: From and To the same day.
    expect(dayRange("2026-12-06", "2026-12-06")).toEqual({ startMs: new Date(2026, 11, 6).getTime(), endMs: new Date(2026, 11, 7).getTime() });
    expect(dayRange("2026-12-07", "2026-12-06")).toEqual({ problem: expect.stringMatching(/To date is before the From date/) });
    expect(dayRange("2026-02-30", "")).toEqual({ problem: expect.stringMatching(/Enter the dates/) });
    expect(dayRange("06/12/2026", "")).toEqual({ problem: expect.stringMatching(/Enter the dates/) });
  });
});

describe("live entries and statement dates", () => {
  test("an entry belongs to the dates by the server's rule: at or after the start, before the end", () => {
    const start = Date.UTC(2026, 11, 6);
    const end = Date.UTC(2026, 11, 7);
    expect(withinDates(undefined, undefined, undefined)).toBe(true);
    expect(withinDates(start, start, end)).toBe(true);
    expect(withinDates(end - 1, start, end)).toBe(true);
    expect(withinDates(end, start, end)).toBe(false);
    expect(withinDates(start - 1, start, end)).toBe(false);
    expect(withinDates(end + 5, start, undefined)).toBe(true);
    expect(withinDates(start - 1, undefined, end)).toBe(true);
    // With dates set, an entry without a time cannot be placed.
    expect(withinDates(undefined, start, undefined)).toBe(false);
  });
});
