// The people view: staff find a person by the start of their email (ListUsers; tellers may call
// it to find a customer), open their accounts, and an admin changes roles, disables or enables
// them, and resets another person's second factor (with a reason, for the audit log).
import type { Role } from "../../gen/bank/v1/access_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import type { User } from "../../gen/bank/v1/user_pb";
import type { ConsoleContext } from "./context";
import { button, byId, cell, confirmed, emptyBody, field, focusHeading, form, onSubmit, setText, show, submitting } from "./dom";
import { describeError } from "./errors";
import { detailRow, type DrawerField } from "./drawer";
import { formatTime, GRANTABLE_ROLES, roleLabel, rolesLabel } from "./format";
import { consoleLimits } from "./limits";
import { Pager } from "./pager";

export class UsersView {
  private users: User[] = [];
  private emailPrefix = "";
  private selected: User | undefined;
  private entered = false;
  private readonly pager: Pager;

  constructor(private readonly ctx: ConsoleContext) {
    this.pager = new Pager("users", (pageToken, pageSize) => this.loadPage(pageToken, pageSize), consoleLimits.usersPageSize);
    onSubmit(form("user-search-form"), () => this.search());
    onSubmit(form("user-roles-form"), () => this.saveRoles());
    onSubmit(form("user-access-form"), () => this.toggleAccess());
    onSubmit(form("user-second-factor-form"), () => this.resetSecondFactor());
    byId("user-accounts").addEventListener("click", () => {
      if (this.selected) void this.ctx.showAccountsOf(this.selected);
    });
    this.buildRoleChoices();
  }

  /** The first time the view is shown after sign-in: everyone, newest first. */
  async enter(): Promise<void> {
    if (this.entered) return;
    this.entered = true;
    await this.pager.first();
  }

  reset(): void {
    this.entered = false;
    this.users = [];
    this.emailPrefix = "";
    this.selected = undefined;
    emptyBody("users-table");
    show("user-panel", false);
    form("user-search-form").reset();
  }

  private buildRoleChoices(): void {
    const box = byId("user-roles-choices");
    for (const role of GRANTABLE_ROLES) {
      const label = document.createElement("label");
      label.className = "check";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "roles";
      input.value = String(role);
      label.append(input, ` ${roleLabel(role)}`);
      box.append(label);
    }
  }

  private async search(): Promise<void> {
    await submitting(form("user-search-form"), "user-search-error", async (data) => {
      this.emailPrefix = field(data, "emailPrefix");
      await this.pager.first();
    });
  }

  private async loadPage(pageToken: string, pageSize: number) {
    try {
      const res = await this.ctx.api.admin.listUsers({ emailPrefix: this.emailPrefix, pageSize, pageToken });
      this.ctx.directory.add(res.users);
      return {
        nextPageToken: res.nextPageToken,
        render: () => {
          this.users = res.users;
          this.render();
        },
      };
    } catch (err) {
      setText("user-search-error", describeError(err, "users"));
      return undefined;
    }
  }

  private render(): void {
    const body = emptyBody("users-table");
    for (const user of this.users) {
      const tr = document.createElement("tr");
      tr.dataset.userId = user.id;
      if (user.id === this.selected?.id) tr.className = "selected";
      tr.append(
        cell(user.fullName, undefined, "Name"),
        cell(user.email, "email", "Email"),
        cell(rolesLabel(user.roles), undefined, "Roles"),
        cell(user.disabled ? "Disabled" : "Active", undefined, "Status"),
      );
      const actions = document.createElement("td");
      actions.className = "actions";
      actions.append(button("Open", `Open ${user.fullName} (${user.email})`, () => this.select(user)));
      tr.append(actions);
      detailRow(tr, "users-table", user.id, `${user.fullName} (${user.email})`, actions, () => userDetails(user), this.ctx.drawer);
      body.append(tr);
    }
    show("users-empty", this.users.length === 0);
  }

  private select(user: User): void {
    this.selected = user;
    this.render();
    this.renderPanel();
    show("user-panel", true);
    focusHeading("user-title");
  }

