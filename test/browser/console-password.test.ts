// Goal: every role changes their own password in the console (#/password, from the signed-in
// header), as AuthService.ChangePassword does it: a confirmation that differs is refused in the
// page with no request; a wrong current password and a password the policy refuses are told in
// words, and the person stays signed in; once changed, the page says that the other sessions were
// signed out and this one stays, the other session's token is refused (SESSION_ENDED), the new
// password signs in through a real gRPC client and the old one is refused (INVALID_CREDENTIALS).
// A customer and a staff member (with a second factor), on SQLite and PostgreSQL.
import type { Browser, Page } from "playwright-core";
import { Code } from "@connectrpc/connect";
import { Role } from "../../gen/bank/v1/access_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser, secondFactorOf, signIn as signInOverApi, strongPassword, uniqueEmail } from "../support/users";
import { expectError } from "../auth/support";
import { createStaff, describeWithBrowser, launch, nav, openPerson, signIn, unexpectedErrors, waitForStatus, type Person, type SignInAs } from "./helpers";

const describeBrowser = describeWithBrowser("console-password.test.ts");

/** Counts the ChangePassword requests the page sends. */
function changeRequests(page: Page): { count: number } {
  const seen = { count: 0 };
  page.on("request", (req) => void (req.url().endsWith("/bank.v1.AuthService/ChangePassword") && seen.count++));
  return seen;
}

/** Fills the three fields and submits. */
async function submit(page: Page, current: string, next: string, confirm: string): Promise<void> {
  const form = page.locator("#password-form");
  await form.getByLabel("Current password").fill(current);
  await form.getByLabel("New password", { exact: true }).fill(next);
  await form.getByLabel("Confirm new password").fill(confirm);
  await form.getByRole("button", { name: "Change password" }).click();
}

/** The error line says `text` (after the request, when one was sent, has been answered). */
async function refused(page: Page, text: string): Promise<void> {
  await page.locator("#password-error", { hasText: text }).waitFor();
  await page.locator("#password-form:not([aria-busy])").waitFor();
  expect((await page.locator("#password-error").textContent())?.trim()).toBe(text);
  // Still signed in: a refusal about what was typed never ends the session.
  expect(await page.locator("#who").isVisible()).toBe(true);
  expect(await page.locator("#password-view").isVisible()).toBe(true);
}

const CHANGED = "Your password was changed. Every other session of yours (other browsers and devices) has been signed out; this one stays signed in.";

