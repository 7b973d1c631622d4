// Goal: the statement as a working tool in a real browser (Debian's chromium via playwright-core)
// against a real bankd, on each engine (the date bounds are compared in SQL): "Rows per page"
// changes how many lines a page holds and starts again at page 1; while the statement is read
// again its old rows are marked busy and the pager cannot be clicked; From/To dates are whole days
// in the person's time zone (Asia/Kolkata here, UTC+05:30, so a day is not a UTC day) sent as
// start_time/end_time, a range holding today shows today's lines and one before or after today
// shows none; a live entry is not put on top of a statement whose dates end before it; To before
// From is refused in words with no request sent; "Download CSV" saves, line for line, the CSV that
// statementCsv builds from a Connect client's own ListTransactions read of the same dates, and the
// file's amounts add up to its change of balance. The server has no clock to set, so "other
// days" are the days before and after today.
import type { Browser, Page, Request } from "playwright-core";
import * as fs from "node:fs/promises";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import type { StatementEntry } from "../../gen/bank/v1/transaction_pb";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DEFAULT_EXPONENTS } from "../../web/src/money";
import { STATEMENT_CSV_HEADER, statementCsv } from "../../web/src/statement-csv";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, uniqueEmail, type TestUser } from "../support/users";
import { parseCsv } from "../support/csv";
import { describeWithBrowser, launch, openPerson, signIn, statement, unexpectedErrors, type Person } from "./helpers";

const describeBrowser = describeWithBrowser("console-statement.test.ts");

const ZONE = "Asia/Kolkata";
const ZONE_OFFSET_MS = (5 * 60 + 30) * 60_000; // no daylight saving there

/** The day (YYYY-MM-DD) in ZONE of an instant, and that day moved by `days`. */
function zoneDay(ms: number, days = 0): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(new Date(ms + days * 86_400_000));
}

/** Midnight starting `day` in ZONE, as an instant: computed here from the zone's fixed offset,
 * not by the console's code. */
function zoneMidnightMs(day: string): number {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) - ZONE_OFFSET_MS;
}

/** Decimal major units back to minor units, exactly ("-12.50" -> -1250n). */
function minorOf(decimal: string, exponent: number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(decimal);
  if (!m) throw new Error(`not a decimal: ${decimal}`);
  const fraction = (m[3] ?? "").padEnd(exponent, "0");
  if (fraction.length !== exponent) throw new Error(`${decimal} has more than ${exponent} decimals`);
  const value = BigInt(m[2]! + fraction);
  return m[1] === "-" ? -value : value;
}

