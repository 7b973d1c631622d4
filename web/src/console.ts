// The console: signed-out view (sign in, sign up) and, signed in, the views the person's roles
// allow (accounts, people, audit log, sessions), switched from one navigation bar, and changing
// one's password from the header. What each
// view offers is decided by the contract's access option (access.ts) for the roles of the
// current access token.
import type { Account } from "../../gen/bank/v1/account_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import type { User } from "../../gen/bank/v1/user_pb";
import { Permissions } from "./access";
import { AccountsView } from "./accounts-view";
import { createApi, tokenSet, type Api } from "./api";
import { AuditView } from "./audit-view";
import type { ConsoleContext, ViewId } from "./context";
import { Directory } from "./directory";
import { DetailDrawer } from "./drawer";
import { byId, clearErrorsOutside, field, focusHeading, form, onSubmit, setText, show, submitting } from "./dom";
import { EnrolmentView } from "./enrolment-view";
import { describeError, reasonOf } from "./errors";
import { ACTIVITY_EVENTS, IdleWatch } from "./idle";
import { consoleLimits } from "./limits";
import { rolesLabel, type Currencies } from "./format";
import { SafeRetries } from "./safe-retry";
import type { TokenSet } from "./session";
import { SessionsView } from "./sessions-view";
import { PasswordView } from "./password-view";
import { rolesFromToken } from "./token-roles";
import { UsersView } from "./users-view";

/** What the sign-in form asks for besides the password: nothing, the authenticator's code
 * (after the server answered SECOND_FACTOR_REQUIRED), or a recovery code instead. */
type SecondFactorMode = "none" | "totp" | "recovery";

/** In the order of the navigation; the password view is reached from the signed-in header. */
const VIEWS: readonly ViewId[] = ["accounts-view", "users-view", "audit-view", "sessions-view", "password-view"];

/** Each view's place in the URL: #/accounts, #/accounts/<account id>, #/people, #/audit,
 * #/sessions, #/password. The session lives in memory only, so a reload asks to sign in again and then
 * opens the place the URL names (when the person may see it); back and forward move between
 * places without signing in. */
const VIEW_PATHS: Readonly<Record<ViewId, string>> = { "accounts-view": "accounts", "users-view": "people", "audit-view": "audit", "sessions-view": "sessions", "password-view": "password" };

export interface Place {
  view: ViewId;
  accountId?: string;
}

/** The place a URL hash names, or undefined for anything else. */
export function parsePlace(hash: string): Place | undefined {
  const match = /^#\/([a-z]+)(?:\/([0-9A-Za-z-]{1,64}))?$/.exec(hash);
  if (!match) return undefined;
  const view = VIEWS.find((v) => VIEW_PATHS[v] === match[1]);
  if (!view || (match[2] && view !== "accounts-view")) return undefined;
  return match[2] ? { view, accountId: match[2] } : { view };
}

export function placeHash(place: Place): string {
  return `#/${VIEW_PATHS[place.view]}${place.accountId ? `/${place.accountId}` : ""}`;
}
const VIEW_HEADINGS: Readonly<Record<ViewId, string>> = {
  "accounts-view": "accounts-title",
  "users-view": "users-title",
  "audit-view": "audit-title",
  "sessions-view": "sessions-title",
  "password-view": "password-title",
};

export class BankConsole implements ConsoleContext {
  readonly api: Api;
  readonly retries = new SafeRetries();
  readonly directory: Directory;
  readonly drawer: DetailDrawer;
  perms = Permissions.none();
  user: User | undefined;
  private view: ViewId = "accounts-view";
  private signedIn = false;
  /** Counts moves between views and accounts: a place being restored from the URL gives way to a
   * move the person made while its account was being read. */
  private moves = 0;
  private readonly accounts: AccountsView;
  private readonly users: UsersView;
  private readonly audit: AuditView;
  private readonly sessions: SessionsView;
  private readonly password: PasswordView;
  private readonly enrolment: EnrolmentView;
  private readonly idle: IdleWatch;
  private secondFactor: SecondFactorMode = "none";

