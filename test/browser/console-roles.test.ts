// Goal: the console serves every role in a real browser (Debian's chromium) against a real bankd,
// with staff created by `bankd create-user`, each seeing exactly the views and forms the
// contract's access option allows. A teller finds a customer by email and an account by number,
// opens an account for the customer, deposits and withdraws for them, freezes and unfreezes with a
// reason, places, partly captures and releases holds (pending on the statement until settled). An
// admin lists and searches people, changes roles, disables and enables a person, sets an
// overdraft and reverses a deposit with a reason. An auditor reads the audit log filtered by
// actor, action, target and time with each outcome, verifies the hash chain, and can change
// nothing. Staff lists of accounts name the owner, so two "Everyday" accounts are told apart.
// Each role's main view is saved as a screenshot, also at 390 px, under test-artifacts/.
import type { Browser, Page } from "playwright-core";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AccountType } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, signIn as signInOverApi, uniqueEmail, type TestUser } from "../support/users";
import {
  artifact, createStaff, describeWithBrowser, expectBalance, expectText, launch, nav, openPerson, pageOverflowPx, rowDetails, rowsByLabel, signIn,
  statement, unexpectedErrors, unlabelledControls, visibleForms, waitForStatus, type Person,
} from "./helpers";

const describeBrowser = describeWithBrowser("console-roles.test.ts");

interface Customer extends TestUser {
  everydayId: string;
  everydayNumber: string;
}

/** A customer (registered the way Register does) with an account named "Everyday". */
async function customer(t: TestApp, fullName: string, prefix: string): Promise<Customer> {
  const user = await createTestUser(t, [Role.CUSTOMER], { fullName, email: uniqueEmail(prefix) });
  const accounts = client(t.baseUrl, AccountService, { token: user.token });
  const { account } = await accounts.createAccount({ requestId: crypto.randomUUID(), currency: "USD", type: AccountType.CHECKING, displayName: "Everyday" });
  return { ...user, everydayId: account!.id, everydayNumber: account!.number };
}

/** Waits until the audit table lists events of `action` only (the filtered page has arrived). */
async function onlyAction(page: Page, action: string): Promise<void> {
  await page.waitForFunction((a) => {
    const cells = Array.from(document.querySelectorAll("#audit-table tbody tr td[data-label=Action]"));
    return cells.length > 0 && cells.every((td) => td.textContent === a);
  }, action);
}

/** Checks the layout at 390 px, saves the role's main view there, and restores the size. */
async function narrowScreenshot(page: Page, name: string, engine: string): Promise<void> {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => window.innerWidth === 390);
  expect(await pageOverflowPx(page)).toBeLessThanOrEqual(0);
  expect(await unlabelledControls(page)).toEqual([]);
  await page.screenshot({ path: artifact(`${name}-390`, engine), fullPage: true });
  if (size) await page.setViewportSize(size);
}

