// Small DOM helpers: find the elements of index.html, build table rows, show errors, and keep a
// form disabled (and announced as busy) while its request runs.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

export function form(id: string): HTMLFormElement {
  return byId<HTMLFormElement>(id);
}

/** The tbody of a table, emptied. */
export function emptyBody(tableId: string): HTMLTableSectionElement {
  const body = byId(tableId).querySelector("tbody");
  if (!body) throw new Error(`#${tableId} has no tbody`);
  body.replaceChildren();
  return body;
}

/** A cell; `label` names its column (data-label) for tests and narrow layouts. */
/** Cells whose text may be cut short at 1280 px (ids, people, details): the full text is the
 * title (hover), and the cell takes focus, which shows it whole (styles.css). Rows with a detail
 * drawer (drawer.ts) take focus themselves instead, and the drawer shows every cell whole. */
const TRUNCATED = /\b(mono|party|owner|email|details|wrap)\b/;

export function cell(text: string, className?: string, label?: string): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  if (label) td.dataset.label = label;
  if (text !== "") td.title = text;
  if (className && TRUNCATED.test(className) && text !== "") td.tabIndex = 0;
  return td;
}

export function button(label: string, accessibleName: string, onClick: (event: MouseEvent) => void, className?: string): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.setAttribute("aria-label", accessibleName);
  if (className) b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

export function setText(id: string, text: string): void {
  byId(id).textContent = text;
}

export function show(id: string, visible: boolean): void {
  byId(id).hidden = !visible;
}

/** Reads a submitted field by name as trimmed text (`raw` keeps it as typed, for passwords). */
export function field(data: FormData, name: string, raw = false): string {
  const value = data.get(name);
  if (typeof value !== "string") return "";
  return raw ? value : value.trim();
}

/** Clears the error lines of every form but `keep`: an error belongs to the form the person was
 * last working in, and stays there no longer than that. */
export function clearErrorsOutside(keep: Element | null): void {
  for (const error of document.querySelectorAll<HTMLElement>("form .error")) {
    if (keep && keep.contains(error)) continue;
    error.textContent = "";
  }
}

/** Disables a form's controls (and marks it busy) while `work` runs. The data is read before the
 * controls are disabled, since disabled controls are left out of FormData. */
export async function busy<T>(target: HTMLFormElement, work: (data: FormData) => Promise<T>): Promise<T> {
  const data = new FormData(target);
  const controls = Array.from(target.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLSelectElement>("button, input, select"));
  const wasDisabled = controls.map((c) => c.disabled);
  target.setAttribute("aria-busy", "true");
  for (const control of controls) control.disabled = true;
  try {
    return await work(data);
  } finally {
    controls.forEach((control, i) => (control.disabled = wasDisabled[i]!));
    target.removeAttribute("aria-busy");
  }
}

/** Runs `work` with the form's data: the form is busy meanwhile, its error line cleared first
 * (and every other form's) and set to the sentence `work` returns, if any. */
export async function submitting(target: HTMLFormElement, errorId: string, work: (data: FormData) => Promise<string | void>): Promise<void> {
  const error = byId(errorId);
  // A new attempt makes the last announcement stale.
  setText("status", "");
  clearErrorsOutside(target);
  error.textContent = "";
  const problem = await busy(target, work);
  if (problem) error.textContent = problem;
}

/** Asks before an action that is not simply undone (freeze, close, disable, reverse), in the
 * browser's own dialog (modal, announced by screen readers, answered by keyboard). */
export function confirmed(question: string): boolean {
  return window.confirm(question);
}

/** Wires a form's submit event to an async handler, never reloading the page. */
export function onSubmit(target: HTMLFormElement, handler: () => Promise<void>): void {
  target.addEventListener("submit", (event) => {
    event.preventDefault();
    void handler();
  });
}

/** Moves focus to a heading (tabindex=-1) so that keyboard and screen-reader users land where
 * the new content starts. */
export function focusHeading(id: string): void {
  byId(id).focus();
}
