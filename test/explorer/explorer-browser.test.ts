// Goal: the API explorer works in a real browser (Debian's chromium driven by playwright-core,
// never a downloaded browser) against a real bankd, as a new user would use it: open /docs,
// Register and Login through "Try it out" (Login's access token goes into Authorize by itself,
// issue 28), then CreateAccount (twice), Deposit (its example as it is: the page fills the
// request id and the account CreateAccount made) and Transfer, each answering 200 with the body
// the server sent shown in the response panel. The server's real errors are shown too, with their Connect code
// and ErrorInfo reason: a weak password, a wrong password, and an overdraw (INSUFFICIENT_FUNDS).
// Swagger UI runs under the page's strict CSP (a violation is a console error, which fails the
// test) and the page fetches nothing from another origin. What the clicks did is checked
// through the API. A screenshot goes to test-artifacts/explorer.png. Without chromium the test
// is skipped, except in CI.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { strongPassword, uniqueEmail } from "../support/users";

const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p): p is string => !!p && fs.existsSync(p));
const ARTIFACTS = path.resolve("test-artifacts");
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

if (!CHROMIUM && process.env.CI === "true") throw new Error("chromium is not installed: CI must install it (apt-get install -y chromium)");
if (!CHROMIUM) console.warn("explorer-browser.test.ts: SKIPPED: chromium is not installed (apt-get install -y chromium); in CI this test runs.");
const describeWithBrowser = CHROMIUM ? describe : describe.skip;

interface Panel {
  status: number;
  /** The response body as the panel shows it, parsed. */
  body: Record<string, unknown>;
  block: Locator;
}

/** The operation block of `POST <path>`, expanded, in "Try it out" mode. */
async function operation(page: Page, apiPath: string): Promise<Locator> {
  const block = page.locator(".opblock-post", { has: page.locator(`.opblock-summary-path[data-path="${apiPath}"]`) });
  if ((await block.locator(".opblock-body").count()) === 0) await block.locator(".opblock-summary").click();
  const tryItOut = block.getByRole("button", { name: "Try it out" });
  if ((await tryItOut.count()) > 0) await tryItOut.click();
  return block;
}

/** Types the request body, presses Execute, and reads the answer from the response panel once it
 * shows what the server sent (the network answer is awaited, never a fixed time). */
async function tryItOut(page: Page, apiPath: string, body: unknown): Promise<Panel> {
  const block = await operation(page, apiPath);
  // undefined: the example as the page shows it, untouched.
  if (body !== undefined) await block.locator("textarea.body-param__text").fill(JSON.stringify(body, null, 2));
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === apiPath && r.request().method() === "POST"),
    block.getByRole("button", { name: "Execute" }).click(),
  ]);
  const sent = (await response.json()) as Record<string, unknown>;
  // Wait until the panel shows this very answer (the previous one may still be on screen).
  const id = (await block.getAttribute("id"))!;
  await page.waitForFunction(
    ([blockId, expected]) => {
      const pre = document.getElementById(blockId)?.querySelector(".live-responses-table .response .response-col_description pre");
      try {
        return JSON.stringify(JSON.parse(pre?.textContent ?? "")) === expected;
      } catch {
        return false;
      }
    },
    [id, JSON.stringify(sent)] as const,
  );
  const row = block.locator(".live-responses-table .response").first();
  const status = Number((await row.locator(".response-col_status").textContent())?.trim());
  const shown = JSON.parse((await row.locator(".response-col_description pre").first().textContent()) ?? "null") as Record<string, unknown>;
  expect(shown).toEqual(sent);
  expect(status).toBe(response.status());
  return { status, body: shown, block };
}

function reason(body: Record<string, unknown>): string | undefined {
  return (body.details as { debug?: { reason?: string } }[] | undefined)?.[0]?.debug?.reason;
}

/** Login put its token into Authorize (the page does it, issue 28): the dialog says so. */
async function expectAuthorized(page: Page): Promise<void> {
  await page.locator(".auth-wrapper .authorize").click();
  const modal = page.locator(".modal-ux");
  await modal.getByText("Authorized", { exact: true }).waitFor();
  // Swagger UI labels its buttons for screen readers, so they are found by class.
  await modal.locator("button.btn-done").click();
  await modal.waitFor({ state: "detached" });
}

