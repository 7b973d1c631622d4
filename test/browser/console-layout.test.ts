// Goal: every role's main views fit the screen, at 1280x800 (a laptop) and 390x844 (a phone):
// neither the page nor any table's container scrolls sideways (scrollWidth > clientWidth fails),
// with data made to be wide (long names, e-mails, descriptions, audit details). At 1280 px the
// staff tables keep their essential columns (the rest is in the detail drawer,
// console-drawer.test.ts), long cells are cut with an ellipsis and keep their whole text in the
// title; below 600 px rows are cards. Screenshots go to a temporary folder (printed, not committed). The layout does not
// depend on the database, so this runs on SQLite only; one browser for the file.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, uniqueEmail, type TestUser } from "../support/users";
import { createStaff, describeWithBrowser, launch, openPerson, overflows, signIn, unexpectedErrors, type Person } from "./helpers";

const describeBrowser = describeWithBrowser("console-layout.test.ts");
const SHOTS = fs.mkdtempSync(path.join(os.tmpdir(), "bankd-layout-"));
const SIZES = [{ width: 1280, height: 800 }, { width: 390, height: 844 }] as const;

describeBrowser("layouts that fit, every role, 1280x800 and 390x844", () => {
  let t: TestApp;
  let browser: Browser;
  const errors: string[] = [];
  const longName = "Maximiliana Alexandrina Featherstonehaugh-Worthington-Smythe";
  let user: TestUser;

  beforeAll(async () => {
    // Wide balances need more than the default daily deposit limit.
    t = await startTestApp("sqlite", { BANK_DAILY_LIMITS: "USD:deposit=100000000000,incoming=100000000000" });
    browser = await launch();
    // A customer whose names, numbers and descriptions are long: what every role's tables show.
    user = await createTestUser(t, [Role.CUSTOMER], { fullName: longName, email: uniqueEmail("a-very-long-local-part-for-layout") });
    const accounts = client(t.baseUrl, AccountService, { token: user.token });
    const tx = client(t.baseUrl, TransactionService, { token: user.token });
    for (const name of ["Everyday spending and bills account", "Holiday savings for the long trip"]) {
      const { account } = await accounts.createAccount({ requestId: crypto.randomUUID(), currency: "USD", type: AccountType.SAVINGS, displayName: name });
      await tx.deposit({ requestId: crypto.randomUUID(), accountId: account!.id, amount: { currency: "USD", minorUnits: 987_654_321n }, description: "Inheritance from great-aunt Hildegard, paid out by the notary in three parts" });
    }
    // eslint-disable-next-line no-console
    console.log(`console-layout: screenshots in ${SHOTS}`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  /** Visits each view in the nav at both sizes; returns every overflow found, named by where. */
  async function checkViews(page: Page, role: string, before?: (view: string) => Promise<void>): Promise<string[]> {
    const found: string[] = [];
    const views = await page.locator("#views-nav button:visible").allTextContents();
    expect(views.length).toBeGreaterThan(0);
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await page.waitForFunction((w) => window.innerWidth === w, size.width);
      for (const view of views) {
        await page.locator("#views-nav").getByRole("button", { name: view, exact: true }).click();
        await before?.(view);
        // Wait for the view's first table (if any) to have rows: the widest state.
        const table = page.locator("main section:visible table").first();
        if (await table.count()) await table.locator("tbody tr").first().waitFor();
        for (const o of await overflows(page)) found.push(`${role} ${view} ${size.width}: ${o}`);
        await page.screenshot({ path: path.join(SHOTS, `${role}-${view.replace(/\s/g, "-")}-${size.width}.png`), fullPage: true });
      }
    }
    return found;
  }

  test("a customer's accounts with a statement, and sessions, fit at both sizes", async () => {
    const person = await openPerson(browser, "customer", { name: longName, email: user.email, password: user.password }, errors, { viewport: SIZES[0] });
    await person.page.goto(`${t.baseUrl}/`);
    await signIn(person.page, person);
    await person.page.getByRole("button", { name: /^View Everyday/ }).click();
    await person.page.locator("#statement-table tbody tr").first().waitFor();
    expect(await checkViews(person.page, "customer")).toEqual([]);
    // A cut cell keeps its whole text for hover and focus.
    const description = person.page.locator("#statement-table td[data-label=Description]").first();
    expect(await description.getAttribute("title")).toBe("Inheritance from great-aunt Hildegard, paid out by the notary in three parts");
    await person.context.close();
  }, 90_000);

  for (const role of ["teller", "admin", "auditor"] as const) {
    test(`a ${role}'s views fit at both sizes`, async () => {
      const created = await createStaff(t, role, `${longName} (${role})`);
      const person: Person = await openPerson(browser, role, created, errors, { viewport: SIZES[0] });
      await person.page.goto(`${t.baseUrl}/`);
      await signIn(person.page, person);
      const found = await checkViews(person.page, role, async (view) => {
        // Staff see an account with its statement in the accounts view, and a person in People.
        if (view === "Accounts") {
          await person.page.getByRole("button", { name: /^View Everyday/ }).first().click();
          await person.page.locator("#statement-table tbody tr").first().waitFor();
        }
      });
      expect(found).toEqual([]);
      await person.context.close();
    }, 120_000);
  }

  test("no script errors were logged by the console pages", () => {
    expect(unexpectedErrors(errors)).toEqual([]);
  });
});
