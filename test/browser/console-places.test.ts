// Goal: every view and every account has its own URL (#/accounts/<id>, #/sessions, #/people,
// #/audit): choosing one records it in the browser's history, back and forward return to it, and
// a reload (the session is in memory only, so it asks to sign in again) opens the place the URL
// names; a place the person may not see, or an account that is not theirs, falls back to their
// first view. Engine-independent, so SQLite only; one browser for the file.
import type { Browser, Page } from "playwright-core";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, uniqueEmail } from "../support/users";
import { createStaff, describeWithBrowser, launch, nav, openPerson, signIn, unexpectedErrors } from "./helpers";

const describeBrowser = describeWithBrowser("console-places.test.ts");

/** The open view's id and the shown account's title. */
async function where(page: Page): Promise<{ hash: string; view: string; account: string }> {
  return page.evaluate(() => ({
    hash: window.location.hash,
    view: document.querySelector("#views-nav [aria-current=page]")?.textContent ?? "",
    account: document.querySelector<HTMLElement>("#account-panel")?.hidden === false ? document.querySelector("#account-title")?.textContent ?? "" : "",
  }));
}

async function waitForHash(page: Page, hash: string | RegExp): Promise<void> {
  await page.waitForFunction((h) => (typeof h === "string" ? window.location.hash === h : new RegExp(h).test(window.location.hash)), typeof hash === "string" ? hash : hash.source);
}

describeBrowser("places in the URL", () => {
  let t: TestApp;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    t = await startTestApp("sqlite");
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  test("a customer's account and views have URLs; back, forward and reload keep the place", async () => {
    const user = await createTestUser(t, [Role.CUSTOMER], { fullName: "Paula Places", email: uniqueEmail("places") });
    const accounts = client(t.baseUrl, AccountService, { token: user.token });
    const ids: string[] = [];
    for (const displayName of ["First", "Second"]) {
      const { account } = await accounts.createAccount({ requestId: crypto.randomUUID(), currency: "USD", type: AccountType.CHECKING, displayName });
      ids.push(account!.id);
    }
    const person = await openPerson(browser, "paula", { name: user.fullName, email: user.email, password: user.password }, errors);
    const { page } = person;
    await page.goto(`${t.baseUrl}/`);
    await signIn(page, person);
    await waitForHash(page, "#/accounts");
    await page.getByRole("button", { name: /^View Second/ }).click();
    await waitForHash(page, `#/accounts/${ids[1]}`);
    await nav(page, "Sessions");
    await waitForHash(page, "#/sessions");
    await page.goBack();
    await page.locator("#account-title", { hasText: "Second" }).waitFor();
    expect(await where(page)).toEqual({ hash: `#/accounts/${ids[1]}`, view: "Accounts", account: "Second (USD)" });
    await page.goForward();
    await page.locator("#views-nav [aria-current=page]", { hasText: "Sessions" }).waitFor();
    expect((await where(page)).hash).toBe("#/sessions");

    // A reload signs out (the session is in memory only); signing in returns to the account.
    await page.goto(`${t.baseUrl}/#/accounts/${ids[0]}`);
    await page.reload();
    await signIn(page, person);
    await page.locator("#account-title", { hasText: "First" }).waitFor();
    expect(await where(page)).toEqual({ hash: `#/accounts/${ids[0]}`, view: "Accounts", account: "First (USD)" });

    // Not a place for this person: the audit log, and an account id that is not theirs.
    for (const hash of ["#/audit", "#/accounts/01a24caf-0000-7000-8000-000000000000", "#/nowhere"]) {
      await page.goto(`${t.baseUrl}/${hash}`);
      await page.reload();
      await signIn(page, person);
      await waitForHash(page, "#/accounts");
      expect(await where(page)).toEqual({ hash: "#/accounts", view: "Accounts", account: "" });
    }
    await person.context.close();
  }, 90_000);

  test("an auditor's views have URLs; back and forward move between them", async () => {
    const created = await createStaff(t, "auditor", "Ava Auditor");
    const person = await openPerson(browser, "auditor", created, errors);
    const { page } = person;
    await page.goto(`${t.baseUrl}/#/audit`);
    await signIn(page, person);
    await page.locator("#views-nav [aria-current=page]", { hasText: "Audit log" }).waitFor();
    expect((await where(page)).hash).toBe("#/audit");
    await nav(page, "People");
    await waitForHash(page, "#/people");
    await page.goBack();
    await page.locator("#views-nav [aria-current=page]", { hasText: "Audit log" }).waitFor();
    await page.goForward();
    await page.locator("#views-nav [aria-current=page]", { hasText: "People" }).waitFor();
    expect((await where(page)).hash).toBe("#/people");
    await person.context.close();
  }, 90_000);

  test("no script errors were logged by the console pages", () => {
    expect(unexpectedErrors(errors)).toEqual([]);
  });
});
