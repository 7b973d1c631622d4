// Goal: the staff tables fit 1280x800 by keeping their essential columns, and every field of a
// row is in the detail drawer, in full: an admin's accounts and audit log have no sideways
// scrolling, with or without the drawer open; the columns left out of the table (an account's
// type, available balance, id, owner id; an event's target, address, request id and details,
// readable and as stored) are in the drawer, amounts written by the console's formatter; Enter on
// a focused row or its "Details" button opens it, Esc or its close button closes it, and focus
// goes back to where it was opened; an id is copied with its Copy button. At 390 px the rows are
// cards and the drawer takes the width of the screen. Layout only, so SQLite; one browser.
import type { Browser, Page } from "playwright-core";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, uniqueEmail } from "../support/users";
import { createStaff, describeWithBrowser, drawerFields, launch, nav, openPerson, overflows, rowDetails, rowsByLabel, signIn, unexpectedErrors, type Person } from "./helpers";

const describeBrowser = describeWithBrowser("console-drawer.test.ts");

/** The headers a person sees (not the actions column, whose name is for screen readers only). */
async function headers(page: Page, table: string): Promise<string[]> {
  return page.locator(`#${table} thead th:visible`).evaluateAll((ths) => ths.filter((th) => !th.querySelector(".visually-hidden")).map((th) => (th as HTMLElement).innerText.trim()));
}

/** Buttons of a table's action cells that do not fit their cell (text-overflow would hide them
 * whole, with nothing said). */
async function clippedButtons(page: Page, table: string): Promise<string[]> {
  return page.locator(`#${table} tbody td.actions button`).evaluateAll((buttons) =>
    buttons.filter((b) => {
      const td = b.closest("td")!;
      return b.getBoundingClientRect().right > td.getBoundingClientRect().right - parseFloat(getComputedStyle(td).paddingRight) + 0.5;
    }).map((b) => b.getAttribute("aria-label") ?? ""),
  );
}

/** The row key (data-row-key) of the row holding the focused element, or "" outside a row. */
async function focusedRowKey(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.closest<HTMLElement>("tr[data-row-key]")?.dataset.rowKey ?? "");
}

