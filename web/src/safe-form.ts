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
  new SafeForm(retries, spec);
}

/** One bound form: its elements, and the operation it sent last (retried with its request id). */
class SafeForm<Req extends object, Res> {
  private readonly el: HTMLFormElement;
  private readonly error: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly submit: HTMLButtonElement | null;
  private current: SafeOperation<Res> | undefined;
  private currentWhat = "";

  constructor(
    private readonly retries: SafeRetries,
    private readonly spec: SafeFormSpec<Req, Res>,
  ) {
    this.el = form(`${spec.prefix}-form`);
    this.error = byId(`${spec.prefix}-error`);
    this.notice = byId(`${spec.prefix}-notice`);
    this.submit = this.el.querySelector<HTMLButtonElement>('button[type="submit"]');
    onSubmit(this.el, async () => this.send());
    this.el.addEventListener("input", () => this.edited());
  }

  /** The intent the form shows now, or undefined when its values are incomplete. */
  private shownKey(): string | undefined {
    const built = this.spec.build(new FormData(this.el));
    return typeof built === "string" ? undefined : fingerprint(this.spec.method, built.request);
  }

  private send(): void {
    setText("status", "");
    clearErrorsOutside(this.el);
    this.error.textContent = "";
    const built = this.spec.build(new FormData(this.el));
    if (typeof built === "string") {
      this.error.textContent = built;
      return;
    }
    if (this.spec.confirm && !confirmed(this.spec.confirm(built.what))) {
      this.error.textContent = `Cancelled: the ${built.what} was not sent.`;
      return;
    }
    const key = fingerprint(this.spec.method, built.request);
    // Other values are another intent: the earlier one is no longer retried by itself, but it
    // stays known, so sending its values again still carries its request id.
    if (this.current && !this.current.finished && this.current.key !== key) this.current.stopAutomatic();
    this.currentWhat = built.what;
    this.current = this.retries.run(this.spec.method, built.request, (requestId) => this.spec.send(built.request, requestId), this.events(built.what, built.request));
  }

  /** New values while an attempt is uncertain: a new intent; the earlier one stays retryable. */
  private edited(): void {
    const current = this.current;
    if (!current || current.state !== "uncertain" || this.shownKey() === current.key) return;
    current.stopAutomatic();
    this.showNotice(`The earlier ${this.currentWhat} may have gone through: check the statement. Sending these new values is a new request; "Retry safely" sends the earlier one again, safely.`, current);
  }

  private events(what: string, request: Req): OperationEvents<Res> {
    return {
      sending: (op) => {
        if (this.submit) this.submit.disabled = true;
        this.el.setAttribute("aria-busy", "true");
        if (op.attempts > 1) this.showNotice(`No answer yet: the ${what} may have gone through. Sending it again with the same request id, so the bank carries it out at most once…`, op);
      },
      uncertain: (op, _err, nextRetryMs) => {
        this.idle();
        const next = nextRetryMs === undefined ? " Automatic retries have stopped." : ` Trying again by itself in ${formatWait(nextRetryMs)}.`;
        this.showNotice(`No answer from the bank: the ${what} may have gone through. Retrying is safe: it carries the same request id, so the bank carries it out at most once.${next}`, op);
      },
      done: async (op, res) => {
        this.idle();
        this.notice.replaceChildren();
        if (this.shownKey() === op.key) this.el.reset();
        const message = await this.spec.done(res, request);
        const retried = op.attempts > 1 ? ` It took ${op.attempts} attempts with one request id and was carried out once.` : "";
        setText("status", message + retried);
      },
      refused: (_op, err) => {
        this.idle();
        this.notice.replaceChildren();
        this.error.textContent = describeError(err, this.spec.action, this.spec.money?.());
      },
    };
  }

  private idle(): void {
    if (this.submit) this.submit.disabled = false;
    this.el.removeAttribute("aria-busy");
  }

  private showNotice(text: string, op: SafeOperation<Res> | undefined): void {
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
    this.notice.replaceChildren(...children);
  }
}
