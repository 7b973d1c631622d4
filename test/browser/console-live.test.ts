// Goal: the web console's open account updates itself live (issue 19), in a real browser (Debian's
// chromium driven by playwright-core) against two real bankd processes on one database, reached
// through a TCP proxy the test controls. Money a teller moves through ANOTHER client (Connect and
// gRPC clients in the test, never the page) appears in the open statement and balances without a
// reload, and is announced politely. When the network drops the stream, and when the serving
// process drains (UNAVAILABLE SERVER_DRAINING) and the proxy sends new connections to the other
// one, the console reconnects with back-off from the last cursor: the reconnect's start_after is
// the newest line's cursor, and the statement then equals the server's, line for line, with no
// duplicate and no gap. The stream stops when another view is opened (and resumes from its cursor
// on return), and on sign-out. A teller's freeze through another client (issue 28) shows at once
// in the open console, over the same stream: status "Frozen", a notice, no money forms (nor the
// close form: a frozen account cannot be closed); the unfreeze brings them back. Screenshots go to test-artifacts/. Without chromium the test is
// skipped, except in CI.
import type { Browser, Page, Request } from "playwright-core";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { loadConfig } from "../../src/config";
import { startApp, type App } from "../../src/app";
import { createLogger } from "../../src/logger";
import { engines } from "../support/db";
import { metricsText } from "../support/metrics";
import { client, FAST_ARGON2, startTestApp, type Protocol, type TestApp } from "../support/app";
import { createTestUser, type TestUser } from "../support/users";
import { artifact, describeWithBrowser, expectBalance, launch, nav, openPerson, openUsdAccount, signIn, statement, unexpectedErrors, type Person } from "./helpers";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";
import { waitUntil } from "../support/wait";

const describeBrowser = describeWithBrowser("console-live.test.ts");
const WATCH_PATH = "/bank.v1.AccountService/WatchAccount";

/** start_after of a WatchAccount request the page sent (Connect streaming: a 5-byte envelope
 * prefix, then the JSON request). */
function startAfterOf(request: Request): string {
  const body = request.postDataBuffer();
  if (!body) throw new Error("WatchAccount without a body");
  return (JSON.parse(body.subarray(5).toString("utf8")) as { startAfter?: string }).startAfter ?? "";
}

/** Keeps, in the page, a copy of what every WatchAccount response body brings, so the test can
 * see how a stream ended as the browser received it (Playwright reports a stream the page stops
 * reading as aborted, without its body). The page reads the same bytes: the body is teed. */
function recordStreamBodies(path: string): void {
  const log: string[] = [];
  (window as unknown as { watchBodies: string[] }).watchBodies = log;
  const original = window.fetch.bind(window);
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const res = await original(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith(path) || !res.body) return res;
    const [forPage, forTest] = res.body.tee();
    Object.defineProperty(res, "body", { value: forPage });
    const index = log.push("") - 1;
    void (async () => {
      const reader = forTest.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done || !value) return;
        log[index] += decoder.decode(value, { stream: true });
      }
    })();
    return res;
  };
}

async function streamBodies(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as { watchBodies: string[] }).watchBodies]);
}

/** The page's live indicator reaches `state`. The first message of a stream (and so "live") can
 * take up to a heartbeat (5 s) when no entry is waiting. */
async function liveState(page: Page, state: "connecting" | "live" | "waiting" | "stopped"): Promise<void> {
  await page.locator(`#live-indicator[data-state="${state}"]`).waitFor({ state: "attached", timeout: 20_000 });
}