  constructor(baseUrl: string, readonly currencies: Currencies) {
    this.api = createApi(baseUrl, (err) => this.sessionEnded(err));
    this.api.session.onTokens = (tokens) => this.tokensChanged(tokens);
    this.directory = new Directory(this.api);
    this.drawer = new DetailDrawer();
    this.accounts = new AccountsView(this);
    this.users = new UsersView(this);
    this.audit = new AuditView(this);
    this.sessions = new SessionsView(this);
    this.password = new PasswordView(this);
    this.enrolment = new EnrolmentView({
      api: this.api,
      userChanged: (user) => (this.user = user),
      enrolled: () => this.showSignedIn(),
    });
    this.idle = new IdleWatch({
      warn: (msLeft) => this.idleWarning(msLeft),
      resumed: () => show("idle-warning", false),
      idle: () => void this.signOut(`You were signed out after ${consoleLimits.staffIdleMs / 60_000} minutes without activity.`),
    });
  }

  start(): void {
    onSubmit(form("sign-in-form"), () => this.signIn());
    onSubmit(form("sign-up-form"), () => this.signUp());
    byId("sign-out").addEventListener("click", () => void this.signOut());
    byId("sign-in-use-recovery").addEventListener("click", () => {
      this.askSecondFactor(this.secondFactor === "recovery" ? "totp" : "recovery");
      byId("sign-in-code").focus();
    });
    // Another email is another person: their second factor is asked for when the server says so.
    byId("sign-in-email").addEventListener("input", () => this.askSecondFactor("none"));
    byId("idle-stay").addEventListener("click", () => this.idle.activity());
    for (const type of ACTIVITY_EVENTS) document.addEventListener(type, () => this.idle.activity(), { capture: true, passive: true });
    for (const view of VIEWS) byId(`nav-${view.replace("-view", "")}`).addEventListener("click", () => void this.openView(view, true));
    window.addEventListener("popstate", () => void (this.signedIn && this.followUrl()));
    // An error belongs to the form the person is working in; typing in another clears it.
    document.addEventListener("input", (event) => clearErrorsOutside((event.target as Element | null)?.closest("form") ?? null));
    const currency = byId<HTMLSelectElement>("open-account-currency");
    for (const code of this.currencies.codes()) currency.add(new Option(code, code, code === "USD", code === "USD"));
    this.showSignedOut("");
  }

  // --- Signing in and out ------------------------------------------------------------------

  private async signIn(): Promise<void> {
    const target = form("sign-in-form");
    await submitting(target, "sign-in-error", async (data) => {
      const email = field(data, "email");
      const password = field(data, "password", true);
      const code = field(data, "code");
      // Nothing is sent for an empty form: it could only fail, and would count as a failure.
      if (email === "" && password === "") return "Enter your email and password.";
      if (email === "") return "Enter your email.";
      if (password === "") return "Enter your password.";
      if (this.secondFactor === "totp" && code === "") return "Enter the 6-digit code from your authenticator app.";
      if (this.secondFactor === "recovery" && code === "") return "Enter one of your recovery codes.";
      const second = this.secondFactor === "totp" ? { totpCode: code.replace(/\s/g, "") } : this.secondFactor === "recovery" ? { recoveryCode: code } : {};
      try {
        await this.login(email, password, second);
        target.reset();
        this.askSecondFactor("none");
      } catch (err) {
        const reason = reasonOf(err);
        if (reason === "SECOND_FACTOR_REQUIRED") {
          // The password was right: the code is what is missing.
          this.askSecondFactor("totp");
          byId("sign-in-code").focus();
          setText("status", "Enter the 6-digit code from your authenticator app to finish signing in.");
          return;
        }
        if (reason === "SECOND_FACTOR_INVALID") byId<HTMLInputElement>("sign-in-code").value = "";
        return describeError(err, "sign-in");
      }
    });
  }

  private askSecondFactor(mode: SecondFactorMode): void {
    if (mode === this.secondFactor) return;
    this.secondFactor = mode;
    show("sign-in-second-factor", mode !== "none");
    byId<HTMLInputElement>("sign-in-code").value = "";
    const recovery = mode === "recovery";
    setText("sign-in-code-label", recovery ? "Recovery code" : "Code from your authenticator app");
    setText("sign-in-code-hint", recovery ? "One of the ten codes you saved when you set up your second factor; each works once." : "The 6-digit code your app shows for bankd.");
    setText("sign-in-use-recovery", recovery ? "Use my authenticator app instead" : "Use a recovery code instead");
    byId<HTMLInputElement>("sign-in-code").inputMode = recovery ? "text" : "numeric";
  }

