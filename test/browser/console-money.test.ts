// Goal: a customer reads and types money as people do where they live. In an en-US browser in
// Tokyo and a de-DE browser in Berlin (Playwright's locale and timezoneId), balances, statement
// amounts and status lines use the locale's decimal mark and grouping with the currency's minor
// units; amounts are typed the same way, and what is ambiguous ("1,250" where the comma marks
// decimals) or has a separator in the wrong place ("12.50" in de-DE) is refused in words before
// anything is sent. A daily-limit refusal names the limit (withdrawal), writes its amounts from
// the ErrorInfo metadata (minor units) in the account's currency, and its reset (00:00 UTC) in the
// person's time zone. One browser for the file.
import type { Browser } from "playwright-core";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, uniqueEmail, type TestUser } from "../support/users";
import { artifact, describeWithBrowser, expectBalance, launch, openPerson, signIn, statement, unexpectedErrors, waitForStatus, type Person } from "./helpers";

const describeBrowser = describeWithBrowser("console-money.test.ts");

describeBrowser.each(engines())("money as people read and type it, in chromium on %s", (engine) => {
  let t: TestApp;
  let browser: Browser;
  const errors: string[] = [];

  /** A customer with a USD account "Everyday": 5,000.00 in, 1,234.56 of the 2,000.00 daily
   * withdrawal limit (BANK_DAILY_LIMITS below) used. */
  async function customer(name: string): Promise<TestUser & { accountId: string }> {
    const user = await createTestUser(t, [Role.CUSTOMER], { fullName: name, email: uniqueEmail("money") });
    const { account } = await client(t.baseUrl, AccountService, { token: user.token }).createAccount({
      requestId: crypto.randomUUID(), currency: "USD", type: AccountType.CHECKING, displayName: "Everyday",
    });
    const tx = client(t.baseUrl, TransactionService, { token: user.token });
    await tx.deposit({ requestId: crypto.randomUUID(), accountId: account!.id, amount: { currency: "USD", minorUnits: 500_000n }, description: "Savings moved in" });
    await tx.withdraw({ requestId: crypto.randomUUID(), accountId: account!.id, amount: { currency: "USD", minorUnits: 123_456n }, description: "Rent" });
    return { ...user, accountId: account!.id };
  }

  async function open(user: TestUser, locale: string, timezoneId: string): Promise<Person> {
    const person = await openPerson(browser, locale, { name: user.fullName, email: user.email, password: user.password }, errors, { locale, timezoneId, viewport: { width: 1280, height: 800 } });
    await person.page.goto(`${t.baseUrl}/`);
    await signIn(person.page, person);
    await person.page.getByRole("button", { name: /^View Everyday/ }).click();
    await person.page.locator("#account-title", { hasText: "Everyday" }).waitFor();
    return person;
  }

  /** Waits for the statement's first line to be `description`: the statement is read by its own
   * request, after the balance is shown. */
  async function firstLine(page: Person["page"], description: string): Promise<void> {
    await page.locator("#statement-table tbody tr").first().filter({ hasText: description }).waitFor({ timeout: 10_000 });
  }

  /** Types `amount` into a form and submits it. */
  async function submit(person: Person, formId: string, button: string, amount: string): Promise<void> {
    const form = person.page.locator(`#${formId}`);
    await form.getByLabel("Amount").fill(amount);
    await form.getByRole("button", { name: button }).click();
  }

  async function errorOf(person: Person, prefix: string, text: string | RegExp): Promise<string> {
    const line = person.page.locator(`#${prefix}-error`, { hasText: text });
    await line.waitFor({ timeout: 10_000 }).catch(async () => {
      throw new Error(`#${prefix}-error reads ${JSON.stringify(await person.page.locator(`#${prefix}-error`).textContent())}; #status reads ${JSON.stringify(await person.page.locator("#status").textContent())}`);
    });
    return ((await line.textContent()) ?? "").trim();
  }

  beforeAll(async () => {
    t = await startTestApp(engine, { BANK_DAILY_LIMITS: "USD:withdrawal=200000" });
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  test("en-US in Tokyo: amounts read 1,234.56 USD; the withdrawal limit refusal is in words with the reset in Tokyo time", async () => {
    const ann = await open(await customer("Ann Tokyo"), "en-US", "Asia/Tokyo");
    await expectBalance(ann.page, "3,765.44 USD");
    await firstLine(ann.page, "Rent");
    expect((await statement(ann.page))[0]).toEqual(["Rent", "Withdrawal", "-1,234.56 USD", "3,765.44 USD"]);
    await submit(ann, "withdraw-form", "Withdraw", "1,000.00");
    const refusal = await errorOf(ann, "withdraw", "daily");
    // 00:00 UTC is 09:00 in Tokyo (no daylight saving there), on the next UTC day.
    const reset = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeZone: "Asia/Tokyo" }).format(new Date((Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000));
    expect(refusal.replace(/\s/g, " ")).toBe(`This would go past the account's daily withdrawal limit of 2,000.00 USD (1,234.56 USD used today). It resets at ${reset}, 9:00 AM.`);
    await expectBalance(ann.page, "3,765.44 USD");
    // In en-US the comma groups: "12,50" is a misplaced separator, "1.250" ambiguous.
    await submit(ann, "deposit-form", "Deposit", "12,50");
    expect(await errorOf(ann, "deposit", /\S/)).toBe('Check the separators: here "," groups thousands and "." marks the decimals, like 12.34.');
    await submit(ann, "deposit-form", "Deposit", "1,250.5");
    await waitForStatus(ann.page, "Deposited 1,250.50 USD.");
    await expectBalance(ann.page, "5,015.94 USD");
    await ann.page.screenshot({ path: artifact("console-money-en-US", engine), fullPage: true });
    await ann.context.close();
  }, 60_000);

  test("de-DE in Berlin: amounts read 1.234,56 USD, are typed with a decimal comma, and ambiguous input is refused before sending", async () => {
    const bert = await open(await customer("Bert Berlin"), "de-DE", "Europe/Berlin");
    await expectBalance(bert.page, "3.765,44 USD");
    await firstLine(bert.page, "Rent");
    expect((await statement(bert.page))[0]).toEqual(["Rent", "Withdrawal", "-1.234,56 USD", "3.765,44 USD"]);
    let sent = 0;
    bert.page.on("request", (r) => void (r.url().includes("TransactionService/Deposit") && sent++));
    await submit(bert, "deposit-form", "Deposit", "1,250");
    expect(await errorOf(bert, "deposit", /\S/)).toBe('"1,250" is ambiguous: "," marks the decimals here, and USD has 2 decimal places. Write 1250 for the whole number, or 1,25 for decimals.');
    await submit(bert, "deposit-form", "Deposit", "12.50");
    expect(await errorOf(bert, "deposit", "separators")).toBe('Check the separators: here "." groups thousands and "," marks the decimals, like 12,34.');
    expect(sent).toBe(0);
    await submit(bert, "deposit-form", "Deposit", "1.234,5");
    await waitForStatus(bert.page, "Deposited 1.234,50 USD.");
    await expectBalance(bert.page, "4.999,94 USD");
    expect(sent).toBe(1);
    await submit(bert, "withdraw-form", "Withdraw", "1.000");
    const refusal = await errorOf(bert, "withdraw", "daily");
    expect(refusal).toMatch(/^This would go past the account's daily withdrawal limit of 2\.000,00 USD \(1\.234,56 USD used today\)\. It resets at \d{2}\.\d{2}\.\d{4}, 0[12]:00\.$/);
    await bert.page.screenshot({ path: artifact("console-money-de-DE", engine), fullPage: true });
    await bert.context.close();
  }, 60_000);

  test("no script errors were logged by the console pages", () => {
    expect(unexpectedErrors(errors)).toEqual([]);
  });
});
