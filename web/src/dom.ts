// Small DOM helpers: find the elements of index.html, build table rows, show errors, and keep a
// form disabled (and announced as busy) while its request runs.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

export function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

export function button(label: string, accessibleName: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.setAttribute("aria-label", accessibleName);
  b.addEventListener("click", onClick);
  return b;
}

export function setText(id: string, text: string): void {
  byId(id).textContent = text;
}

/** Reads a submitted field by name as trimmed text (`raw` keeps it as typed, for passwords). */
export function field(data: FormData, name: string, raw = false): string {
  const value = data.get(name);
  if (typeof value !== "string") return "";
  return raw ? value : value.trim();
}

/** Runs `work` with the form's data: the form is busy meanwhile, its error line cleared first and
 * set to the sentence `work` returns, if any. The data is read before the controls are disabled,
 * since disabled controls are left out of FormData. */
export async function submitting(form: HTMLFormElement, errorId: string, work: (data: FormData) => Promise<string | void>): Promise<void> {
  const data = new FormData(form);
  const error = byId(errorId);
  // A new attempt makes the last announcement stale.
  setText("status", "");
  const controls = Array.from(form.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLSelectElement>("button, input, select"));
  error.textContent = "";
  form.setAttribute("aria-busy", "true");
  for (const control of controls) control.disabled = true;
  try {
    const problem = await work(data);
    if (problem) error.textContent = problem;
  } finally {
    for (const control of controls) control.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

/** Wires a form's submit event to an async handler, never reloading the page. */
export function onSubmit(form: HTMLFormElement, handler: () => Promise<void>): void {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void handler();
  });
}
