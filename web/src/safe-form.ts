// A form whose submission creates or moves something (open an account, deposit, withdraw,
// transfer, holds, reversals): sent through SafeRetries, so that an attempt without an answer
// keeps its request_id, the form says the first attempt may have gone through, and "Retry
// safely" (or the automatic back-off) sends the same request again.
import { byId, clearErrorsOutside, confirmed, form, onSubmit, setText } from "./dom";
import { describeError, type Action, type MoneyContext } from "./errors";
import { formatWait } from "./format";
import { fingerprint, type OperationEvents, type SafeOperation, type SafeRetries } from "./safe-retry";

export interface SafeFormSpec<Req extends object, Res> {
  /** The form's id; its error line is `${prefix}-error`, its notice `${prefix}-notice`. */
  prefix: string;
  /** "Service.Method": part of what makes two submissions the same intent. */
  method: string;
  action: Action;
  /** The question to ask before sending (actions that are not simply undone), given the intent. */
  confirm?: (what: string) => string;
  /** How amounts in a refusal are written (the acted-on account's currency), when money moves. */
  money?: () => MoneyContext | undefined;
  /** The request (without request_id) and a few words naming the intent ("deposit of 5.00 USD
   * into Savings"), or a sentence saying what to fix before anything is sent. */
  build(data: FormData): { request: Req; what: string } | string;
  send(request: Req, requestId: string): Promise<Res>;
  /** After success: refreshes what changed and returns the sentence for the status line. */
  done(res: Res, request: Req): Promise<string>;
}

export function bindSafeForm<Req extends object, Res>(retries: SafeRetries, spec: SafeFormSpec<Req, Res>): void {
  const el = form(`${spec.prefix}-form`);
  const error = byId(`${spec.prefix}-error`);
  const notice = byId(`${spec.prefix}-notice`);
  const submit = el.querySelector<HTMLButtonElement>('button[type="submit"]');
  let current: SafeOperation<Res> | undefined;
  let currentWhat = "";

  /** The intent the form shows now, or undefined when its values are incomplete. */
  const shownKey = (): string | undefined => {
    const built = spec.build(new FormData(el));
    return typeof built === "string" ? undefined : fingerprint(spec.method, built.request);
  };

  const events = (what: string, request: Req): OperationEvents<Res> => ({
    sending(op) {
      if (submit) submit.disabled = true;
      el.setAttribute("aria-busy", "true");
      if (op.attempts > 1) showNotice(`No answer yet: the ${what} may have gone through. Sending it again with the same request id, so the bank carries it out at most once…`, op);
    },
    uncertain(op, _err, nextRetryMs) {
      idle();
      const next = nextRetryMs === undefined ? " Automatic retries have stopped." : ` Trying again by itself in ${formatWait(nextRetryMs)}.`;
      showNotice(`No answer from the bank: the ${what} may have gone through. Retrying is safe: it carries the same request id, so the bank carries it out at most once.${next}`, op);
    },
    async done(op, res) {
      idle();
      notice.replaceChildren();
      if (shownKey() === op.key) el.reset();
      const message = await spec.done(res, request);
      const retried = op.attempts > 1 ? ` It took ${op.attempts} attempts with one request id and was carried out once.` : "";
      setText("status", message + retried);
    },
    refused(_op, err) {
      idle();
      notice.replaceChildren();
      error.textContent = describeError(err, spec.action, spec.money?.());
    },
  });

  function idle(): void {
    if (submit) submit.disabled = false;
    el.removeAttribute("aria-busy");
  }

  function showNotice(text: string, op: SafeOperation<Res> | undefined): void {
    const p = document.createElement("p");
    p.textContent = text;
    const children: HTMLElement[] = [p];
    if (op) {
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "secondary";
      retry.textContent = "Retry safely";
      retry.addEventListener("click", () => void op.attempt());
      children.push(retry);
    }
    notice.replaceChildren(...children);
  }

  onSubmit(el, async () => {
    setText("status", "");
    clearErrorsOutside(el);
    error.textContent = "";
    const built = spec.build(new FormData(el));
    if (typeof built === "string") {
      error.textContent = built;
      return;
    }
    if (spec.confirm && !confirmed(spec.confirm(built.what))) {
      error.textContent = `Cancelled: the ${built.what} was not sent.`;
      return;
    }
    const key = fingerprint(spec.method, built.request);
    // Other values are another intent: the earlier one is no longer retried by itself, but it
    // stays known, so sending its values again still carries its request id.
    if (current && !current.finished && current.key !== key) current.stopAutomatic();
    currentWhat = built.what;
    current = retries.run(spec.method, built.request, (requestId) => spec.send(built.request, requestId), events(built.what, built.request));
  });

  el.addEventListener("input", () => {
    if (!current || current.state !== "uncertain" || shownKey() === current.key) return;
    current.stopAutomatic();
    showNotice(`The earlier ${currentWhat} may have gone through: check the statement. Sending these new values is a new request; "Retry safely" sends the earlier one again, safely.`, current);
  });
}