describeBrowser.each(engines())("web console for staff in chromium on %s", (engine) => {
  let t: TestApp;
  let browser: Browser;
  let carol: Customer;
  let dave: Customer;
  const staff = {} as Record<"teller" | "admin" | "auditor", Person & { id: string }>;
  const consoleErrors: string[] = [];
  let carolSavings = "";

  beforeAll(async () => {
    t = await startTestApp(engine);
    browser = await launch();
    [carol, dave] = [await customer(t, "Carol Customer", "carol"), await customer(t, "Dave Customer", "dave")];
    await client(t.baseUrl, TransactionService, { token: carol.token }).deposit({
      requestId: crypto.randomUUID(), accountId: carol.everydayId, amount: { currency: "USD", minorUnits: 3000n }, description: "Paycheck",
    });
    for (const [role, name] of [["teller", "Terry Teller"], ["admin", "Ada Admin"], ["auditor", "Audrey Auditor"]] as const) {
      const created = await createStaff(t, role, name);
      staff[role] = { ...(await openPerson(browser, role, created, consoleErrors)), id: created.id };
      await staff[role].page.goto(`${t.baseUrl}/`);
      // The console's enrolment the first time; the secret is kept on staff[role] for later sign-ins.
      await signIn(staff[role].page, staff[role]);
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  /** The accounts table names owners: the two "Everyday" accounts are told apart. */
  async function everydayOwners(page: Page): Promise<string[]> {
    await page.locator("#accounts-table tbody tr", { hasText: "Dave Customer" }).waitFor();
    const rows = await rowsByLabel(page.locator("#accounts-table"));
    return rows.filter((r) => r["Name"] === "Everyday").map((r) => r["Owner"]!).sort();
  }

  test("a teller sees all accounts with their owners, the people view, and no audit log", async () => {
    const { page } = staff.teller;
    expect(await page.locator("#views-nav button:visible").allTextContents()).toEqual(["Accounts", "People", "Sessions"]);
    expect(await page.locator("#accounts-title").textContent()).toBe("All accounts");
    expect(await everydayOwners(page)).toEqual([`Carol Customer <${carol.email}>`, `Dave Customer <${dave.email}>`]);
    // Staff open accounts for a customer they have found, so no open form here yet.
    expect(await visibleForms(page)).toEqual(["lookup-form"]);
  }, 60_000);

  test("a teller finds a customer by email and opens an account for her", async () => {
    const { page } = staff.teller;
    await nav(page, "People");
    await page.locator("#user-search-form").getByLabel("Email starts with").fill(carol.email.slice(0, 12));
    await page.locator("#user-search-form").getByRole("button", { name: "Search" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#users-table tbody tr").length === 1);
    expect((await rowsByLabel(page.locator("#users-table")))[0]).toMatchObject({ Name: "Carol Customer", Email: carol.email, Roles: "Customer", Status: "Active" });
    await page.getByRole("button", { name: `Open Carol Customer (${carol.email})` }).click();
    await page.locator("#user-title", { hasText: "Carol Customer" }).waitFor();
    // Read-only for tellers: no roles or access forms.
    expect(await page.locator("#user-roles-form").isHidden()).toBe(true);
    expect(await page.locator("#user-access-form").isHidden()).toBe(true);
    await page.getByRole("button", { name: "Show their accounts" }).click();
    await page.locator("#accounts-title", { hasText: "Accounts of Carol Customer" }).waitFor();
    await page.locator("#accounts-table tbody tr", { hasText: "Everyday" }).waitFor();
    expect((await rowsByLabel(page.locator("#accounts-table"))).map((r) => r["Name"])).toEqual(["Everyday"]);

    const open = page.locator("#open-account-form");
    expect(await page.locator("#open-account-title").textContent()).toBe("Open an account for Carol Customer");
    await open.getByLabel("Account name").fill("Carol savings");
    await open.getByLabel("Type").selectOption("savings");
    await open.getByRole("button", { name: "Open account" }).click();
    await page.locator("#account-title", { hasText: "Carol savings" }).waitFor();
    await waitForStatus(page, /^Opened Carol savings, number [\d ]+\.$/);
    await expectText(page.locator("#account-owner"), `Carol Customer <${carol.email}>`);
    carolSavings = ((await page.locator("#account-number").textContent()) ?? "").trim();
    // The account belongs to Carol: she sees it.
    const mine = await client(t.baseUrl, AccountService, { token: carol.token }).listAccounts({});
    expect(mine.accounts.map((a) => a.displayName).sort()).toEqual(["Carol savings", "Everyday"]);
  }, 60_000);

  test("a teller deposits and withdraws for the customer; tellers get no overdraft, limits, close or reversal forms", async () => {
    const { page } = staff.teller;
    expect((await visibleForms(page)).sort()).toEqual(["account-status-form", "deposit-form", "hold-form", "lookup-form", "open-account-form", "statement-range-form", "transfer-form", "withdraw-form"]);
    const deposit = page.locator("#deposit-form");
    await deposit.getByLabel("Amount").fill("50.00");
    await deposit.getByLabel("Description").fill("Cash in at the counter");
    await deposit.getByRole("button", { name: "Deposit" }).click();
    await waitForStatus(page, "Deposited 50.00 USD.");
    const withdraw = page.locator("#withdraw-form");
    await withdraw.getByLabel("Amount").fill("5.00");
    await withdraw.getByLabel("Description").fill("Cash out");
    await withdraw.getByRole("button", { name: "Withdraw" }).click();
    await waitForStatus(page, "Withdrew 5.00 USD.");
    await expectBalance(page, "45.00 USD");
  }, 60_000);

  test("a teller finds an account by its number, spaces or not", async () => {
    const { page } = staff.teller;
    const lookup = page.locator("#lookup-form");
    await lookup.getByLabel("Account number").fill(dave.everydayNumber.replace(/\s/g, ""));
    await lookup.getByRole("button", { name: "Find account" }).click();
    await page.locator("#account-owner", { hasText: "Dave Customer" }).waitFor();
    expect(await page.locator("#account-number").textContent()).toBe(dave.everydayNumber);
    await lookup.getByLabel("Account number").fill("1234 5678 9012 34");
    await lookup.getByRole("button", { name: "Find account" }).click();
    await page.locator("#lookup-error", { hasText: /not valid|No account/ }).waitFor();
    await lookup.getByLabel("Account number").fill(carolSavings);
    await lookup.getByRole("button", { name: "Find account" }).click();
    await page.locator("#account-title", { hasText: "Carol savings" }).waitFor();
  }, 60_000);

  test("a teller freezes with a reason (money stops, also over the API) and unfreezes", async () => {
    const { page } = staff.teller;
    const status = page.locator("#account-status-form");
    await status.getByRole("button", { name: "Freeze" }).click();
    await page.locator("#account-status-error", { hasText: "Give the reason" }).waitFor();
    await status.getByLabel("Reason").fill("Card reported stolen");
    // Asked first; cancelling sends nothing.
    staff.teller.dialogs.dismiss = 1;
    await status.getByRole("button", { name: "Freeze" }).click();
    await page.locator("#account-status-error", { hasText: "Cancelled: Carol savings was not frozen." }).waitFor();
    await expectText(page.locator("#account-status"), "Active");
    await status.getByRole("button", { name: "Freeze" }).click();
    await waitForStatus(page, /^Froze Carol savings/);
    expect(staff.teller.dialogs.asked.slice(-2)).toEqual(Array(2).fill(`Freeze Carol savings (${carolSavings})? No money can move in or out until it is unfrozen.`));
    await expectText(page.locator("#account-status"), "Frozen");
    expect(await page.locator("#deposit-form").isHidden()).toBe(true);
    expect(await page.locator("#account-frozen-note").textContent()).toMatch(/frozen/);
    const savingsId = (await client(t.baseUrl, AccountService, { token: carol.token }).listAccounts({})).accounts.find((a) => a.displayName === "Carol savings")!.id;
    const refused = await client(t.baseUrl, TransactionService, { token: carol.token })
      .deposit({ requestId: crypto.randomUUID(), accountId: savingsId, amount: { currency: "USD", minorUnits: 100n } })
      .catch((err: unknown) => err);
    expect((refused as ConnectError).code).toBe(Code.FailedPrecondition);

    await status.getByLabel("Reason").fill("Card found again");
    await status.getByRole("button", { name: "Unfreeze" }).click();
    await waitForStatus(page, "Unfroze Carol savings.");
    await expectText(page.locator("#account-status"), "Active");
    await page.locator("#deposit-form").waitFor();
  }, 60_000);

  test("a teller places holds (pending on the statement), captures one partly and releases the other", async () => {
    const { page } = staff.teller;
    const hold = page.locator("#hold-form");
    for (const [amount, description] of [["10.00", "Hotel"], ["3.00", "Taxi"]]) {
      await hold.getByLabel("Amount").fill(amount!);
      await hold.getByLabel("Description").fill(description!);
      await hold.getByRole("button", { name: "Place hold" }).click();
      await waitForStatus(page, `Placed a hold of ${amount} USD.`);
    }
    await expectText(page.locator("#account-available"), "32.00 USD");
    await expectText(page.locator("#account-held"), "13.00 USD");
    await page.locator("#statement-table tbody tr", { hasText: "Taxi" }).waitFor();
    expect((await statement(page)).slice(0, 2)).toEqual([
      ["Taxi", "Hold (pending)", "held 3.00 USD", "45.00 USD"],
      ["Hotel", "Hold (pending)", "held 10.00 USD", "45.00 USD"],
    ]);

    const capture = page.locator("#capture-form");
    await capture.getByLabel("Hold").selectOption({ label: await capture.locator("option", { hasText: "Hotel" }).innerText() });
    await capture.getByLabel("Amount").fill("4.00");
    await capture.getByRole("button", { name: "Capture" }).click();
    await waitForStatus(page, /^Captured 4\.00 USD of the hold/);
    const release = page.locator("#release-form");
    await release.getByLabel("Hold").selectOption({ label: await release.locator("option", { hasText: "Taxi" }).innerText() });
    await release.getByRole("button", { name: "Release" }).click();
    await waitForStatus(page, "Released the hold.");
    await expectBalance(page, "41.00 USD");
    await expectText(page.locator("#account-available"), "41.00 USD");
    await expectText(page.locator("#account-held"), "0.00 USD");
    await page.locator("#holds-empty").waitFor();
    const lines = await statement(page);
    expect(lines.find((l) => l[0] === "Hotel" && l[1]!.startsWith("Hold"))?.[1]).toBe("Hold (captured)");
    expect(lines.find((l) => l[0] === "Taxi" && l[1]!.startsWith("Hold"))?.[1]).toBe("Hold (released)");
    expect(lines.some((l) => l[1] === "Capture" && l[2] === "-4.00 USD")).toBe(true);
    await page.screenshot({ path: artifact("console-teller", engine), fullPage: true });
    await narrowScreenshot(page, "console-teller", engine);
  }, 90_000);

  test("staff see the other party's number and owner name on a transfer line", async () => {
    const { page } = staff.teller;
    const transfer = page.locator("#transfer-form");
    await transfer.getByLabel("To account number").fill(dave.everydayNumber);
    await transfer.getByLabel("Amount").fill("1.00");
    await transfer.getByLabel("Description").fill("To Dave");
    await transfer.getByRole("button", { name: "Transfer" }).click();
    await waitForStatus(page, `Transferred 1.00 USD to ${dave.everydayNumber}.`);
    const line = (await rowsByLabel(page.locator("#statement-table"))).find((r) => r["Description"] === "To Dave")!;
    expect(line["Other party"]).toBe(`${dave.everydayNumber} · Dave Customer`);
  });

  test("an admin manages people: search, roles, disable and enable", async () => {
    const { page } = staff.admin;
    expect(await page.locator("#views-nav button:visible").allTextContents()).toEqual(["Accounts", "People", "Audit log", "Sessions"]);
    expect(await everydayOwners(page)).toEqual([`Carol Customer <${carol.email}>`, `Dave Customer <${dave.email}>`]);
    await nav(page, "People");
    await page.locator("#users-table tbody tr", { hasText: "Terry Teller" }).waitFor();
    expect((await rowsByLabel(page.locator("#users-table"))).map((r) => r["Name"]).sort()).toEqual(["Ada Admin", "Audrey Auditor", "Carol Customer", "Dave Customer", "Terry Teller"]);
    await page.locator("#user-search-form").getByLabel("Email starts with").fill("dave-");
    await page.locator("#user-search-form").getByRole("button", { name: "Search" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#users-table tbody tr").length === 1);
    await page.getByRole("button", { name: `Open Dave Customer (${dave.email})` }).click();

    const roles = page.locator("#user-roles-form");
    expect(await roles.getByLabel("Customer").isChecked()).toBe(true);
    await roles.getByLabel("Teller").check();
    await roles.getByRole("button", { name: "Save roles" }).click();
    await waitForStatus(page, "Dave Customer now has the roles: Customer, Teller.");
    expect((await rowsByLabel(page.locator("#users-table")))[0]!["Roles"]).toBe("Customer, Teller");
    await roles.getByLabel("Customer").uncheck();
    await roles.getByLabel("Teller").uncheck();
    await roles.getByRole("button", { name: "Save roles" }).click();
    await page.locator("#user-roles-error", { hasText: "Choose at least one role." }).waitFor();
    await roles.getByLabel("Customer").check();
    await roles.getByRole("button", { name: "Save roles" }).click();
    await waitForStatus(page, "Dave Customer now has the roles: Customer.");

    staff.admin.dialogs.dismiss = 1;
    await page.locator("#user-access-form").getByRole("button", { name: "Disable user" }).click();
    await page.locator("#user-access-error", { hasText: "Cancelled: Dave Customer was not disabled." }).waitFor();
    await expectText(page.locator("#user-status"), "Active");
    await page.locator("#user-access-form").getByRole("button", { name: "Disable user" }).click();
    await waitForStatus(page, /^Disabled Dave Customer/);
    expect(staff.admin.dialogs.asked.slice(-2)).toEqual(Array(2).fill(`Disable Dave Customer (${dave.email})? They cannot sign in, and their sessions end now.`));
    await expectText(page.locator("#user-status"), "Disabled: cannot sign in");
    const refused = await client(t.baseUrl, AuthService).login({ email: dave.email, password: dave.password }).catch((err: unknown) => err);
    expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
    await page.locator("#user-access-form").getByRole("button", { name: "Enable user" }).click();
    await waitForStatus(page, "Enabled Dave Customer.");
    await client(t.baseUrl, AuthService).login({ email: dave.email, password: dave.password });
    await page.screenshot({ path: artifact("console-admin", engine), fullPage: true });
    await narrowScreenshot(page, "console-admin", engine);
  }, 90_000);

  test("an admin sets an overdraft and reverses a deposit with a reason", async () => {
    const { page } = staff.admin;
    await nav(page, "Accounts");
    await page.getByRole("button", { name: `View Everyday of Carol Customer (${carol.everydayNumber})` }).click();
    await expectBalance(page, "30.00 USD");
    expect(await page.locator("#limits-form").isVisible()).toBe(true);
    const overdraft = page.locator("#overdraft-form");
    await overdraft.getByLabel("Limit").fill("25.00");
    await overdraft.getByRole("button", { name: "Set overdraft limit" }).click();
    await waitForStatus(page, "The overdraft limit of Everyday is now 25.00 USD.");
    await expectText(page.locator("#account-overdraft"), "25.00 USD");
    await expectText(page.locator("#account-available"), "55.00 USD");

    await page.locator("#statement-table tbody tr", { hasText: "Paycheck" }).waitFor();
    await page.getByRole("button", { name: /^Reverse Paycheck/ }).click();
    const reverse = page.locator("#reverse-form");
    expect(await reverse.getByLabel("Transaction id").inputValue()).toMatch(/^[0-9a-f-]{36}$/);
    await page.waitForFunction(() => document.activeElement?.id === "reverse-reason");
    await reverse.getByLabel("Reason").fill("Posted twice by the employer");
    staff.admin.dialogs.dismiss = 1;
    await reverse.getByRole("button", { name: "Reverse" }).click();
    await page.locator("#reverse-error", { hasText: /^Cancelled: the reversal of transaction [0-9a-f-]{36} was not sent\.$/ }).waitFor();
    await expectBalance(page, "30.00 USD");
    await reverse.getByRole("button", { name: "Reverse" }).click();
    await waitForStatus(page, /^Reversed the transaction; the reversal is [0-9a-f-]{36}\.$/);
    expect(staff.admin.dialogs.asked.at(-1)).toMatch(/^Send the reversal of transaction [0-9a-f-]{36}\? It posts the opposite amount and is recorded in the audit log with your reason\.$/);
    await expectBalance(page, "0.00 USD");
    const lines = await statement(page);
    // The reversal's description is its reason (src/ledger/commands/reverse.ts).
    expect(lines[0]).toEqual(["Posted twice by the employer", "Reversal", "-30.00 USD", "0.00 USD"]);
    expect(lines.find((l) => l[0] === "Paycheck")?.[1]).toBe("Deposit (reversed)");
    expect(await page.getByRole("button", { name: /^Reverse Paycheck/ }).count()).toBe(0);
  }, 60_000);

  test("an admin sets daily limits; a deposit past one reads as a sentence", async () => {
    const { page } = staff.admin;
    await page.getByRole("button", { name: `View Everyday of Dave Customer (${dave.everydayNumber})` }).click();
    const limits = page.locator("#limits-form");
    await limits.getByLabel("Limit").first().selectOption("amount");
    await limits.locator("#limits-deposit-amount").fill("10.00");
    await limits.getByLabel("Reason").fill("New customer");
    await limits.getByRole("button", { name: "Set daily limits" }).click();
    await waitForStatus(page, "Set the daily limits of Everyday.");
    expect(await page.locator("#account-limits-list").textContent()).toMatch(/of 10\.00 USD used today \(set for this account\)/);
    const deposit = page.locator("#deposit-form");
    await deposit.getByLabel("Amount").fill("11.00");
    await deposit.getByRole("button", { name: "Deposit" }).click();
    const refusal = page.locator("#deposit-error", { hasText: "daily" });
    await refusal.waitFor();
    // Named, in the account's currency from the metadata's minor units, the reset in local time.
    expect(await refusal.textContent()).toMatch(/^This would go past the account's daily deposit limit of 10\.00 USD \(0\.00 USD used today\)\. It resets at [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:00\s[AP]M\.$/);
  });

  test("an auditor reads every account but sees no form that changes anything", async () => {
    const { page } = staff.auditor;
    expect(await page.locator("#views-nav button:visible").allTextContents()).toEqual(["Accounts", "People", "Audit log", "Sessions"]);
    expect(await everydayOwners(page)).toEqual([`Carol Customer <${carol.email}>`, `Dave Customer <${dave.email}>`]);
    await page.getByRole("button", { name: `View Everyday of Carol Customer (${carol.everydayNumber})` }).click();
    await page.locator("#statement-table tbody tr", { hasText: "Paycheck" }).waitFor();
    // The statement's dates and CSV download only read.
    expect(await visibleForms(page)).toEqual(["lookup-form", "statement-range-form"]);
    expect(await page.getByRole("button", { name: /^Reverse / }).count()).toBe(0);
    await nav(page, "People");
    await page.getByRole("button", { name: `Open Dave Customer (${dave.email})` }).click();
    expect(await visibleForms(page)).toEqual(["user-search-form"]);
  }, 60_000);

  test("an auditor filters the audit log by action, actor, target and time, sees outcomes, and verifies the chain", async () => {
    const { page } = staff.auditor;
    // A call the auditor may not make is recorded as DENIED.
    const login = await signInOverApi(t.baseUrl, staff.auditor);
    await client(t.baseUrl, TransactionService, { token: login.accessToken })
      .deposit({ requestId: crypto.randomUUID(), accountId: carol.everydayId, amount: { currency: "USD", minorUnits: 1n } })
      .catch(() => undefined);

    await nav(page, "Audit log");
    await page.locator("#audit-table tbody tr").first().waitFor();
    const filter = page.locator("#audit-filter-form");
    await filter.getByLabel("Action").fill("account.freeze");
    await filter.getByRole("button", { name: "Show events" }).click();
    await onlyAction(page, "account.freeze");
    const freezes = await rowsByLabel(page.locator("#audit-table"));
    expect(freezes).toHaveLength(1);
    expect(freezes[0]).toMatchObject({ Actor: `Terry Teller <${staff.teller.email}>`, Outcome: "Success" });
    // Target and details are in the row's detail drawer (the table keeps the essential columns).
    const freeze = await rowDetails(page, page.locator("#audit-table tbody tr").first());
    expect(freeze).toMatchObject({ Actor: `Terry Teller <${staff.teller.email}>`, Action: "account.freeze", Outcome: "Success" });
    expect(freeze["Details"]).toContain("Card reported stolen");
    const target = freeze["Target"]!;
    expect(target).toMatch(/^[0-9a-f-]{36}$/);

    await filter.getByLabel("Action").fill("");
    // By e-mail (resolved to the person's id) and account number (resolved to the account's id).
    await filter.getByLabel("Actor (e-mail or user id)").fill("nobody-here@example.test");
    await filter.getByRole("button", { name: "Show events" }).click();
    await page.locator("#audit-error", { hasText: "No person has the e-mail nobody-here@example.test." }).waitFor();
    await filter.getByLabel("Actor (e-mail or user id)").fill(staff.teller.email.toUpperCase());
    await filter.getByLabel("Target (id or account number)").fill(carolSavings);
    const hourAgo = new Date(Date.now() - 3_600_000);
    const local = new Date(hourAgo.getTime() - hourAgo.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await filter.getByLabel("From").fill(local);
    await filter.getByRole("button", { name: "Show events" }).click();
    await page.waitForFunction(() => Array.from(document.querySelectorAll("#audit-table tbody tr td[data-label=Action]")).some((td) => td.textContent === "account.unfreeze"));
    const forTarget: Array<Record<string, string>> = [];
    for (const row of await page.locator("#audit-table tbody tr").all()) forTarget.push(await rowDetails(page, row));
    expect(forTarget.every((r) => r["Actor"] === `Terry Teller <${staff.teller.email}>` && r["Target"] === target)).toBe(true);
    expect(forTarget.map((r) => r["Action"]).sort()).toEqual(["account.create", "account.freeze", "account.unfreeze"]);
    expect((await rowsByLabel(page.locator("#audit-table"))).map((r) => r["Action"]).sort()).toEqual(["account.create", "account.freeze", "account.unfreeze"]);

    // Amounts in details read as money; the stored text (hash-chained) is kept as stored.
    await filter.getByRole("button", { name: "Clear filters" }).click();
    await filter.getByLabel("Action").fill("transaction.deposit");
    await filter.getByRole("button", { name: "Show events" }).click();
    await onlyAction(page, "transaction.deposit");
    let paycheck: Record<string, string> | undefined;
    for (const row of await page.locator("#audit-table tbody tr").all()) {
      const fields = await rowDetails(page, row);
      if (fields["Details"]?.includes(`account_id: ${carol.everydayId}`)) {
        paycheck = fields;
        break;
      }
    }
    expect(paycheck?.["Details"]).toMatch(/^amount: 30\.00 USD, account_id: [0-9a-f-]{36}/);
    expect(JSON.parse(paycheck?.["Details as stored"] ?? "")).toMatchObject({ amount: "3000", currency: "USD", account_id: carol.everydayId });

    await filter.getByRole("button", { name: "Clear filters" }).click();
    await filter.getByLabel("Action").fill("auth.permission_denied");
    await filter.getByRole("button", { name: "Show events" }).click();
    await onlyAction(page, "auth.permission_denied");
    const denied = await rowsByLabel(page.locator("#audit-table"));
    expect(denied.some((r) => r["Actor"] === `Audrey Auditor <${staff.auditor.email}>` && r["Outcome"] === "Denied")).toBe(true);

    await page.locator("#verify-form").getByRole("button", { name: "Verify the audit chain" }).click();
    await page.locator("#verify-result", { hasText: /^The audit chain holds: \d+ events? checked, none edited, deleted or reordered\.$/ }).waitFor();
    expect(await page.locator("#verify-result").getAttribute("role")).toBe("status");
    await filter.getByRole("button", { name: "Clear filters" }).click();
    await page.locator("#audit-table tbody tr", { hasText: "account.create" }).first().waitFor();
    await page.screenshot({ path: artifact("console-auditor", engine), fullPage: true });
    await narrowScreenshot(page, "console-auditor", engine);
  }, 90_000);

  test("no script errors were logged by the console pages", () => {
    expect(unexpectedErrors(consoleErrors)).toEqual([]);
  });
});