describeBrowser.each(engines())("changing one's password in the console on %s", (engine) => {
  let t: TestApp;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    t = await startTestApp(engine);
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  test("a customer: mismatch refused without a request, wrong and weak passwords in words, then changed; other sessions end, the new password signs in over gRPC", async () => {
    const user = await createTestUser(t, [Role.CUSTOMER], { fullName: "Petra Password", email: uniqueEmail("petra") });
    // Her other device: a session over the API, alive before the change.
    const otherDevice = client(t.baseUrl, AuthService, { token: user.token });
    expect((await otherDevice.getCurrentUser({})).user?.email).toBe(user.email);

    const person = await openPerson(browser, "petra", { name: user.fullName, email: user.email, password: user.password }, errors);
    const { page } = person;
    const requests = changeRequests(page);
    await page.goto(`${t.baseUrl}/`);
    await signIn(page, person);
    await page.locator("#who").getByRole("button", { name: "Change password" }).click();
    await page.waitForFunction(() => window.location.hash === "#/password");
    await page.waitForFunction(() => document.activeElement?.id === "password-title");
    expect(await page.locator("#password-current").getAttribute("autocomplete")).toBe("current-password");
    expect(await page.locator("#password-new").getAttribute("autocomplete")).toBe("new-password");
    expect(await page.locator("#password-confirm").getAttribute("autocomplete")).toBe("new-password");

    const next = strongPassword();
    await submit(page, user.password, next, `${next}x`);
    await refused(page, "The new password and its confirmation differ. Type the same new password in both fields.");
    expect(requests.count).toBe(0);

    await submit(page, `${user.password}-wrong`, next, next);
    await refused(page, "Your current password is not right. Nothing was changed; check it and try again.");
    await submit(page, user.password, "too short", "too short");
    await refused(page, "The password must be at least 12 characters long.");
    await submit(page, user.password, user.password, user.password);
    await refused(page, "The new password is the same as your current one. Choose a different password.");
    expect(requests.count).toBe(3);
    // Nothing changed: her other device is still signed in.
    expect((await otherDevice.getCurrentUser({})).user?.email).toBe(user.email);

    await submit(page, user.password, next, next);
    await waitForStatus(page, CHANGED);
    expect(requests.count).toBe(4);
    expect(await page.locator("#password-form input[type=password]").evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value))).toEqual(["", "", ""]);
    await expectError(otherDevice.getCurrentUser({}), Code.Unauthenticated, "SESSION_ENDED");
    // This session stays: it is the only one left.
    await nav(page, "Sessions");
    await page.locator("#sessions-table tbody tr", { hasText: "This session" }).waitFor();
    expect(await page.locator("#sessions-table tbody tr").count()).toBe(1);

    const grpc = client(t.baseUrl, AuthService, { protocol: "grpc" });
    expect((await grpc.login({ email: user.email, password: next })).user?.email).toBe(user.email);
    await expectError(grpc.login({ email: user.email, password: user.password }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    await person.context.close();
  }, 90_000);

  test("an admin (second factor) opens #/password from the URL, changes it; the new password signs in over gRPC, the old one is refused", async () => {
    const created = await createStaff(t, "admin", "Paolo Password");
    const person: Person & SignInAs = await openPerson(browser, "paolo", created, errors);
    const { page } = person;
    const requests = changeRequests(page);
    // A deep link: signing in (and enrolling the second factor) opens the password screen.
    await page.goto(`${t.baseUrl}/#/password`);
    await signIn(page, person);
    await page.locator("#password-view").waitFor();
    expect(await page.evaluate(() => window.location.hash)).toBe("#/password");
    const old = person.password;
    // Another session of his, over the API, with his second factor.
    const login = await signInOverApi(t.baseUrl, person);
    const otherDevice = client(t.baseUrl, AuthService, { token: login.accessToken });
    expect((await otherDevice.getCurrentUser({})).user?.email).toBe(person.email);

    expect(await page.locator("#who").getByRole("button", { name: "Change password" }).getAttribute("aria-current")).toBe("page");

    await submit(page, `${old}-wrong`, strongPassword(), "");
    await refused(page, "The new password and its confirmation differ. Type the same new password in both fields.");
    expect(requests.count).toBe(0);
    const typo = strongPassword();
    await submit(page, `${old}-wrong`, typo, typo);
    await refused(page, "Your current password is not right. Nothing was changed; check it and try again.");
    expect(requests.count).toBe(1);

    const next = strongPassword();
    await submit(page, old, next, next);
    await waitForStatus(page, CHANGED);
    expect(requests.count).toBe(2);
    await expectError(otherDevice.getCurrentUser({}), Code.Unauthenticated, "SESSION_ENDED");
    // The console's session goes on: its views still load.
    await nav(page, "Audit log");
    await page.locator("#audit-table tbody tr").first().waitFor();

    const grpc = client(t.baseUrl, AuthService, { protocol: "grpc" });
    const res = await grpc.login({ email: person.email, password: next, ...(await secondFactorOf(person)) });
    expect(res.user?.email).toBe(person.email);
    // The old password is wrong before any code is asked for (a right one would get SECOND_FACTOR_REQUIRED).
    await expectError(grpc.login({ email: person.email, password: old }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    await person.context.close();
  }, 120_000);

  test("no script errors were logged by the console pages", () => {
    expect(unexpectedErrors(errors)).toEqual([]);
  });
});