  private async signUp(): Promise<void> {
    const target = form("sign-up-form");
    await submitting(target, "sign-up-error", async (data) => {
      const email = field(data, "email");
      const password = field(data, "password", true);
      const fullName = field(data, "fullName");
      if (fullName === "" || email === "" || password === "") return "Enter your full name, email and a password.";
      try {
        await this.api.auth.register({ email, password, fullName });
      } catch (err) {
        return describeError(err, "sign-up");
      }
      try {
        await this.login(email, password);
        target.reset();
      } catch (err) {
        return describeError(err, "sign-in");
      }
    });
  }

  private async login(email: string, password: string, second: { totpCode?: string; recoveryCode?: string } = {}): Promise<void> {
    const res = await this.api.auth.login({ email, password, ...second });
    this.user = res.user;
    this.api.session.start(tokenSet(res));
    if (res.secondFactorEnrolmentRequired) await this.showEnrolment();
    else await this.showSignedIn();
  }

  /** Staff without a second factor: straight to setting it up (the session can do nothing else). */
  private async showEnrolment(): Promise<void> {
    setText("who-name", this.user ? `${this.user.fullName} (${this.user.email})` : "");
    setText("who-roles", "");
    setText("status", "");
    show("signed-out", false);
    show("signed-in", false);
    show("who", true);
    // Setting up the second factor comes first: the session can do nothing else.
    show("nav-password", false);
    this.watchIdle();
    await this.enrolment.begin();
  }

  /** Staff screens sign out when idle (consoleLimits.staffIdleMs). */
  private watchIdle(): void {
    if (this.perms.isStaff && !this.idle.active) this.idle.start();
  }

  private idleWarning(msLeft: number): void {
    setText("idle-warning-text", `You have not done anything for a while. For security, you will be signed out in ${Math.round(msLeft / 1000)} seconds unless you continue.`);
    show("idle-warning", true);
    byId("idle-stay").focus();
  }

  private tokensChanged(tokens: TokenSet): void {
    const roles = rolesFromToken(tokens.accessToken) ?? this.user?.roles ?? [];
    const same = roles.length === this.perms.roles.length && roles.every((r) => this.perms.roles.includes(r));
    if (same) return;
    this.perms = new Permissions(roles);
    // Roles changed under a signed-in person (an admin granted or removed one): show the views
    // the new token allows.
    if (!byId("signed-in").hidden) void this.showSignedIn();
  }

  private async signOut(message = "You have signed out."): Promise<void> {
    const refreshToken = this.api.session.refreshToken;
    try {
      await this.api.auth.logout({ refreshToken });
    } catch {
      // Signing out locally still forgets the tokens; the session expires on the server.
    }
    this.api.session.clear();
    this.showSignedOut(message);
  }

  private sessionEnded(err: unknown): void {
    this.showSignedOut(describeError(err, "refresh"));
  }

  private showSignedOut(message: string): void {
    this.signedIn = false;
    this.retries.abandonAll();
    this.user = undefined;
    this.perms = Permissions.none();
    this.directory.clear();
    this.accounts.reset();
    this.users.reset();
    this.audit.reset();
    this.sessions.reset();
    this.password.reset();
    this.drawer.reset();
    this.enrolment.reset();
    this.idle.stop();
    show("idle-warning", false);
    this.askSecondFactor("none");
    forgetForms();
    show("signed-in", false);
    show("who", false);
    show("signed-out", true);
    setText("status", message);
    byId("sign-in-email").focus();
  }

  private async showSignedIn(): Promise<void> {
    setText("who-name", this.user ? `${this.user.fullName} (${this.user.email})` : "");
    setText("who-roles", this.perms.roles.length > 0 ? `· ${rolesLabel(this.perms.roles)}` : "");
    setText("status", "");
    show("signed-out", false);
    show("enrolment", false);
    show("who", true);
    show("signed-in", true);
    this.watchIdle();
    const allowed = this.allowedViews();
    for (const view of VIEWS) show(`nav-${view.replace("-view", "")}`, allowed.includes(view));
    this.signedIn = true;
    await this.followUrl();
    byId("main").focus();
  }

