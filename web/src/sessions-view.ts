// The person's sessions (signed-in devices), with "Revoke" for every one but this.
import type { ConsoleContext } from "./context";
import type { Session } from "../../gen/bank/v1/user_pb";
import { button, cell, emptyBody, setText } from "./dom";
import { detailRow, type DrawerField } from "./drawer";
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
        actions.className = "actions";
        if (s.current) actions.append("This session ");
        else actions.append(button("Revoke", `Revoke the session of ${device} signed in ${formatTime(s.createTime)}`, () => void this.revoke(s.id)), " ");
        tr.append(actions);
        detailRow(tr, "sessions-table", s.id, `${s.current ? "This session" : "Session"}: ${device}, signed in ${formatTime(s.createTime)}`, actions, () => sessionDetails(s), this.ctx.drawer);
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

/** Every field of a session, for the drawer: the whole User-Agent the device label is read from. */
function sessionDetails(s: Session): { title: string; fields: DrawerField[] } {
  return {
    title: s.current ? "This session" : deviceLabel(s.userAgent),
    fields: [
      { label: "Device", value: deviceLabel(s.userAgent) },
      { label: "Browser (User-Agent)", value: s.userAgent },
      { label: "Address", value: s.clientAddress },
      { label: "Signed in", value: formatTime(s.createTime) },
      { label: "Last used", value: formatTime(s.lastUsedTime) },
      { label: "This session", value: s.current ? "Yes" : "No" },
      { label: "Session id", value: s.id, kind: "id" },
    ],
  };
}