describeBrowser("the detail drawer of the staff tables", () => {
  let t: TestApp;
  let browser: Browser;
  let admin: Person;
  const errors: string[] = [];
  const longName = "Maximiliana Alexandrina Featherstonehaugh-Worthington-Smythe";
  let ownerId = "";
  let ownerEmail = "";
  let account = { id: "", number: "" };

  beforeAll(async () => {
    t = await startTestApp("sqlite", { BANK_DAILY_LIMITS: "USD:deposit=100000000000,incoming=100000000000" });
    browser = await launch();
    const user = await createTestUser(t, [Role.CUSTOMER], { fullName: longName, email: uniqueEmail("a-very-long-local-part-for-the-drawer") });
    ownerId = user.id;
    ownerEmail = user.email;
    const created = (await client(t.baseUrl, AccountService, { token: user.token }).createAccount({ requestId: crypto.randomUUID(), currency: "USD", type: AccountType.SAVINGS, displayName: "Everyday spending and bills account" })).account!;
    account = { id: created.id, number: created.number };
    await client(t.baseUrl, TransactionService, { token: user.token }).deposit({
      requestId: crypto.randomUUID(), accountId: account.id, amount: { currency: "USD", minorUnits: 987_654_321n }, description: "Inheritance from great-aunt Hildegard",
    });
    const staff = await createStaff(t, "admin", `${longName} (admin)`);
    admin = await openPerson(browser, "admin", staff, errors, { viewport: { width: 1280, height: 800 }, permissions: ["clipboard-read", "clipboard-write"] });
    await admin.page.goto(`${t.baseUrl}/`);
    await signIn(admin.page, admin);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  test("all accounts at 1280x800: essential columns, no overflow; Enter opens the drawer with the rest, Esc closes it and focus returns to the row", async () => {
    const { page } = admin;
    const row = page.locator(`#accounts-table tbody tr[data-row-key="${account.id}"]`);
    await row.waitFor();
    expect(await headers(page, "accounts-table")).toEqual(["Owner", "Name", "Number", "Status", "Balance"]);
    const listed = (await rowsByLabel(page.locator("#accounts-table"))).find((r) => r["Number"] === account.number)!;
    expect(Object.keys(listed)).toEqual(["Owner", "Name", "Number", "Status", "Balance"]);
    expect(listed["Owner"]).toBe(`${longName} <${ownerEmail}>`);
    expect(await overflows(page)).toEqual([]);
    expect(await clippedButtons(page, "accounts-table")).toEqual([]);

    await row.focus();
    await page.keyboard.press("Enter");
    const drawer = page.getByRole("dialog", { name: "Everyday spending and bills account" });
    await drawer.waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("drawer-title");
    const fields = await drawerFields(page);
    expect(fields).toEqual({
      Owner: `${longName} <${ownerEmail}>`,
      "Owner id": ownerId,
      Name: "Everyday spending and bills account",
      Number: account.number,
      "Account id": account.id,
      Type: "Savings",
      Currency: "USD",
      Status: "Active",
      Balance: listed["Balance"],
      Available: listed["Balance"],
      Held: "0.00 USD",
      "Overdraft limit": "0.00 USD",
      Opened: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/),
      "Last changed": expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/),
    });
    expect(listed["Balance"]).toBe("9,876,543.21 USD");
    expect(await overflows(page)).toEqual([]);

    // The id is copied whole.
    await drawer.getByRole("button", { name: "Copy account id" }).click();
    await page.locator("#drawer-copied", { hasText: "Copied the account id." }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(account.id);

    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "hidden" });
    expect(await focusedRowKey(page)).toBe(account.id);
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe("TR");
  }, 60_000);

  test("the audit log at 1280x800: the drawer holds target, address, request id and details as stored; the close button returns focus to the row", async () => {
    const { page } = admin;
    await nav(page, "Audit log");
    const filter = page.locator("#audit-filter-form");
    await filter.getByLabel("Action").fill("transaction.deposit");
    await filter.getByRole("button", { name: "Show events" }).click();
    await page.waitForFunction(() => {
      const cells = Array.from(document.querySelectorAll("#audit-table tbody tr td[data-label=Action]"));
      return cells.length === 1 && cells[0]!.textContent === "transaction.deposit";
    });
    expect(await headers(page, "audit-table")).toEqual(["Time", "Actor", "Action", "Outcome"]);
    const [listed] = await rowsByLabel(page.locator("#audit-table"));
    expect(Object.keys(listed!)).toEqual(["Time", "Actor", "Action", "Outcome"]);
    expect(await overflows(page)).toEqual([]);
    expect(await clippedButtons(page, "audit-table")).toEqual([]);

    const row = page.locator("#audit-table tbody tr").first();
    const eventId = (await row.getAttribute("data-row-key"))!;
    await row.getByRole("button", { name: /^Details of transaction\.deposit by / }).click();
    const drawer = page.getByRole("dialog", { name: "transaction.deposit (Success)" });
    await drawer.waitFor();
    const fields = await drawerFields(page);
    expect(fields).toMatchObject({ Time: listed!["Time"], Actor: listed!["Actor"], Action: "transaction.deposit", Outcome: "Success", "Event id": eventId });
    expect(fields["Actor id"]).toBe(ownerId);
    expect(fields["Target"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(fields["Address"]).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
    expect(fields["Request id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(fields["Details"]).toMatch(/^amount: 9,876,543\.21 USD, /);
    expect(JSON.parse(fields["Details as stored"]!)).toMatchObject({ amount: "987654321", currency: "USD", account_id: account.id });
    expect(fields["Hash"]).toMatch(/^\S{16,}$/);
    expect(await overflows(page)).toEqual([]);
    await drawer.getByRole("button", { name: "Close details" }).click();
    await drawer.waitFor({ state: "hidden" });
    expect(await focusedRowKey(page)).toBe(eventId);

    // Esc closes it too, from wherever focus is inside it.
    await row.focus();
    await page.keyboard.press("Enter");
    await drawer.waitFor();
    await drawer.getByRole("button", { name: "Copy target" }).focus();
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "hidden" });
    expect(await focusedRowKey(page)).toBe(eventId);
  }, 60_000);

  test("people and sessions at 1280x800: no overflow, every button whole, the drawer holds the rest", async () => {
    const { page } = admin;
    await nav(page, "People");
    const person = page.locator(`#users-table tbody tr[data-row-key="${ownerId}"]`);
    await person.waitFor();
    expect(await headers(page, "users-table")).toEqual(["Name", "Email", "Roles", "Status"]);
    expect(await overflows(page)).toEqual([]);
    expect(await clippedButtons(page, "users-table")).toEqual([]);
    expect(await rowDetails(page, person)).toMatchObject({ Name: longName, Email: ownerEmail, "User id": ownerId, Roles: "Customer", Status: "Active", "Second factor": "Not set up", Joined: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/) });
    await nav(page, "Sessions");
    const current = page.locator("#sessions-table tbody tr", { hasText: "This session" });
    await current.waitFor();
    expect(await overflows(page)).toEqual([]);
    expect(await clippedButtons(page, "sessions-table")).toEqual([]);
    const session = await rowDetails(page, current);
    expect(session).toMatchObject({ "This session": "Yes", "Session id": expect.stringMatching(/^[0-9a-f-]{36}$/), "Browser (User-Agent)": await page.evaluate(() => navigator.userAgent) });
  }, 60_000);

  test("at 390 px the rows are cards, and the drawer takes the screen's width without sideways scrolling", async () => {
    const { page } = admin;
    await nav(page, "Audit log");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => window.innerWidth === 390);
    const row = page.locator("#audit-table tbody tr").first();
    expect(await row.evaluate((tr) => getComputedStyle(tr).display)).toBe("block");
    await row.getByRole("button", { name: /^Details of / }).click();
    const drawer = page.getByRole("dialog");
    await drawer.waitFor();
    expect(await drawer.evaluate((d) => Math.round(d.getBoundingClientRect().width) === document.documentElement.clientWidth)).toBe(true);
    expect(await overflows(page)).toEqual([]);
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "hidden" });
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 60_000);

  test("no script errors were logged by the console pages", () => {
    expect(unexpectedErrors(errors)).toEqual([]);
  });
});
