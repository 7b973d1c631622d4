// Changing one's own password (AuthService.ChangePassword, every role; issue 28). The server
// checks the current password under the sign-in throttle, applies the same policy as sign-up to
// the new one, and ends every other session of the person (their access tokens stop working at
// once, their refresh tokens are revoked); this session stays signed in.
import type { ConsoleContext } from "./context";
import { byId, field, form, onSubmit, setText, submitting } from "./dom";
import { describeError } from "./errors";

export class PasswordView {
  constructor(private readonly ctx: ConsoleContext) {
    onSubmit(form("password-form"), () => this.change());
  }

  /** Each visit starts with empty fields; the username is there for password managers. */
  enter(): void {
    form("password-form").reset();
    setText("password-error", "");
    byId<HTMLInputElement>("password-username").value = this.ctx.user?.email ?? "";
  }

  reset(): void {
    form("password-form").reset();
    setText("password-error", "");
  }

  private async change(): Promise<void> {
    const target = form("password-form");
    await submitting(target, "password-error", async (data) => {
      const currentPassword = field(data, "currentPassword", true);
      const newPassword = field(data, "newPassword", true);
      const confirmPassword = field(data, "confirmPassword", true);
      // Refused here without a request: a request could only fail, and a wrong current password
      // counts against the sign-in throttle.
      if (currentPassword === "") return "Enter your current password.";
      if (newPassword === "") return "Enter a new password.";
      if (confirmPassword !== newPassword) return "The new password and its confirmation differ. Type the same new password in both fields.";
      try {
        await this.ctx.api.auth.changePassword({ currentPassword, newPassword });
      } catch (err) {
        return describeError(err, "change-password");
      }
      target.reset();
      byId<HTMLInputElement>("password-username").value = this.ctx.user?.email ?? "";
      setText("status", "Your password was changed. Every other session of yours (other browsers and devices) has been signed out; this one stays signed in.");
    });
  }
}
