// Goal: the web console works end to end in a real browser (Debian's chromium driven by
// playwright-core, never a downloaded browser) against a real bankd: two people sign up, open USD
// accounts, one deposits and pays the other by account number, both statements show the right
// running balances, the statement pages, a session is revoked, the access token is refreshed
// before it expires, signing out works, and a wrong password reads as a sentence. A page on
// another origin listed in BANK_CORS_ORIGINS can call the API; one not listed cannot. Screenshots
// go to test-artifacts/ (console.png). Without chromium the test is skipped, except in CI.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { strongPassword, uniqueEmail } from "../support/users";

const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p): p is string => !!p && fs.existsSync(p));
const ARTIFACTS = path.resolve("test-artifacts");
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

if (!CHROMIUM && process.env.CI === "true") throw new Error("chromium is not installed: CI must install it (apt-get install -y chromium)");
if (!CHROMIUM) console.warn("console.test.ts: SKIPPED: chromium is not installed (apt-get install -y chromium); in CI this test runs.");
const describeWithBrowser = CHROMIUM ? describe : describe.skip;

interface Person {
  name: string;
  email: string;
  password: string;
  context: BrowserContext;
  page: Page;
  accountNumber: string;
}

/** A page of another origin: blank HTML on its own port, to call bankd from with fetch(). */
async function startOriginServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>other origin</title><p>other origin</p>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The rows of a table body as arrays of cell texts. */
async function rows(table: Locator): Promise<string[][]> {
  return table.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => (td.textContent ?? "").trim())));
}

/** Statement rows without the date column: [description, type, amount, balance]. */
async function statement(page: Page): Promise<string[][]> {
  return (await rows(page.locator("#statement-table"))).map((r) => r.slice(1));
}

async function signUp(page: Page, who: { name: string; email: string; password: string }): Promise<void> {
  const form = page.locator("#sign-up-form");
  await form.getByLabel("Full name").fill(who.name);
  await form.getByLabel("Email").fill(who.email);
  await form.getByLabel("Password", { exact: true }).fill(who.password);
  await form.getByRole("button", { name: "Sign up" }).click();
  await page.locator("#who-name", { hasText: who.email }).waitFor();
}

async function openUsdAccount(page: Page, name: string): Promise<string> {
  const form = page.locator("#open-account-form");
  await form.getByLabel("Account name").fill(name);
  await form.getByLabel("Currency").selectOption("USD");
  await form.getByLabel("Type").selectOption("checking");
  await form.getByRole("button", { name: "Open account" }).click();
  const row = page.locator("#accounts-table tbody tr", { hasText: name });
  await row.waitFor();
  await page.locator("#account-title", { hasText: name }).waitFor();
  return ((await row.locator("td").nth(1).textContent()) ?? "").trim();
}

/** The balance is re-read after a status message appears, so it may change a moment later:
 * wait for the expected text (bounded), then assert it exactly. */
async function expectBalance(page: Page, text: string): Promise<void> {
  const balance = page.locator("#account-balance");
  await balance.filter({ hasText: text }).waitFor({ timeout: 10_000 }).catch(() => undefined);
  expect(await balance.textContent()).toBe(text);
}

async function waitForStatus(page: Page, text: string): Promise<void> {
  await page.locator("#status", { hasText: text }).waitFor();
}

