// Goal: the console's second factor for staff in a real browser (Debian's chromium) against a
// real bankd (issue 27):
// - the first admin, created by `bankd create-user`, signs in with a password and lands on the
//   enrolment screen (a QR code and the key for typing in); a wrong first code is refused, the
//   right one shows ten recovery codes once, then the console, signed in;
// - the next sign-in asks for the code after the password (a wrong one is refused, the right
//   one signs in), and "use a recovery code" signs in once with a recovery code;
// - an admin resets a teller's second factor with a reason from the people view (never their
//   own), and the teller's next sign-in is the enrolment screen again;
// - an idle staff screen is warned after 14 minutes without input, any input keeps it, and 15
//   minutes without input sign it out (the page's clock is moved, nothing waits 15 minutes).
import type { Browser } from "playwright-core";
import { engines } from "../support/db";
import { startTestApp, type TestApp } from "../support/app";
import { codeAtStep, nextCode, stepAt } from "../support/totp";
import { artifact, createStaff, describeWithBrowser, enrolInConsole, launch, nav, openPerson, signIn, unexpectedErrors, unlabelledControls, waitForStatus, type SignInAs } from "./helpers";

const describeBrowser = describeWithBrowser("console-second-factor.test.ts");

describeBrowser.each(engines())("the console's second factor in chromium on %s", (engine) => {
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

  afterEach(() => {
    expect(unexpectedErrors(errors)).toEqual([]);
    errors.length = 0;
  });

  test("the CLI's first admin enrols from the console, then signs in with a code or a recovery code", async () => {
    const created = await createStaff(t, "admin", "Ada Admin");
    const ada: SignInAs = { email: created.email, password: created.password };
    const { page, context } = await openPerson(browser, "admin", { name: created.name, ...ada }, errors);
    await page.goto(`${t.baseUrl}/`);
    const form = page.locator("#sign-in-form");
    await form.getByLabel("Email").fill(ada.email);
    await form.getByLabel("Password").fill(ada.password);
    await form.getByRole("button", { name: "Sign in" }).click();

    // Straight to enrolment: nothing else of the console is shown.
    await page.locator("#enrol-title").waitFor();
    expect(await page.locator("#signed-in").isVisible()).toBe(false);
    const qr = page.getByRole("img", { name: "QR code to scan with your authenticator app" });
    await qr.waitFor();
    expect(await qr.getAttribute("src")).toMatch(/^data:image\/gif;base64,/);
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 100)).toBe(true);
    const secret = ((await page.locator("#enrol-secret").textContent()) ?? "").replace(/\s/g, "");
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(await unlabelledControls(page)).toEqual([]);
    await page.screenshot({ path: artifact("console-enrolment", engine), fullPage: true });
    const enrolForm = page.locator("#enrol-form");
    await enrolForm.getByLabel("Code from your authenticator app").fill(codeAtStep(secret, stepAt(t.clock.now()) - 10));
    await enrolForm.getByRole("button", { name: "Confirm" }).click();
    await page.locator("#enrol-error", { hasText: "That code does not match" }).waitFor();

    await enrolInConsole(page, ada);
    expect(ada.totpSecret).toBe(secret);
    expect(ada.recoveryCodes).toHaveLength(10);
    expect(await page.getByRole("navigation", { name: "Console sections" }).getByRole("button", { name: "People", exact: true }).isVisible()).toBe(true);

    // Signing in again: the code is asked for after the password.
    await page.getByRole("button", { name: "Sign out" }).click();
    await waitForStatus(page, "You have signed out.");
    await form.getByLabel("Email").fill(ada.email);
    await form.getByLabel("Password").fill(ada.password);
    await form.getByRole("button", { name: "Sign in" }).click();
    const code = form.getByLabel("Code from your authenticator app");
    await code.waitFor();
    await code.fill("000000" === codeAtStep(secret, stepAt(t.clock.now())) ? "111111" : "000000");
    await form.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#sign-in-error", { hasText: "That code is not right" }).waitFor();
    await code.fill(nextCode(secret));
    await form.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#signed-in").waitFor();

    // A recovery code instead.
    await page.getByRole("button", { name: "Sign out" }).click();
    await form.getByLabel("Email").fill(ada.email);
    await form.getByLabel("Password").fill(ada.password);
    await form.getByRole("button", { name: "Sign in" }).click();
    await code.waitFor();
    await form.getByRole("button", { name: "Use a recovery code instead" }).click();
    await form.getByLabel("Recovery code").fill(ada.recoveryCodes![0]!);
    await form.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#signed-in").waitFor();
    await context.close();
  }, 120_000);

  test("an admin resets a teller's second factor with a reason; the teller enrols again at the next sign-in", async () => {
    const [adminMade, tellerMade] = [await createStaff(t, "admin", "Reset Admin"), await createStaff(t, "teller", "Terry Teller")];
    const admin: SignInAs = { email: adminMade.email, password: adminMade.password };
    const teller: SignInAs = { email: tellerMade.email, password: tellerMade.password };
    const a = await openPerson(browser, "admin", { name: adminMade.name, ...admin }, errors);
    const b = await openPerson(browser, "teller", { name: tellerMade.name, ...teller }, errors);
    for (const [p, who] of [[a, admin], [b, teller]] as const) {
      await p.page.goto(`${t.baseUrl}/`);
      await signIn(p.page, who);
    }
    const firstSecret = teller.totpSecret;

    await nav(a.page, "People");
    const search = a.page.locator("#user-search-form");
    // Their own: no reset offered.
    await search.getByLabel("Email starts with").fill(admin.email);
    await search.getByRole("button", { name: "Search" }).click();
    await a.page.getByRole("button", { name: `Open Reset Admin (${admin.email})` }).click();
    expect(await a.page.locator("#user-second-factor").textContent()).toBe("Set up");
    expect(await a.page.locator("#user-second-factor-form").isVisible()).toBe(false);
    await search.getByLabel("Email starts with").fill(teller.email);
    await search.getByRole("button", { name: "Search" }).click();
    await a.page.getByRole("button", { name: `Open Terry Teller (${teller.email})` }).click();
    const reset = a.page.locator("#user-second-factor-form");
    await reset.getByRole("button", { name: "Reset second factor" }).click();
    await a.page.locator("#user-second-factor-error", { hasText: "Enter why" }).waitFor();
    await reset.getByLabel("Reason").fill("Lost phone, ticket 42");
    await reset.getByRole("button", { name: "Reset second factor" }).click();
    await waitForStatus(a.page, /^Reset Terry Teller's second factor/);
    expect(await a.page.locator("#user-second-factor").textContent()).toBe("Not set up");

    // The teller's session has ended: the next call signs them out; signing in enrols again.
    await b.page.reload();
    teller.totpSecret = undefined;
    await signIn(b.page, teller);
    expect(teller.totpSecret).not.toBe(firstSecret);
    await a.context.close();
    await b.context.close();
  }, 120_000);

  test("an idle staff screen is warned at 14 minutes and signed out at 15; input keeps it", async () => {
    const made = await createStaff(t, "auditor", "Idle Auditor");
    const who: SignInAs = { email: made.email, password: made.password };
    const { page, context } = await openPerson(browser, "auditor", { name: made.name, ...who }, errors);
    await page.clock.install();
    await page.goto(`${t.baseUrl}/`);
    await signIn(page, who);
    const warning = page.locator("#idle-warning");
    await page.clock.fastForward(13 * 60_000);
    expect(await warning.isVisible()).toBe(false);
    await page.clock.fastForward(60_000 + 1_000);
    await warning.waitFor();
    expect(await warning.textContent()).toContain("signed out in 60 seconds");
    await page.getByRole("button", { name: "Stay signed in" }).click();
    await warning.waitFor({ state: "hidden" });
    // Fourteen minutes after that input: warned again; a minute more: signed out.
    await page.clock.fastForward(14 * 60_000 + 1_000);
    await warning.waitFor();
    await page.clock.fastForward(60_000);
    await waitForStatus(page, "You were signed out after 15 minutes without activity.");
    expect(await page.locator("#signed-out").isVisible()).toBe(true);
    expect(await warning.isVisible()).toBe(false);
    await context.close();
  }, 120_000);
});