  private renderPanel(): void {
    const user = this.selected;
    if (!user) return;
    const p = this.ctx.perms;
    setText("user-title", user.fullName);
    setText("user-email", user.email);
    setText("user-roles", rolesLabel(user.roles));
    setText("user-status", user.disabled ? "Disabled: cannot sign in" : "Active");
    setText("user-id", user.id);
    show("user-accounts", p.may(AccountService.method.listAccounts));
    show("user-roles-form", p.may(AdminService.method.setUserRoles));
    for (const box of byId("user-roles-choices").querySelectorAll<HTMLInputElement>("input")) box.checked = user.roles.includes(Number(box.value) as Role);
    const method = user.disabled ? AdminService.method.enableUser : AdminService.method.disableUser;
    show("user-access-form", p.may(method));
    setText("user-access-submit", user.disabled ? "Enable user" : "Disable user");
    setText("user-access-hint", user.disabled ? "Enabling lets this person sign in again." : "Disabling stops this person signing in and ends their sessions.");
    setText("user-second-factor", user.secondFactorEnrolled ? "Set up" : "Not set up");
    // Never one's own: another admin must vouch for the person.
    show("user-second-factor-form", p.may(AdminService.method.resetSecondFactor) && user.secondFactorEnrolled && user.id !== this.ctx.user?.id);
  }

  private replaced(user: User | undefined): void {
    if (!user) return;
    this.selected = user;
    this.users = this.users.map((u) => (u.id === user.id ? user : u));
    this.ctx.directory.add([user]);
    this.render();
    this.renderPanel();
  }

  private async saveRoles(): Promise<void> {
    const user = this.selected;
    if (!user) return;
    await submitting(form("user-roles-form"), "user-roles-error", async (data) => {
      const roles = data.getAll("roles").map((v) => Number(v) as Role);
      if (roles.length === 0) return "Choose at least one role.";
      try {
        const res = await this.ctx.api.admin.setUserRoles({ userId: user.id, roles });
        this.replaced(res.user);
        setText("status", `${user.fullName} now has the roles: ${rolesLabel(res.user?.roles ?? roles)}.`);
      } catch (err) {
        return describeError(err, "roles");
      }
    });
  }

  private async resetSecondFactor(): Promise<void> {
    const user = this.selected;
    if (!user) return;
    await submitting(form("user-second-factor-form"), "user-second-factor-error", async (data) => {
      const reason = field(data, "reason");
      if (reason === "") return "Enter why (it is kept in the audit log).";
      try {
        const res = await this.ctx.api.admin.resetSecondFactor({ userId: user.id, reason });
        form("user-second-factor-form").reset();
        this.replaced(res.user);
        setText("status", `Reset ${user.fullName}'s second factor: their sessions have ended, and they set up a new one at their next sign-in.`);
      } catch (err) {
        return describeError(err, "reset-second-factor");
      }
    });
  }

  private async toggleAccess(): Promise<void> {
    const user = this.selected;
    if (!user) return;
    const enable = user.disabled;
    await submitting(form("user-access-form"), "user-access-error", async () => {
      if (!enable && !confirmed(`Disable ${user.fullName} (${user.email})? They cannot sign in, and their sessions end now.`)) return `Cancelled: ${user.fullName} was not disabled.`;
      try {
        const res = enable ? await this.ctx.api.admin.enableUser({ userId: user.id }) : await this.ctx.api.admin.disableUser({ userId: user.id });
        this.replaced(res.user);
        setText("status", enable ? `Enabled ${user.fullName}.` : `Disabled ${user.fullName}: they cannot sign in, and their sessions have ended.`);
      } catch (err) {
        return describeError(err, enable ? "enable" : "disable");
      }
    });
  }
}

/** Every field of a listed person, for the drawer. */
function userDetails(user: User): { title: string; fields: DrawerField[] } {
  return {
    title: user.fullName,
    fields: [
      { label: "Name", value: user.fullName },
      { label: "Email", value: user.email, kind: "id" },
      { label: "User id", value: user.id, kind: "id" },
      { label: "Roles", value: rolesLabel(user.roles) },
      { label: "Status", value: user.disabled ? "Disabled: cannot sign in" : "Active" },
      { label: "Second factor", value: user.secondFactorEnrolled ? "Set up" : "Not set up" },
      { label: "Joined", value: formatTime(user.createTime) },
    ],
  };
}
