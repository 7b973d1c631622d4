// Shared by the browser tests: Debian's chromium (never a downloaded browser), the artifacts
// folder, staff created with the CLI's create-user command, and readers of the console's tables.
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { createUserCommand } from "../../src/cli/create-user";
import type { TestApp } from "../support/app";
import { strongPassword, uniqueEmail } from "../support/users";
import { nextCode } from "../support/totp";

export const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p): p is string => !!p && fs.existsSync(p));
export const ARTIFACTS = path.resolve("test-artifacts");
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** describe, or describe.skip without chromium (outside CI, where it must be installed). */
export function describeWithBrowser(file: string): jest.Describe {
  if (!CHROMIUM && process.env.CI === "true") throw new Error("chromium is not installed: CI must install it (apt-get install -y chromium)");
  if (!CHROMIUM) console.warn(`${file}: SKIPPED: chromium is not installed (apt-get install -y chromium); in CI this test runs.`);
  return CHROMIUM ? describe : describe.skip;
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A screenshot under test-artifacts/, named per engine so both runs keep theirs. */
export function artifact(name: string, engine: string): string {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, engine === "sqlite" ? `${name}.png` : `${name}-${engine}.png`);
}

export interface Person {
  name: string;
  email: string;
  password: string;
  context: BrowserContext;
  page: Page;
  /** Confirmation dialogs (shared by copies of the person): the questions asked, in order, and
   * how many of the next ones to dismiss (cancel); the others are accepted. */
  dialogs: { asked: string[]; dismiss: number };
}

/** A page that records script errors (anything but the network failures tests cause). */
export async function openPerson(browser: Browser, key: string, who: { name: string; email: string; password: string }, errors: string[], options: Parameters<Browser["newContext"]>[0] = {}): Promise<Person> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on("console", (m) => void (m.type() === "error" && errors.push(`${key}: ${m.text()}`)));
  page.on("pageerror", (e) => void errors.push(`${key}: ${e.message}`));
  page.setDefaultTimeout(20_000);
  const dialogs = { asked: [] as string[], dismiss: 0 };
  page.on("dialog", (dialog) => {
    dialogs.asked.push(dialog.message());
    const dismiss = dialogs.dismiss > 0;
    if (dismiss) dialogs.dismiss--;
    void (dismiss ? dialog.dismiss() : dialog.accept());
  });
  return { ...who, context, page, dialogs };
}

/** Errors the tests cause on purpose: refused sign-ins and calls, dropped responses. */
export function unexpectedErrors(errors: string[]): string[] {
  return errors.filter((e) => !/status of 4\d\d|status of 50[23]|CORS policy|Failed to load resource|net::ERR_FAILED|net::ERR_CONNECTION_RESET/.test(e));
}

/** Staff are created as an operator would: `bankd create-user ... --password-stdin` (the CLI's
 * command, run in-process against the test server's database). */
export async function createStaff(t: TestApp, role: "teller" | "admin" | "auditor", fullName: string): Promise<{ name: string; email: string; password: string; id: string }> {
  const email = uniqueEmail(role);
  const password = strongPassword();
  const log = console.log;
  let id = "";
  console.log = (line: unknown) => void (id = String(line));
  try {
    const code = await createUserCommand(t.config, ["--email", email, "--full-name", fullName, "--role", role, "--password-stdin"], Readable.from([`${password}\n`]));
    if (code !== 0) throw new Error(`create-user ${role} exited ${code}`);
  } finally {
    console.log = log;
  }
  return { name: fullName, email, password, id };
}

/** The rows of a table body, each as { column label: cell text }. */
export async function rowsByLabel(table: Locator): Promise<Array<Record<string, string>>> {
  return table.locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => Object.fromEntries(Array.from(tr.querySelectorAll<HTMLElement>("td[data-label]"), (td) => [td.dataset.label ?? "", (td.textContent ?? "").trim()]))),
  );
}

/** The fields the detail drawer shows now, each as { label: text } (an id without its Copy
 * button, stored text as stored). */
export async function drawerFields(page: Page): Promise<Record<string, string>> {
  return page.locator("#drawer-fields dd").evaluateAll((dds) =>
    Object.fromEntries(dds.map((dd) => [(dd as HTMLElement).dataset.label ?? "", ((dd.querySelector("code, pre") ?? dd).textContent ?? "").trim()])),
  );
}

/** Every field of a table row, read from the detail drawer (opened with the row's "Details"
 * button, then closed again with its close button). */
export async function rowDetails(page: Page, row: Locator): Promise<Record<string, string>> {
  await row.getByRole("button", { name: /^Details of / }).click();
  const drawer = page.getByRole("dialog");
  await drawer.waitFor();
  const fields = await drawerFields(page);
  await drawer.getByRole("button", { name: "Close details" }).click();
  await drawer.waitFor({ state: "hidden" });
  return fields;
}

/** Statement rows: [description, type, amount, balance]. */
export async function statement(page: Page): Promise<string[][]> {
  return (await rowsByLabel(page.locator("#statement-table"))).map((r) => [r["Description"]!, r["Type"]!, r["Amount"]!, r["Balance"]!]);
}

/** Who signs in; staff get their second factor's secret and recovery codes here the first time
 * (enrolment in the console), and use them on later sign-ins. */