describeBrowser.each(engines())("the console's live statement in chromium on %s", (engine) => {
  let t: TestApp;
  let other: App | undefined;
  let proxy: TcpProxy;
  let browser: Browser;
  let customer: Person;
  let teller: TestUser;
  let person: TestUser;
  let accountId = "";
  const errors: string[] = [];
  /** Every WatchAccount request the page sent, in order. */
  const watches: Request[] = [];

  const movements = (protocol: Protocol, baseUrl = t.baseUrl) => client(baseUrl, TransactionService, { token: teller.token, protocol });
  const deposit = (minor: bigint, description: string, protocol: Protocol = "connect", baseUrl = t.baseUrl) =>
    movements(protocol, baseUrl).deposit({ requestId: crypto.randomUUID(), accountId, amount: { currency: "USD", minorUnits: minor }, description });

  /** The statement as the server has it, newest first: transaction ids and the newest cursor. */
  async function serverStatement(): Promise<{ ids: string[]; newestCursor: string }> {
    const res = await movements("connect").listTransactions({ accountId, pageSize: 50 });
    return { ids: res.entries.map((e) => e.transaction!.id), newestCursor: res.entries[0]?.cursor ?? "" };
  }

  async function shownIds(page: Page): Promise<string[]> {
    return page.locator("#statement-table tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.transactionId ?? ""));
  }

  /** The page shows exactly the server's statement: same lines, same order, none twice. */
  async function expectSameStatement(page: Page, lines: number): Promise<void> {
    await page.waitForFunction((n) => document.querySelectorAll("#statement-table tbody tr").length >= n, lines, { timeout: 15_000 });
    const shown = await shownIds(page);
    expect(new Set(shown).size).toBe(shown.length);
    expect(shown).toEqual((await serverStatement()).ids);
    expect(shown).toHaveLength(lines);
  }

  async function watchesInFlight(): Promise<number> {
    const text = await metricsText(t.baseUrl);
    const line = text.split("\n").find((l) => l.startsWith("bankd_rpc_in_flight{") && l.includes(`method="bank.v1.AccountService/WatchAccount"`));
    return line ? Number(line.split(" ").pop()) : 0;
  }

  beforeAll(async () => {
    t = await startTestApp(engine);
    // A second bankd process's worth of server on the same database and keys: the browser starts
    // on it, and is moved to the first when it drains.
    const config = loadConfig({ ...FAST_ARGON2, BANK_HOST: "127.0.0.1", BANK_PORT: "0", BANK_DATA_DIR: t.db.dataDir, BANK_DATABASE_URL: t.db.url, BANK_LOG_LEVEL: "silent" });
    other = await startApp(config, { logger: createLogger("silent") });
    proxy = await startTcpProxy(other.server.port);
    teller = await createTestUser(t, [Role.TELLER]);
    person = await createTestUser(t, [Role.CUSTOMER], { fullName: "Carol Live" });
    browser = await launch();
    customer = await openPerson(browser, "carol", { name: person.fullName, email: person.email, password: person.password }, errors);
    customer.page.on("request", (r) => void (r.url().endsWith(WATCH_PATH) && watches.push(r)));
    await customer.page.addInitScript(recordStreamBodies, WATCH_PATH);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await other?.shutdown();
    await t?.stop();
  });

  test("a deposit by a teller through another client appears in the open statement and balance, without a reload, and is announced", async () => {
    const { page } = customer;
    await page.goto(`${proxy.url}/`);
    await signIn(page, customer);
    const number = await openUsdAccount(page, "Carol live");
    const { accounts } = await client(t.baseUrl, AccountService, { token: person.token }).listAccounts({});
    accountId = accounts.find((a) => a.number === number)!.id;
    await liveState(page, "live");
    // The stream started from the newest line: none yet, so from now.
    expect(watches.map(startAfterOf)).toEqual([""]);
    await page.evaluate(() => ((window as unknown as { liveTestMark: number }).liveTestMark = 42));

    await deposit(25_00n, "Salary", "connect");
    await page.locator("#statement-table tbody tr", { hasText: "Salary" }).waitFor();
    await expectBalance(page, "25.00 USD");
    expect(await page.locator("#live-announce").textContent()).toBe("New entry: Salary, +25.00 USD; balance 25.00 USD.");

    // Over gRPC, posted by the other process: the same.
    await deposit(10_50n, "Refund", "grpc", other!.server.url);
    await page.locator("#statement-table tbody tr", { hasText: "Refund" }).waitFor();
    await expectBalance(page, "35.50 USD");
    expect(await statement(page)).toEqual([
      ["Refund", "Deposit", "+10.50 USD", "35.50 USD"],
      ["Salary", "Deposit", "+25.00 USD", "25.00 USD"],
    ]);
    // The account list's copy follows as well.
    await page.locator("#accounts-table tbody tr", { hasText: "35.50 USD" }).waitFor();
    // Same document: nothing was reloaded.
    expect(await page.evaluate(() => (window as unknown as { liveTestMark?: number }).liveTestMark)).toBe(42);
    await expectSameStatement(page, 2);
    expect(await page.locator("#live-text").textContent()).toBe("Live: new entries appear as money moves.");
    await page.screenshot({ path: artifact("console-live", engine), fullPage: true });
  }, 90_000);

  test("the network drops the stream: it reconnects with back-off from the last cursor, and money moved meanwhile appears once", async () => {
    const { page } = customer;
    const before = watches.length;
    const { newestCursor } = await serverStatement();
    // While the network is down, attempts fail before reaching the server.
    let refused = 0;
    await page.route(`**${WATCH_PATH}`, (route) => void (refused++, route.abort("internetdisconnected")));
    proxy.cut();
    await liveState(page, "waiting");
    await deposit(1_00n, "While offline 1", "connect");
    await deposit(2_00n, "While offline 2", "grpc");
    // The indicator says when it tries again; attempts keep failing while the network is down.
    await page.locator("#live-text", { hasText: /^Live updates interrupted; reconnecting in [1-4] seconds?\.$/ }).waitFor();
    await waitUntil("two watch attempts were refused while offline", () => refused >= 2, { timeoutMs: 15_000, intervalMs: 100 });
    await page.unroute(`**${WATCH_PATH}`);
    await liveState(page, "live");
    await page.locator("#statement-table tbody tr", { hasText: "While offline 2" }).waitFor();
    // Every attempt after the cut asked for the entries after the newest line shown before it.
    const after = watches.slice(before).map(startAfterOf);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(new Set(after)).toEqual(new Set([newestCursor]));
    await expectBalance(page, "38.50 USD");
    await deposit(3_00n, "Back online", "connect");
    await page.locator("#statement-table tbody tr", { hasText: "Back online" }).waitFor();
    await expectSameStatement(page, 5);
  }, 90_000);

  test("the serving process drains: the stream ends with SERVER_DRAINING, the console resumes on the other process from its cursor, without a duplicate", async () => {
    const { page } = customer;
    const before = watches.length;
    const { newestCursor } = await serverStatement();
    expect((await streamBodies(page)).some((body) => body.includes("SERVER_DRAINING"))).toBe(false);
    // New connections go to the first process; the second one drains, ending its streams.
    proxy.targetPort = t.app.server.port;
    await other!.shutdown();
    other = undefined;
    // The open stream ended with the drain's error, as the page received it. (A reconnect that
    // reached the draining process over a connection kept alive is refused with SHUTTING_DOWN,
    // and tried again.)
    const drained = async () => (await streamBodies(page)).find((body) => body.includes("SERVER_DRAINING"));
    await waitUntil("the page received the stream's SERVER_DRAINING", async () => (await drained()) !== undefined, { timeoutMs: 15_000, intervalMs: 100 });
    expect(await drained()).toContain(`"code":"unavailable"`);
    await deposit(4_00n, "After the drain", "grpc");
    await page.locator("#statement-table tbody tr", { hasText: "After the drain" }).waitFor();
    await liveState(page, "live");
    // Every attempt since resumed after the newest line shown before the drain.
    expect(new Set(watches.slice(before).map(startAfterOf))).toEqual(new Set([newestCursor]));
    await expectBalance(page, "45.50 USD");
    await expectSameStatement(page, 6);
  }, 90_000);

  test("a teller freezes the account through another client: the open console shows Frozen and no money forms at once, over the same stream, and the unfreeze brings them back", async () => {
    const { page } = customer;
    await liveState(page, "live");
    const moneyForms = ["#deposit-form", "#withdraw-form", "#transfer-form", "#close-form"];
    const formsShown = () => Promise.all(moneyForms.map((f) => page.locator(f).isVisible()));
    expect(await formsShown()).toEqual([true, true, true, true]);
    const before = watches.length;
    const tellerAccounts = client(t.baseUrl, AccountService, { token: teller.token, protocol: "grpc" });

    await tellerAccounts.freezeAccount({ accountId, reason: "Suspicious activity" });
    await page.locator("#account-status", { hasText: /^Frozen$/ }).waitFor();
    await page.locator("#account-status-news", { hasText: "This account was frozen" }).waitFor();
    for (const f of moneyForms) await page.locator(f).waitFor({ state: "hidden" });
    expect(await page.locator("#account-frozen-note").textContent()).toBe("This account is frozen: no money moves in or out until it is unfrozen.");
    await page.locator("#accounts-table tbody tr", { hasText: "Frozen" }).waitFor();
    await page.screenshot({ path: artifact("console-live-frozen", engine), fullPage: true });

    await tellerAccounts.unfreezeAccount({ accountId, reason: "Cleared" });
    await page.locator("#account-status", { hasText: /^Active$/ }).waitFor();
    await page.locator("#account-status-news", { hasText: "This account was unfrozen" }).waitFor();
    for (const f of moneyForms) await page.locator(f).waitFor({ state: "visible" });
    expect(await page.locator("#account-frozen-note").isHidden()).toBe(true);
    // Pushed over the open stream: no new WatchAccount call, no reload.
    expect(watches.length).toBe(before);
    expect(await page.evaluate(() => (window as unknown as { liveTestMark?: number }).liveTestMark)).toBe(42);
    await liveState(page, "live");
  }, 90_000);

  test("the stream stops when another view opens and resumes from its cursor on return; sign-out stops it", async () => {
    const { page } = customer;
    await liveState(page, "live");
    expect(await watchesInFlight()).toBe(1);
    const before = watches.length;
    await nav(page, "Sessions");
    await waitUntil("no watch in flight after leaving the account", async () => (await watchesInFlight()) === 0, { timeoutMs: 15_000, intervalMs: 100 });
    // Money moves while the account is not shown; it is there on return, once.
    await deposit(5_00n, "While away", "connect");
    const { newestCursor } = await serverStatement();
    await nav(page, "Accounts");
    await page.locator("#statement-table tbody tr", { hasText: "While away" }).waitFor();
    await expectBalance(page, "50.50 USD");
    await expectSameStatement(page, 7);
    // It resumed from where it stopped: the line before "While away".
    const resumedFrom = watches.slice(before).map(startAfterOf)[0];
    expect(resumedFrom).not.toBe(newestCursor);
    expect(resumedFrom).not.toBe("");
    await waitUntil("one watch in flight after coming back", async () => (await watchesInFlight()) === 1, { timeoutMs: 15_000, intervalMs: 100 });

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#sign-in-form").waitFor();
    await waitUntil("no watch in flight after signing out", async () => (await watchesInFlight()) === 0, { timeoutMs: 15_000, intervalMs: 100 });
    expect(await page.locator("#live-indicator").isHidden()).toBe(true);
    expect(unexpectedErrors(errors).filter((e) => !/ERR_INTERNET_DISCONNECTED|ERR_ABORTED/.test(e))).toEqual([]);
  }, 90_000);
});
