// The audit log (auditors and admins): events newest first, filtered by actor, action, target and
// time, each with its outcome; and the verification of the hash chain with its result.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { AuditEvent } from "../../gen/bank/v1/audit_event_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import type { ConsoleContext } from "./context";
import { byId, cell, emptyBody, field, form, onSubmit, setText, show, submitting } from "./dom";
import { describeError } from "./errors";
import { detailRow, type DrawerField } from "./drawer";
import { auditDetailsText, auditOutcomeLabel, formatTimeSeconds, localTimeMs } from "./format";
import { consoleLimits } from "./limits";
import { Pager } from "./pager";

/** Actions bankd records (src/ledger, src/auth, src/admin), offered as suggestions; the filter
 * takes any action name. */
const KNOWN_ACTIONS = [
  "auth.login", "auth.logout", "auth.register", "auth.refresh", "auth.refresh_reuse", "auth.password_change", "auth.session_revoke", "auth.permission_denied",
  "admin.set_roles", "admin.disable_user", "admin.enable_user",
  "account.create", "account.update", "account.freeze", "account.unfreeze", "account.close", "account.set_limits", "account.staff_read", "access.not_found",
  "transaction.deposit", "transaction.withdraw", "transaction.transfer", "transaction.reverse",
  "transaction.hold.create", "transaction.hold.capture", "transaction.hold.release", "transaction.hold.expire",
];

interface AuditFilter {
  actorId: string;
  action: string;
  targetId: string;
  startMs: number | undefined;
  endMs: number | undefined;
}

const NO_FILTER: AuditFilter = { actorId: "", action: "", targetId: "", startMs: undefined, endMs: undefined };

export class AuditView {
  private filter: AuditFilter = NO_FILTER;
  private entered = false;
  private readonly pager: Pager;

  constructor(private readonly ctx: ConsoleContext) {
    this.pager = new Pager("audit", (pageToken, pageSize) => this.loadPage(pageToken, pageSize), consoleLimits.auditPageSize);
    onSubmit(form("audit-filter-form"), () => this.applyFilter());
    form("audit-filter-form").addEventListener("reset", () => {
      this.filter = NO_FILTER;
      if (this.entered) void this.pager.first();
    });
    onSubmit(form("verify-form"), () => this.verify());
    const list = byId("audit-actions");
    for (const action of KNOWN_ACTIONS) list.append(new Option(action, action));
  }

  async enter(): Promise<void> {
    const p = this.ctx.perms;
    const mayList = p.may(AuditService.method.listAuditEvents);
    show("verify-panel", p.may(AuditService.method.verifyAuditLog));
    if (this.entered || !mayList) return;
    this.entered = true;
    await this.ctx.directory.ensure(p);
    await this.pager.first();
  }

  reset(): void {
    this.entered = false;
    this.filter = NO_FILTER;
    emptyBody("audit-table");
    form("audit-filter-form").reset();
    setText("verify-result", "");
  }

  private async applyFilter(): Promise<void> {
    await submitting(form("audit-filter-form"), "audit-error", async (data) => {
      const startMs = localTimeMs(field(data, "from"));
      const endMs = localTimeMs(field(data, "to"));
      if (startMs === "invalid" || endMs === "invalid") return "Enter the times as a date and a time.";
      if (startMs !== undefined && endMs !== undefined && startMs >= endMs) return "The start must be before the end.";
      const actorId = await this.actorId(field(data, "actorId"));
      if (typeof actorId !== "string") return actorId.problem;
      const targetId = await this.targetId(field(data, "targetId"));
      if (typeof targetId !== "string") return targetId.problem;
      this.filter = { actorId, action: field(data, "action"), targetId, startMs, endMs };
      await this.pager.first();
    });
  }

  /** An e-mail is resolved to its person's id (ListUsers by prefix, then the exact address, any
   * case); anything else is taken as an id. An e-mail nobody has is said, not shown as 0 rows. */
  private async actorId(text: string): Promise<string | { problem: string }> {
    if (!text.includes("@")) return text;
    const email = text.toLowerCase();
    try {
      const res = await this.ctx.api.admin.listUsers({ emailPrefix: email, pageSize: consoleLimits.auditPageSize });
      const user = res.users.find((u) => u.email.toLowerCase() === email);
      return user ? user.id : { problem: `No person has the e-mail ${text}.` };
    } catch (err) {
      return { problem: describeError(err, "users") };
    }
  }

