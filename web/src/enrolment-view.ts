// Enrolling a second factor (issue 27): a staff member who signs in without one gets an
// enrolment-only session, and the console brings them here straight away. The QR code holds the
// otpauth:// URI for an authenticator app (the secret is also shown for typing in); a first code
// confirms it; the ten recovery codes are then shown once, and the person continues signed in
// with the full session ConfirmTotp started.
import qrcode from "qrcode-generator";
import type { User } from "../../gen/bank/v1/user_pb";
import { tokenSet, type Api } from "./api";
import { byId, field, focusHeading, form, onSubmit, setText, show, submitting } from "./dom";
import { describeError } from "./errors";

export interface EnrolmentHost {
  readonly api: Api;
  /** The user ConfirmTotp returned, now with a second factor. */
  userChanged(user: User): void;
  /** The person has seen their recovery codes: show the console. */
  enrolled(): Promise<void>;
}

/** A QR code of `text` as a data: URL (a GIF; the page's policy allows data: images). */
export function qrDataUrl(text: string): string {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  return qr.createDataURL(4, 16);
}

/** The base32 secret in groups of four, easier to type. */
export function groupedSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, "$1 ");
}

export class EnrolmentView {
  private enrolmentId = "";

  constructor(private readonly host: EnrolmentHost) {
    onSubmit(form("enrol-form"), () => this.confirm());
    byId("recovery-done").addEventListener("click", () => void this.host.enrolled());
  }

  async begin(): Promise<void> {
    this.reset();
    show("enrolment", true);
    focusHeading("enrol-title");
    try {
      const res = await this.host.api.auth.enrollTotp({});
      this.enrolmentId = res.enrolmentId;
      const img = byId<HTMLImageElement>("enrol-qr");
      img.src = qrDataUrl(res.otpauthUri);
      img.hidden = false;
      setText("enrol-secret", groupedSecret(res.secret));
      byId("enrol-code").focus();
    } catch (err) {
      setText("enrol-error", describeError(err, "enrol"));
    }
  }

  reset(): void {
    this.enrolmentId = "";
    const img = byId<HTMLImageElement>("enrol-qr");
    img.removeAttribute("src");
    img.hidden = true;
    setText("enrol-secret", "");
    setText("enrol-error", "");
    byId("recovery-codes").replaceChildren();
    form("enrol-form").reset();
    show("enrol-card", true);
    show("recovery-card", false);
    show("enrolment", false);
  }

  private async confirm(): Promise<void> {
    await submitting(form("enrol-form"), "enrol-error", async (data) => {
      const code = field(data, "code").replace(/\s/g, "");
      if (!/^[0-9]{6}$/.test(code)) return "Enter the 6-digit code your authenticator app shows.";
      if (this.enrolmentId === "") return "The set-up did not start; sign out and sign in again.";
      try {
        const res = await this.host.api.auth.confirmTotp({ enrolmentId: this.enrolmentId, code });
        if (res.accessToken !== "") this.host.api.session.start(tokenSet(res));
        if (res.user) this.host.userChanged(res.user);
        this.showRecoveryCodes(res.recoveryCodes);
      } catch (err) {
        return describeError(err, "enrol");
      }
    });
  }

  private showRecoveryCodes(codes: readonly string[]): void {
    const list = byId("recovery-codes");
    list.replaceChildren(...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }));
    show("enrol-card", false);
    show("recovery-card", true);
    focusHeading("recovery-title");
  }
}