describeWithBrowser.each(engines())("web console in chromium on %s", (engine) => {
  let t: TestApp;
  let browser: Browser;
  let origin: { url: string; close(): Promise<void> };
  let stranger: { url: string; close(): Promise<void> };
  const people: Record<"alice" | "bob", Person> = {} as Record<"alice" | "bob", Person>;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    [origin, stranger] = await Promise.all([startOriginServer(), startOriginServer()]);
    t = await startTestApp(engine, { BANK_CORS_ORIGINS: origin.url });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    for (const [key, name] of [["alice", "Alice Example"], ["bob", "Bob Example"]] as const) {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on("console", (m) => void (m.type() === "error" && consoleErrors.push(`${key}: ${m.text()}`)));
      page.on("pageerror", (e) => void consoleErrors.push(`${key}: ${e.message}`));
      page.setDefaultTimeout(20_000);
      people[key] = { name, email: uniqueEmail(key), password: strongPassword(), context, page, accountNumber: "" };
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await origin?.close();
    await stranger?.close();
  });

  test("two people sign up and open USD accounts", async () => {
    for (const key of ["alice", "bob"] as const) {
      const p = people[key];
      // Alice's page gets a controllable clock, to see the token refreshed before it expires.
      if (key === "alice") await p.page.clock.install();
      await p.page.goto(`${t.baseUrl}/`);
      await signUp(p.page, p);
      p.accountNumber = await openUsdAccount(p.page, `${p.name.split(" ")[0]} checking`);
      expect(p.accountNumber).not.toBe("");
    }
    expect(people.alice.accountNumber).not.toBe(people.bob.accountNumber);
  }, 90_000);

  test("Alice deposits 100.00 and pays Bob 12.34 by account number; her statement has running balances", async () => {
    const { page } = people.alice;
    const deposit = page.locator("#deposit-form");
    await deposit.getByLabel("Amount").fill("100.00");
    await deposit.getByLabel("Description").fill("Salary");
    await deposit.getByRole("button", { name: "Deposit" }).click();
    await waitForStatus(page, "Deposited 100.00 USD.");

    const transfer = page.locator("#transfer-form");
    await transfer.getByLabel("To account number").fill(people.bob.accountNumber);
    await transfer.getByLabel("Amount").fill("12.34");
    await transfer.getByLabel("Description").fill("Lunch");
    await transfer.getByRole("button", { name: "Transfer" }).click();
    await waitForStatus(page, `Transferred 12.34 USD to ${people.bob.accountNumber}.`);
    await page.locator("#statement-table tbody tr", { hasText: "Lunch" }).waitFor();

    expect(await statement(page)).toEqual([
      ["Lunch", "Transfer", "-12.34 USD", "87.66 USD"],
      ["Salary", "Deposit", "+100.00 USD", "100.00 USD"],
    ]);
    await expectBalance(page, "87.66 USD");
    const accountRow = (await rows(page.locator("#accounts-table")))[0]!;
    expect(accountRow.slice(1, 6)).toEqual([people.alice.accountNumber, "Checking", "Active", "87.66 USD", "87.66 USD"]);
    await page.screenshot({ path: path.join(ARTIFACTS, engine === "sqlite" ? "console.png" : `console-${engine}.png`), fullPage: true });
  }, 60_000);

  test("bad input is refused in words before and after the server: too many decimals, more than the balance, an unknown number", async () => {
    const { page } = people.alice;
    const transfer = page.locator("#transfer-form");
    await transfer.getByLabel("To account number").fill(people.bob.accountNumber);
    await transfer.getByLabel("Amount").fill("1.005");
    await transfer.getByRole("button", { name: "Transfer" }).click();
    await page.locator("#transfer-error", { hasText: "USD amounts have at most 2 decimal places." }).waitFor();
    await transfer.getByLabel("Amount").fill("1,000.00");
    await transfer.getByRole("button", { name: "Transfer" }).click();
    await page.locator("#transfer-error", { hasText: "There is not enough money in the account for this." }).waitFor();
    await expectBalance(page, "87.66 USD");
  }, 60_000);

  test("Bob sees the payment with its running balance", async () => {
    const { page } = people.bob;
    await page.getByRole("button", { name: new RegExp(`^View .*${people.bob.accountNumber}`) }).click();
    await page.locator("#statement-table tbody tr", { hasText: "Lunch" }).waitFor();
    expect(await statement(page)).toEqual([["Lunch", "Transfer", "+12.34 USD", "12.34 USD"]]);
    await expectBalance(page, "12.34 USD");
  }, 60_000);

  test("the statement pages: 20 rows, then the next page, then back to the first", async () => {
    const bob = people.bob;
    // Twenty more deposits through the API, from a second session of Bob's.
    const login = await client(t.baseUrl, AuthService).login({ email: bob.email, password: bob.password });
    const accounts = await client(t.baseUrl, AccountService, { token: login.accessToken }).listAccounts({});
    const accountId = accounts.accounts[0]!.id;
    const transactions = client(t.baseUrl, TransactionService, { token: login.accessToken });
    for (let i = 1; i <= 20; i++) {
      await transactions.deposit({ requestId: crypto.randomUUID(), accountId, amount: { currency: "USD", minorUnits: 100n }, description: `Top-up ${i}` });
    }
    const { page } = bob;
    await page.getByRole("button", { name: new RegExp(`^View .*${bob.accountNumber}`) }).click();
    await page.locator("#statement-table tbody tr", { hasText: "Top-up 20" }).waitFor();
    const first = await statement(page);
    expect(first).toHaveLength(20);
    expect(first[0]).toEqual(["Top-up 20", "Deposit", "+1.00 USD", "32.34 USD"]);
    expect(first[19]).toEqual(["Top-up 1", "Deposit", "+1.00 USD", "13.34 USD"]);
    await page.getByRole("button", { name: "Next page" }).click();
    await page.locator("#statement-page", { hasText: "Page 2" }).waitFor();
    expect(await statement(page)).toEqual([["Lunch", "Transfer", "+12.34 USD", "12.34 USD"]]);
    expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "First page" }).click();
    await page.locator("#statement-page", { hasText: "Page 1" }).waitFor();
    expect(await statement(page)).toHaveLength(20);
  }, 90_000);

  test("sessions: Bob sees this session and the API one, and revokes the other", async () => {
    const { page } = people.bob;
    await page.reload(); // a reload forgets the in-memory tokens: signed out
    await page.locator("#sign-in-form").waitFor();
    const form = page.locator("#sign-in-form");
    await form.getByLabel("Email").fill(people.bob.email);
    await form.getByLabel("Password").fill(people.bob.password);
    await form.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#who-name", { hasText: people.bob.email }).waitFor();
    const sessions = page.locator("#sessions-table tbody tr");
    await page.locator("#sessions-table tbody tr", { hasText: "This session" }).waitFor();
    const before = await sessions.count();
    expect(before).toBeGreaterThanOrEqual(2);
    await page.getByRole("button", { name: /^Revoke the session/ }).first().click();
    await waitForStatus(page, "The session was revoked.");
    await page.waitForFunction((n) => document.querySelectorAll("#sessions-table tbody tr").length === n, before - 1);
  }, 60_000);

  test("the access token is refreshed before it expires, and calls keep working", async () => {
    const { page } = people.alice;
    const refreshed = page.waitForRequest((r) => r.url().endsWith("/bank.v1.AuthService/RefreshToken"));
    // The token lives 15 minutes; the console refreshes a minute before.
    await page.clock.fastForward("14:10");
    const response = await (await refreshed).response();
    expect(response?.status()).toBe(200);
    const deposit = page.locator("#deposit-form");
    await deposit.getByLabel("Amount").fill("0.34");
    await deposit.getByRole("button", { name: "Deposit" }).click();
    await waitForStatus(page, "Deposited 0.34 USD.");
    await expectBalance(page, "88.00 USD");
  }, 60_000);

  test("a session revoked elsewhere signs the console out, saying why", async () => {
    const alice = people.alice;
    const login = await client(t.baseUrl, AuthService).login({ email: alice.email, password: alice.password });
    const auth = client(t.baseUrl, AuthService, { token: login.accessToken });
    const { sessions } = await auth.listSessions({});
    for (const s of sessions.filter((s) => !s.current)) await auth.revokeSession({ sessionId: s.id });
    await alice.page.getByRole("button", { name: /^View / }).first().click();
    await waitForStatus(alice.page, "Your session has ended. Please sign in again.");
    expect(await alice.page.locator("#sign-in-form").isVisible()).toBe(true);
    expect(await alice.page.locator("#signed-in").isHidden()).toBe(true);
  }, 60_000);

  test("signing out, then a wrong password reads as a sentence", async () => {
    const { page } = people.bob;
    await page.getByRole("button", { name: "Sign out" }).click();
    await waitForStatus(page, "You have signed out.");
    const form = page.locator("#sign-in-form");
    await form.getByLabel("Email").fill(people.bob.email);
    await form.getByLabel("Password").fill("definitely not the password");
    await form.getByRole("button", { name: "Sign in" }).click();
    const error = page.locator("#sign-in-error");
    await error.filter({ hasText: /\S/ }).waitFor();
    expect(await error.textContent()).toBe("The email or password is not right. Check both and try again.");
    expect(await error.getAttribute("role")).toBe("alert");
    expect(await page.locator("#signed-in").isHidden()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, engine === "sqlite" ? "console-sign-in-error.png" : `console-sign-in-error-${engine}.png`) });
  }, 60_000);

  test("a page on a listed origin can call the API (preflight, bearer token, x-request-id readable); another origin cannot", async () => {
    const page = await people.bob.context.newPage();
    await page.goto(origin.url);
    const call = (api: string, creds: { email: string; password: string }) =>
      page.evaluate(
        async ({ api, creds }) => {
          const post = (method: string, body: unknown, headers: Record<string, string> = {}) =>
            fetch(`${api}/${method}`, { method: "POST", headers: { "content-type": "application/json", "connect-protocol-version": "1", "x-request-id": "cors-check-1", ...headers }, body: JSON.stringify(body) });
          const login = await post("bank.v1.AuthService/Login", creds);
          const tokens = (await login.json()) as { accessToken: string };
          const me = await post("bank.v1.AuthService/GetCurrentUser", {}, { authorization: `Bearer ${tokens.accessToken}` });
          return { status: me.status, requestId: me.headers.get("x-request-id"), user: ((await me.json()) as { user: { email: string } }).user.email };
        },
        { api, creds },
      );
    const result = await call(t.baseUrl, { email: people.alice.email, password: people.alice.password });
    expect(result).toEqual({ status: 200, requestId: "cors-check-1", user: people.alice.email });

    await page.goto(stranger.url);
    const refused = await page.evaluate(async (api) => {
      try {
        await fetch(`${api}/bank.v1.AuthService/GetCurrentUser`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer x" }, body: "{}" });
        return "allowed";
      } catch (err) {
        return String(err);
      }
    }, t.baseUrl);
    expect(refused).toMatch(/TypeError|Failed to fetch/);
    await page.close();
  }, 60_000);

  test("no script errors were logged by the console pages", () => {
    // Failed sign-in and refused cross-origin calls log network errors by design; nothing else.
    const unexpected = consoleErrors.filter((e) => !/status of 40[13]|CORS policy|Failed to load resource|net::ERR_FAILED/.test(e));
    expect(unexpected).toEqual([]);
  });
});