  /** An account number (14 digits, spaces ignored) is resolved to the account's id
   * (LookupAccount); anything else is taken as an id. */
  private async targetId(text: string): Promise<string | { problem: string }> {
    const digits = text.replace(/\s/g, "");
    if (!/^\d{14}$/.test(digits)) return text;
    try {
      const res = await this.ctx.api.accounts.lookupAccount({ number: digits });
      return res.account?.id ?? { problem: `No account has the number ${text}.` };
    } catch (err) {
      return { problem: describeError(err, "lookup") };
    }
  }

  private async loadPage(pageToken: string, pageSize: number) {
    const f = this.filter;
    try {
      const res = await this.ctx.api.audit.listAuditEvents({
        actorId: f.actorId,
        action: f.action,
        targetId: f.targetId,
        startTime: f.startMs === undefined ? undefined : timestampFromMs(f.startMs),
        endTime: f.endMs === undefined ? undefined : timestampFromMs(f.endMs),
        pageSize,
        pageToken,
      });
      return { nextPageToken: res.nextPageToken, render: () => this.render(res.events) };
    } catch (err) {
      setText("audit-error", describeError(err, "audit"));
      return undefined;
    }
  }

  private render(events: AuditEvent[]): void {
    const body = emptyBody("audit-table");
    for (const e of events) {
      const tr = document.createElement("tr");
      tr.dataset.eventId = e.id;
      const outcome = auditOutcomeLabel(e.outcome);
      const actor = e.actorId === "" ? "Anonymous" : this.ctx.directory.label(e.actorId);
      tr.append(
        cell(formatTimeSeconds(e.time), undefined, "Time"),
        cell(actor, "party", "Actor"),
        cell(e.action, "mono", "Action"),
        cell(outcome, `outcome outcome-${outcome.toLowerCase()}`, "Outcome"),
      );
      const actions = document.createElement("td");
      actions.className = "actions";
      tr.append(actions);
      detailRow(tr, "audit-table", e.id, `${e.action} by ${actor} at ${formatTimeSeconds(e.time)}`, actions, () => this.details(e, actor, outcome), this.ctx.drawer);
      body.append(tr);
    }
    show("audit-empty", events.length === 0);
  }

  /** Every field of an event, for the drawer: the details as a person reads them (amounts in
   * the formatter's words) and exactly as stored (hash-chained, never changed). */
  private details(e: AuditEvent, actor: string, outcome: string): { title: string; fields: DrawerField[] } {
    return {
      title: `${e.action} (${outcome})`,
      fields: [
        { label: "Time", value: formatTimeSeconds(e.time) },
        { label: "Actor", value: actor },
        { label: "Actor id", value: e.actorId, kind: "id" },
        { label: "Action", value: e.action },
        { label: "Target", value: e.targetId, kind: "id" },
        { label: "Outcome", value: outcome },
        { label: "Address", value: e.clientAddress },
        { label: "Request id", value: e.requestId, kind: "id" },
        { label: "Details", value: auditDetailsText(e.details, this.ctx.currencies) },
        { label: "Details as stored", value: e.details, kind: "pre" },
        { label: "Event id", value: e.id, kind: "id" },
        { label: "Sequence", value: String(e.sequence) },
        { label: "Hash", value: e.hash, kind: "id" },
      ],
    };
  }

  private async verify(): Promise<void> {
    setText("verify-result", "");
    await submitting(form("verify-form"), "verify-error", async () => {
      try {
        const res = await this.ctx.api.audit.verifyAuditLog({});
        const checked = `${res.eventsChecked} event${res.eventsChecked === 1n ? "" : "s"} checked`;
        setText("verify-result", res.ok
          ? `The audit chain holds: ${checked}, none edited, deleted or reordered.`
          : `The audit chain is broken at event ${res.firstBadEventId}${res.problem ? `: ${res.problem}` : ""} (${checked}).`);
        byId("verify-result").className = res.ok ? "result ok" : "result bad";
      } catch (err) {
        return describeError(err, "verify");
      }
    });
  }
}