describeWithBrowser.each(engines())("API explorer in chromium on %s", (engine) => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const email = uniqueEmail("explorer");
  const password = strongPassword();
  const accounts: Record<string, string> = {};

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestApp(engine);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.setDefaultTimeout(20_000);
    page.on("console", (m) => void (m.type() === "error" && problems.push(m.text())));
    page.on("pageerror", (e) => void problems.push(e.message));
    page.on("request", (r) => void (!r.url().startsWith(t.baseUrl) && !r.url().startsWith("data:") && problems.push(`request to another origin: ${r.url()}`)));
    await page.goto(`${t.baseUrl}/docs`);
    await page.locator(".opblock").first().waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  test("Register: a weak password shows invalid_argument and its reason; a strong one answers 200 with the new user", async () => {
    const weak = await tryItOut(page, "/bank.v1.AuthService/Register", { email, password: "password1234", fullName: "Ada Explorer" });
    expect([weak.status, weak.body.code]).toEqual([400, "invalid_argument"]);
    expect(reason(weak.body)).toMatch(/^PASSWORD_/);
    await expectPanelText(weak.block, ["invalid_argument", reason(weak.body)!]);
    const ok = await tryItOut(page, "/bank.v1.AuthService/Register", { email, password, fullName: "Ada Explorer" });
    expect(ok.status).toBe(200);
    expect(ok.body.user).toMatchObject({ email, fullName: "Ada Explorer", roles: ["ROLE_CUSTOMER"] });
  }, 60_000);

  test("Login: a wrong password shows unauthenticated and INVALID_CREDENTIALS; the right one answers tokens, and the page authorizes with the access token", async () => {
    const wrong = await tryItOut(page, "/bank.v1.AuthService/Login", { email, password: "not my password 42" });
    expect([wrong.status, wrong.body.code, reason(wrong.body)]).toEqual([401, "unauthenticated", "INVALID_CREDENTIALS"]);
    await expectPanelText(wrong.block, ["unauthenticated", "INVALID_CREDENTIALS"]);
    const ok = await tryItOut(page, "/bank.v1.AuthService/Login", { email, password });
    expect(ok.status).toBe(200);
    expect(typeof ok.body.accessToken).toBe("string");
    await expectAuthorized(page);
  }, 60_000);

  test("CreateAccount twice, Deposit and Transfer answer 200 with their bodies; the bearer token is sent", async () => {
    for (const [key, type] of [["checking", "ACCOUNT_TYPE_CHECKING"], ["savings", "ACCOUNT_TYPE_SAVINGS"]] as const) {
      const res = await tryItOut(page, "/bank.v1.AccountService/CreateAccount", { requestId: randomUUID(), currency: "USD", type, displayName: `Explorer ${key}` });
      expect(res.status).toBe(200);
      expect(res.body.account).toMatchObject({ currency: "USD", type, displayName: `Explorer ${key}`, status: "ACCOUNT_STATUS_ACTIVE" });
      accounts[key] = (res.body.account as { id: string }).id;
      accounts[`${key}Number`] = (res.body.account as { number: string }).number;
    }
    // The example as it is: a fresh request id and the first account opened, filled by the page.
    const deposit = await tryItOut(page, "/bank.v1.TransactionService/Deposit", undefined);
    expect(deposit.status).toBe(200);
    expect((deposit.body.transaction as { toAccountId: string }).toAccountId).toBe(accounts.checking);
    expect(deposit.body.transaction).toMatchObject({ type: "TRANSACTION_TYPE_DEPOSIT", status: "TRANSACTION_STATUS_POSTED", amount: { currency: "USD", minorUnits: "10000" } });
    const transfer = await tryItOut(page, "/bank.v1.TransactionService/Transfer", {
      requestId: randomUUID(),
      fromAccountId: accounts.checking,
      toAccountNumber: accounts.savingsNumber,
      amount: { currency: "USD", minorUnits: "1234" },
      description: "savings",
    });
    expect(transfer.status).toBe(200);
    expect(transfer.body.transaction).toMatchObject({ type: "TRANSACTION_TYPE_TRANSFER", fromAccountId: accounts.checking, toAccountId: accounts.savings });
  }, 90_000);

  test("an overdraw shows failed_precondition and INSUFFICIENT_FUNDS in the response panel", async () => {
    const overdraw = await tryItOut(page, "/bank.v1.TransactionService/Transfer", {
      requestId: randomUUID(),
      fromAccountId: accounts.checking,
      toAccountId: accounts.savings,
      amount: { currency: "USD", minorUnits: "999999" },
    });
    expect([overdraw.status, overdraw.body.code, reason(overdraw.body)]).toEqual([400, "failed_precondition", "INSUFFICIENT_FUNDS"]);
    await expectPanelText(overdraw.block, ["failed_precondition", "INSUFFICIENT_FUNDS"]);
    // The panel with the server's answer, its code and reason, in view for the screenshot.
    await overdraw.block.locator(".live-responses-table .response").first().evaluate((el) => el.scrollIntoView({ block: "center" }));
    await page.screenshot({ path: path.join(ARTIFACTS, engine === "sqlite" ? "explorer.png" : `explorer-${engine}.png`) });
  }, 60_000);

  test("the API agrees: 100.00 in, 12.34 moved, nothing moved by the refused transfer", async () => {
    const login = await client(t.baseUrl, AuthService).login({ email, password });
    const { accounts: mine } = await client(t.baseUrl, AccountService, { token: login.accessToken }).listAccounts({});
    const balance = (id: string) => mine.find((a) => a.id === id)?.ledgerBalance?.minorUnits;
    expect([balance(accounts.checking!), balance(accounts.savings!)]).toEqual([100_00n - 12_34n, 12_34n]);
  });

  test("each operation's documented errors offer its own reasons: Transfer's 400 has INSUFFICIENT_FUNDS, Register's has not; choosing one shows its body", async () => {
    const offered = async (apiPath: string, status: string): Promise<string[]> => {
      const block = await operation(page, apiPath);
      const select = block.locator(`.responses-table tr.response[data-code="${status}"] .examples-select select`);
      return select.locator("option").allTextContents();
    };
    const transfer = await offered("/bank.v1.TransactionService/Transfer", "400");
    expect(transfer).toEqual(expect.arrayContaining([expect.stringContaining("INSUFFICIENT_FUNDS"), expect.stringContaining("ACCOUNT_FROZEN")]));
    const register = await offered("/bank.v1.AuthService/Register", "400");
    expect(register).toEqual(expect.arrayContaining([expect.stringContaining("PASSWORD_TOO_WEAK")]));
    expect(register.filter((o) => o.includes("INSUFFICIENT_FUNDS"))).toEqual([]);
    // The example is resolved from components.examples and shown as the body the server sends.
    const block = await operation(page, "/bank.v1.TransactionService/Transfer");
    const row = block.locator('.responses-table tr.response[data-code="400"]');
    const option = (await row.locator(".examples-select select option").allTextContents()).find((o) => o.includes("INSUFFICIENT_FUNDS"))!;
    await row.locator(".examples-select select").selectOption({ label: option });
    const body = row.locator(".highlight-code").filter({ hasText: /"reason":\s*"INSUFFICIENT_FUNDS"/ });
    await body.filter({ hasText: /"code":\s*"failed_precondition"/ }).waitFor();
  }, 60_000);

  test("no script error, no CSP violation, nothing fetched from another origin", () => {
    // The browser logs every non-2xx answer as "Failed to load resource"; those are the errors above.
    expect(problems.filter((p) => !/Failed to load resource: the server responded with a status of 40[01]/.test(p))).toEqual([]);
  });
});

async function expectPanelText(block: Locator, texts: string[]): Promise<void> {
  const panel = block.locator(".live-responses-table .response").first();
  for (const text of texts) await panel.filter({ hasText: text }).waitFor();
}