  // --- Views -------------------------------------------------------------------------------

  private allowedViews(): ViewId[] {
    const may = (m: Parameters<Permissions["may"]>[0]) => this.perms.may(m);
    const allowed: Record<ViewId, boolean> = {
      "accounts-view": may(AccountService.method.listAccounts),
      "users-view": may(AdminService.method.listUsers),
      "audit-view": may(AuditService.method.listAuditEvents) || may(AuditService.method.verifyAuditLog),
      "sessions-view": may(AuthService.method.listSessions),
      "password-view": may(AuthService.method.changePassword),
    };
    return VIEWS.filter((v) => allowed[v]);
  }

  /** Opens the place the URL names, or the first view the person may see. */
  private async followUrl(): Promise<void> {
    const place = parsePlace(window.location.hash);
    const allowed = this.allowedViews();
    const view = place && allowed.includes(place.view) ? place.view : allowed[0] ?? "sessions-view";
    // Following the URL pushes nothing: the views are opened without recording, and the shown
    // account's hash is the URL's already. A move the person makes meanwhile wins.
    const movesBefore = this.moves;
    if (place?.accountId && view === "accounts-view") {
      const res = await this.api.accounts.getAccount({ accountId: place.accountId }).catch(() => undefined);
      if (this.moves !== movesBefore) return;
      if (res?.account) {
        // The view first (with its list), then the account, whose feed starts when shown.
        await this.openView("accounts-view", false, false, false);
        await this.selectAccount(res.account);
        return;
      }
    }
    await this.openView(view, false, true, false);
    if (this.moves === movesBefore + 1) this.record({ view }, true);
  }

  /** A new place in the browser's history (or the current one replaced). */
  private record(place: Place, replace = false): void {
    const hash = placeHash(place);
    if (window.location.hash === hash) return;
    if (replace) history.replaceState(null, "", hash);
    else history.pushState(null, "", hash);
  }

  private async openView(view: ViewId, focus: boolean, resumeLive = true, record = true): Promise<void> {
    this.moves++;
    if (record) this.record({ view });
    // The shown account's live stream runs only while its view is open.
    if (view !== "accounts-view") this.accounts.panel.live.pause();
    // The drawer belongs to the rows of the view it was opened from.
    this.drawer.reset();
    this.view = view;
    for (const v of VIEWS) {
      show(v, v === view);
      const nav = byId(`nav-${v.replace("-view", "")}`);
      if (v === view) nav.setAttribute("aria-current", "page");
      else nav.removeAttribute("aria-current");
    }
    if (focus) focusHeading(VIEW_HEADINGS[view]);
    if (view === "accounts-view") {
      if (resumeLive) this.accounts.panel.live.resume();
      await this.accounts.enter();
    } else if (view === "users-view") await this.users.enter();
    else if (view === "audit-view") await this.audit.enter();
    else if (view === "password-view") this.password.enter();
    else await this.sessions.enter();
  }

  async selectAccount(account: Account): Promise<void> {
    // The feed follows the account about to be shown, not the one shown before.
    if (this.view !== "accounts-view") await this.openView("accounts-view", false, false, false);
    this.moves++;
    this.record({ view: "accounts-view", accountId: account.id });
    const shown = this.accounts.panel.show(account);
    this.accounts.render();
    focusHeading("account-title");
    await shown;
  }

  async showAccountsOf(user: User): Promise<void> {
    this.accounts.panel.reset();
    this.accounts.setOwner(user);
    await this.openView("accounts-view", false);
    focusHeading("accounts-title");
  }

  async accountChanged(): Promise<void> {
    await Promise.all([this.accounts.panel.refresh(), this.accounts.reload()]);
  }
}

/** After sign-out nothing of the last person stays on the page for the next one: typed values,
 * error lines, retry notices, and controls left disabled by an attempt that was abandoned. */
function forgetForms(): void {
  for (const f of Array.from(document.querySelectorAll<HTMLFormElement>("#signed-in form"))) {
    f.reset();
    f.removeAttribute("aria-busy");
    for (const control of Array.from(f.querySelectorAll<HTMLButtonElement>("button"))) control.disabled = false;
  }
  for (const line of Array.from(document.querySelectorAll<HTMLElement>("#signed-in .error, #signed-in .notice"))) line.replaceChildren();
}