describeBrowser.each(engines())("the statement as a working tool in chromium on %s", (engine) => {
  let t: TestApp;
  let browser: Browser;
  let owner: TestUser;
  let accountId = "";
  let person: Person;
  let page: Page;
  let today = "";
  const errors: string[] = [];
  const listCalls: Array<Record<string, unknown>> = [];

  const transactions = () => client(t.baseUrl, TransactionService, { token: owner.token });
  const deposit = (description: string, minorUnits: bigint) =>
    transactions().deposit({ requestId: crypto.randomUUID(), accountId, amount: { currency: "USD", minorUnits }, description });

  /** The statement's rows once `n` are shown and the pager is idle. */
  async function waitForRows(n: number): Promise<void> {
    await page.waitForFunction((count) => {
      const table = document.querySelector("#statement-table")!;
      return !table.hasAttribute("aria-busy") && table.querySelectorAll("tbody tr").length === count;
    }, n);
  }

  async function applyDates(from: string, to: string): Promise<void> {
    const form = page.locator("#statement-range-form");
    await form.getByLabel("From").fill(from);
    await form.getByLabel("To").fill(to);
    await form.getByRole("button", { name: "Show these dates" }).click();
  }

  beforeAll(async () => {
    t = await startTestApp(engine);
    browser = await launch();
    owner = await createTestUser(t, [Role.CUSTOMER], { fullName: "Stella Statement", email: uniqueEmail("statement") });
    const accounts = client(t.baseUrl, AccountService, { token: owner.token });
    accountId = (await accounts.createAccount({ requestId: crypto.randomUUID(), currency: "USD", type: AccountType.CHECKING, displayName: "Stella checking" })).account!.id;
    const other = (await accounts.createAccount({ requestId: crypto.randomUUID(), currency: "USD", type: AccountType.SAVINGS, displayName: "Stella savings" })).account!;
    // 24 lines: deposits, hostile text for a spreadsheet, a comma and quotes, and a transfer out.
    await deposit("Opening", 100_000n);
    for (let i = 1; i <= 20; i++) await deposit(`Top-up ${i}`, BigInt(i * 101));
    await deposit("=HYPERLINK(\"http://example.test\")", 1n);
    await deposit('Lunch, "big" one', 2n);
    await transactions().transfer({ requestId: crypto.randomUUID(), fromAccountId: accountId, target: { case: "toAccountId", value: other.id }, amount: { currency: "USD", minorUnits: 1_250n }, description: "-To savings" });
    person = await openPerson(browser, "stella", { name: owner.fullName, email: owner.email, password: owner.password }, errors, { timezoneId: ZONE });
    page = person.page;
    page.on("request", (r: Request) => void (r.url().endsWith("/bank.v1.TransactionService/ListTransactions") && listCalls.push(r.postDataJSON() as Record<string, unknown>)));
    await page.goto(`${t.baseUrl}/`);
    await signIn(page, person);
    await page.getByRole("button", { name: /^View Stella checking/ }).click();
    await waitForRows(20);
    const newest = (await transactions().listTransactions({ accountId, pageSize: 1 })).entries[0]!;
    today = zoneDay(timestampDate(newest.transaction!.createTime!).getTime());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  test("Rows per page: 10 and 50 lines a page, each choice starting at page 1; the size is sent as page_size", async () => {
    const size = page.getByLabel("Rows per page").and(page.locator("#statement-size"));
    expect(await size.inputValue()).toBe("20");
    await page.locator("#statement-next").click();
    await page.locator("#statement-page", { hasText: "Page 2" }).waitFor();
    await waitForRows(4);
    await size.selectOption("10");
    await page.locator("#statement-page", { hasText: "Page 1" }).waitFor();
    await waitForRows(10);
    expect(listCalls.at(-1)).toMatchObject({ pageSize: 10 });
    expect((await statement(page))[0]![0]).toBe("-To savings");
    await page.locator("#statement-next").click();
    await page.locator("#statement-page", { hasText: "Page 2" }).waitFor();
    await waitForRows(10);
    expect((await statement(page))[0]![0]).toBe("Top-up 13");
    await size.selectOption("50");
    await page.locator("#statement-page", { hasText: "Page 1" }).waitFor();
    await waitForRows(24);
    expect(listCalls.at(-1)).toMatchObject({ pageSize: 50 });
    // Everything on one page at a size that is not the usual one: the pager stays, to go back.
    expect(await page.locator("#statement-next").isDisabled()).toBe(true);
    expect(await size.isVisible()).toBe(true);
  }, 60_000);

  test("while the account is read again its old rows are marked busy and the pager cannot be clicked", async () => {
    await page.locator("#statement-size").selectOption("10");
    await waitForRows(10);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await page.route("**/bank.v1.TransactionService/ListTransactions", async (route) => {
      await gate;
      await route.continue();
    });
    try {
      await page.getByRole("button", { name: /^View Stella checking/ }).click();
      await page.locator("#statement-table[aria-busy=true]").waitFor();
      for (const id of ["#statement-first", "#statement-previous", "#statement-next"]) expect(await page.locator(id).isDisabled()).toBe(true);
      expect(await page.locator("#statement-table tbody").evaluate((b) => getComputedStyle(b).opacity)).toBe("0.45");
    } finally {
      release();
    }
    await waitForRows(10);
    await page.unroute("**/bank.v1.TransactionService/ListTransactions");
    expect(await page.locator("#statement-next").isDisabled()).toBe(false);
  }, 60_000);

  test("From/To are whole days of the person's time zone: today shows today's lines, the days around it none", async () => {
    await page.locator("#statement-size").selectOption("50");
    await waitForRows(24);
    await applyDates(today, today);
    await waitForRows(24);
    const sent = listCalls.at(-1)!;
    expect(new Date(sent["startTime"] as string).getTime()).toBe(zoneMidnightMs(today));
    expect(new Date(sent["endTime"] as string).getTime()).toBe(zoneMidnightMs(zoneDay(zoneMidnightMs(today), 1)));

    // Up to yesterday: nothing. From tomorrow: nothing.
    await applyDates("", zoneDay(zoneMidnightMs(today), -1));
    await waitForRows(0);
    await page.locator("#statement-empty", { hasText: "No transactions on these dates." }).waitFor();
    expect(listCalls.at(-1)!["startTime"]).toBeUndefined();
    await applyDates(zoneDay(zoneMidnightMs(today), 1), "");
    await waitForRows(0);
    expect(listCalls.at(-1)!["endTime"]).toBeUndefined();

    // "All dates" shows them all again.
    await page.locator("#statement-range-form").getByRole("button", { name: "All dates" }).click();
    await waitForRows(24);
  }, 60_000);

  test("a live entry after the To date is left off the page, with no read; one within the dates goes on top", async () => {
    /** The ListTransactions calls made since `since`, once the page has sent all it was going to
     * (a marker request sent after them is seen after them). */
    async function readsSince(since: number): Promise<number> {
      const marker = page.waitForRequest((r) => r.url().endsWith("/?reads-marker"));
      await page.evaluate(() => void fetch("/?reads-marker"));
      await marker;
      return listCalls.length - since;
    }
    await applyDates("", zoneDay(zoneMidnightMs(today), -1));
    await waitForRows(0);
    let calls = listCalls.length;
    await deposit("Live while filtered", 7n);
    await page.locator("#live-announce", { hasText: "Live while filtered" }).waitFor();
    await page.locator("#account-balance", { hasText: "1,199.70 USD" }).waitFor();
    expect(await statement(page)).toEqual([]);
    expect(await readsSince(calls)).toBe(0);

    // To today: the entry is within the dates, and follows the newest line shown.
    await applyDates("", today);
    await waitForRows(25);
    calls = listCalls.length;
    await deposit("Live within dates", 8n);
    await page.locator("#statement-table tbody tr", { hasText: "Live within dates" }).waitFor();
    expect((await statement(page)).slice(0, 2).map((r) => r[0])).toEqual(["Live within dates", "Live while filtered"]);
    expect(await readsSince(calls)).toBe(0);

    await applyDates(today, "");
    await waitForRows(26);
    await deposit("Live from today", 9n);
    await page.locator("#statement-table tbody tr", { hasText: "Live from today" }).waitFor();
    expect((await statement(page)).slice(0, 3).map((r) => r[0])).toEqual(["Live from today", "Live within dates", "Live while filtered"]);
  }, 60_000);

  test("To before From is refused in words, and no request is sent (neither to show nor to download)", async () => {
    const calls = listCalls.length;
    const yesterday = zoneDay(zoneMidnightMs(today), -1);
    await applyDates(today, yesterday);
    const error = page.locator("#statement-range-error");
    await error.filter({ hasText: "The To date is before the From date" }).waitFor();
    await page.locator("#statement-csv").click();
    await error.filter({ hasText: "The To date is before the From date" }).waitFor();
    // The shown lines are still those of the dates before (today onwards).
    expect((await statement(page))[0]![0]).toBe("Live from today");
    // A marker request after the clicks: a read they had started would have been seen before it.
    const marker = page.waitForRequest((r) => r.url().endsWith("/?after-refusal"));
    await page.evaluate(() => void fetch("/?after-refusal"));
    await marker;
    expect(listCalls.length).toBe(calls);
  }, 60_000);

  test("Download CSV: line for line the CSV of a Connect client's own read of the same dates; amounts add up to the change of balance", async () => {
    const form = page.locator("#statement-range-form");
    await form.getByLabel("From").fill(today);
    await form.getByLabel("To").fill(today);
    const downloaded = page.waitForEvent("download");
    await page.locator("#statement-csv").click();
    const download = await downloaded;
    expect(download.suggestedFilename()).toMatch(new RegExp(`^statement-\\d{14}-${today}-to-${today}\\.csv$`));
    const text = await fs.readFile(await download.path(), "utf8");
    await page.locator("#statement-export", { hasText: /^Saved statement-\d+-.* \(27 lines\)\.$/ }).waitFor();

    // The same dates read by a Connect client, every page at the server's maximum.
    const start = zoneMidnightMs(today);
    const end = zoneMidnightMs(zoneDay(start, 1));
    const entries: StatementEntry[] = [];
    let pageToken = "";
    do {
      const res = await transactions().listTransactions({ accountId, startTime: timestampFromMs(start), endTime: timestampFromMs(end), pageSize: 500, pageToken });
      entries.push(...res.entries);
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    const expected = statementCsv(entries, (c) => DEFAULT_EXPONENTS[c]!);
    expect(text.split("\r\n")).toEqual(expected.split("\r\n"));
    expect(text.endsWith("\r\n")).toBe(true);

    const [header, ...lines] = parseCsv(text);
    expect(header).toEqual([...STATEMENT_CSV_HEADER]);
    expect(lines).toHaveLength(27);
    const col = (name: (typeof STATEMENT_CSV_HEADER)[number]) => STATEMENT_CSV_HEADER.indexOf(name);
    // Newest first; the oldest line's balance before it is its balance after minus its amount.
    const sum = lines.reduce((s, l) => s + minorOf(l[col("amount")]!, 2), 0n);
    const oldest = lines.at(-1)!;
    const before = minorOf(oldest[col("balance_after")]!, 2) - minorOf(oldest[col("amount")]!, 2);
    expect(minorOf(lines[0]![col("balance_after")]!, 2) - before).toBe(sum);
    expect(before).toBe(0n); // every line of the account is today's
    for (const l of lines) expect(l[col("time")]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?Z$/);
    const byDescription = new Map(lines.map((l) => [l[col("description")], l]));
    expect(byDescription.get("'=HYPERLINK(\"http://example.test\")")![col("amount")]).toBe("0.01");
    expect(byDescription.has('Lunch, "big" one')).toBe(true);
    const transfer = byDescription.get("'-To savings")!;
    expect([transfer[col("type")], transfer[col("status")], transfer[col("amount")], transfer[col("transaction_amount")]]).toEqual(["TRANSFER", "POSTED", "-12.50", "12.50"]);
    expect(transfer[col("counterparty_account_number")]).toMatch(/^\d{4} \d{4} \d{4} \d{2}$/);
    expect(unexpectedErrors(errors)).toEqual([]);
  }, 60_000);
});