export interface SignInAs {
  email: string;
  password: string;
  totpSecret?: string;
  recoveryCodes?: string[];
}

/** Signs in through the console's form as a person would: staff without a second factor go
 * through the console's enrolment (QR code's secret read from the page, a first code computed
 * from it, recovery codes saved); staff with one enter the code when asked. */
export async function signIn(page: Page, who: SignInAs): Promise<void> {
  const form = page.locator("#sign-in-form");
  await form.getByLabel("Email").fill(who.email);
  await form.getByLabel("Password").fill(who.password);
  await form.getByRole("button", { name: "Sign in" }).click();
  if (who.totpSecret) {
    const code = form.getByLabel("Code from your authenticator app");
    await code.waitFor();
    await code.fill(nextCode(who.totpSecret));
    await form.getByRole("button", { name: "Sign in" }).click();
  }
  await page.locator("#who-name", { hasText: who.email }).waitFor();
  if (await page.locator("#enrolment").isVisible()) await enrolInConsole(page, who);
}

/** The console's enrolment screen, done: returns the secret, and the person is signed in. */
export async function enrolInConsole(page: Page, who: SignInAs): Promise<void> {
  const secretText = page.locator("#enrol-secret");
  await secretText.filter({ hasText: /\S/ }).waitFor();
  const secret = ((await secretText.textContent()) ?? "").replace(/\s/g, "");
  await page.locator("#enrol-form").getByLabel("Code from your authenticator app").fill(nextCode(secret));
  await page.locator("#enrol-form").getByRole("button", { name: "Confirm" }).click();
  await page.locator("#recovery-codes li").first().waitFor();
  who.totpSecret = secret;
  who.recoveryCodes = (await page.locator("#recovery-codes li").allTextContents()).map((c) => c.trim());
  await page.getByRole("button", { name: /I have saved my recovery codes/ }).click();
  await page.locator("#signed-in").waitFor();
}

export async function signUp(page: Page, who: { name: string; email: string; password: string }): Promise<void> {
  const form = page.locator("#sign-up-form");
  await form.getByLabel("Full name").fill(who.name);
  await form.getByLabel("Email").fill(who.email);
  await form.getByLabel("Password", { exact: true }).fill(who.password);
  await form.getByRole("button", { name: "Sign up" }).click();
  await page.locator("#who-name", { hasText: who.email }).waitFor();
}

export async function openUsdAccount(page: Page, name: string): Promise<string> {
  const form = page.locator("#open-account-form");
  await form.getByLabel("Account name").fill(name);
  await form.getByLabel("Currency").selectOption("USD");
  await form.getByLabel("Type").selectOption("checking");
  await form.getByRole("button", { name: "Open account" }).click();
  const row = page.locator("#accounts-table tbody tr", { hasText: name });
  await row.waitFor();
  await page.locator("#account-title", { hasText: name }).waitFor();
  return ((await row.locator('td[data-label="Number"]').textContent()) ?? "").trim();
}

/** The balance is re-read after a status message appears, so it may change a moment later:
 * wait for the expected text (bounded), then assert it exactly. */
export async function expectText(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: text }).waitFor({ timeout: 10_000 }).catch(() => undefined);
  expect((await locator.textContent())?.trim()).toBe(text);
}

export async function expectBalance(page: Page, text: string): Promise<void> {
  await expectText(page.locator("#account-balance"), text);
}

export async function waitForStatus(page: Page, text: string | RegExp): Promise<void> {
  await page.locator("#status", { hasText: text }).waitFor();
}

/** The ids of the forms a person can see now. */
export async function visibleForms(page: Page): Promise<string[]> {
  return page.locator("form").evaluateAll((forms) => forms.filter((f) => (f as HTMLElement).offsetParent !== null).map((f) => f.id));
}

/** What scrolls sideways: the page, or a visible table container (or table) wider than its box. */
export async function overflows(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) found.push(`page ${doc.scrollWidth} > ${doc.clientWidth}`);
    for (const box of Array.from(document.querySelectorAll<HTMLElement>(".table-scroll"))) {
      if (box.offsetParent === null) continue;
      const table = box.querySelector("table");
      if (box.scrollWidth > box.clientWidth) found.push(`#${table?.id ?? "?"} container ${box.scrollWidth} > ${box.clientWidth}`);
      if (table && table.scrollWidth > box.clientWidth) found.push(`#${table.id} ${table.scrollWidth} > ${box.clientWidth}`);
    }
    return found;
  });
}

/** The page is no wider than the viewport (tables scroll inside their cards instead). */
export async function pageOverflowPx(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Every visible input, select and button has a name a screen reader can announce. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const missing: string[] = [];
    for (const el of Array.from(document.querySelectorAll<HTMLElement>("input, select, button, textarea"))) {
      if (el.offsetParent === null) continue;
      const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || (el.tagName === "BUTTON" && (el.textContent ?? "").trim() !== "");
      if (!labelled) missing.push(el.id || el.outerHTML.slice(0, 80));
    }
    return missing;
  });
}

export async function nav(page: Page, name: "Accounts" | "People" | "Audit log" | "Sessions"): Promise<void> {
  await page.getByRole("navigation", { name: "Console sections" }).getByRole("button", { name, exact: true }).click();
}
