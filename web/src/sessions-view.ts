// The person's sessions (signed-in devices), with "Revoke" for every one but this.
import type { ConsoleContext } from "./context";
import { button, cell, emptyBody, setText } from "./dom";
import { describeError } from "./errors";
import { deviceLabel, formatTime } from "./format";
import { consoleLimits } from "./limits";

export class SessionsView {
  constructor(private readonly ctx: ConsoleContext) {}

  async enter(): Promise<void> {
    await this.load();
  }

  reset(): void {
    emptyBody("sessions-table");
    setText("sessions-error", "");
  }

  private async load(): Promise<void> {
    setText("sessions-error", "");
    try {
      const res = await this.ctx.api.auth.listSessions({ pageSize: consoleLimits.sessionsPageSize });
      const body = emptyBody("sessions-table");
      for (const s of res.sessions) {
        const tr = document.createElement("tr");
        const device = deviceLabel(s.userAgent);
        tr.append(cell(formatTime(s.createTime), undefined, "Signed in"), cell(formatTime(s.lastUsedTime), undefined, "Last used"), cell(device, undefined, "Device"));
        const actions = document.createElement("td");
        if (s.current) actions.textContent = "This session";
        else actions.append(button("Revoke", `Revoke the session of ${device} signed in ${formatTime(s.createTime)}`, () => void this.revoke(s.id)));
        tr.append(actions);
        body.append(tr);
      }
    } catch (err) {
      setText("sessions-error", describeError(err, "load"));
    }
  }

  private async revoke(sessionId: string): Promise<void> {
    try {
      await this.ctx.api.auth.revokeSession({ sessionId });
      setText("status", "The session was revoked.");
    } catch (err) {
      setText("sessions-error", describeError(err, "revoke"));
      return;
    }
    await this.load();
  }
}
