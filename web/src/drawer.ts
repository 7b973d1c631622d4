// The detail drawer (issue 28): the staff tables keep a few essential columns, so that they fit a
// 1280 px screen without cutting text, and every field of a row is shown here in full. A side
// panel (a non-modal dialog) opened by a row's "Details" button or Enter on the focused row, and
// closed by Esc or its close button, which return focus to the row it was opened from.
import { button, byId, setText } from "./dom";

/** One field: `id` is monospaced with a Copy button (ids, numbers, hashes); `pre` is kept exactly
 * as stored (line breaks, spaces). */
export interface DrawerField {
  label: string;
  value: string;
  kind?: "text" | "id" | "pre";
}

/** Where the drawer was opened from: the table and the row's key (data-row-key). The row may be
 * drawn again while the drawer is open (a live update, a reload), so it is found again by key. */
interface Origin {
  tableId: string;
  rowKey: string;
  opener: HTMLElement | null;
}

export class DetailDrawer {
  private origin: Origin | undefined;

  constructor() {
    byId("drawer-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !this.isOpen) return;
      event.preventDefault();
      this.close();
    });
  }

  get isOpen(): boolean {
    return !byId("drawer").hidden;
  }

  /** Shows `fields` under `title`; focus moves to the drawer's title. */
  open(title: string, fields: readonly DrawerField[], origin: Origin): void {
    this.origin = origin;
    setText("drawer-title", title);
    setText("drawer-copied", "");
    const list = byId("drawer-fields");
    list.replaceChildren();
    for (const f of fields) {
      const wrap = document.createElement("div");
      const dt = document.createElement("dt");
      dt.textContent = f.label;
      const dd = document.createElement("dd");
      dd.dataset.label = f.label;
      if (f.kind === "pre") {
        const pre = document.createElement("pre");
        pre.className = "mono";
        pre.textContent = f.value;
        dd.append(pre);
      } else if (f.kind === "id" && f.value !== "") {
        const code = document.createElement("code");
        code.className = "mono copyable";
        code.textContent = f.value;
        dd.append(code, " ", button("Copy", `Copy ${f.label.toLowerCase()}`, () => void copy(code, f.label), "secondary copy"));
      } else {
        dd.textContent = f.value === "" ? "—" : f.value;
      }
      wrap.append(dt, dd);
      list.append(wrap);
    }
    byId("drawer").hidden = false;
    byId("drawer-title").focus();
  }

  /** Closes the drawer and gives focus back to the row (or the button) it was opened from. */
  close(): void {
    if (!this.isOpen) return;
    byId("drawer").hidden = true;
    const origin = this.origin;
    this.origin = undefined;
    if (!origin) return;
    if (origin.opener?.isConnected) {
      origin.opener.focus();
      return;
    }
    const table = byId(origin.tableId);
    const row = Array.from(table.querySelectorAll<HTMLElement>("tbody tr[data-row-key]")).find((tr) => tr.dataset.rowKey === origin.rowKey);
    // The row left the page meanwhile (another page of the list): its table, then.
    (row ?? table.closest<HTMLElement>(".table-scroll"))?.focus();
  }

  /** Closes without moving focus (sign-out, another view). */
  reset(): void {
    byId("drawer").hidden = true;
    this.origin = undefined;
  }
}

/** Makes a drawn row open the drawer: the row takes focus (Enter opens it), its "Details" button
 * (put in `actions`) does the same, and its cells drop their own tab stops (the drawer shows their
 * whole text). */
export function detailRow(tr: HTMLTableRowElement, tableId: string, rowKey: string, name: string, actions: HTMLElement, show: () => { title: string; fields: DrawerField[] }, drawer: DetailDrawer): void {
  tr.dataset.rowKey = rowKey;
  tr.tabIndex = 0;
  // Said when the row takes focus: what Enter does there.
  tr.setAttribute("aria-describedby", "drawer-row-hint");
  for (const td of Array.from(tr.querySelectorAll("td"))) td.removeAttribute("tabindex");
  const open = (opener: HTMLElement) => {
    const { title, fields } = show();
    drawer.open(title, fields, { tableId, rowKey, opener });
  };
  tr.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.target !== tr) return;
    event.preventDefault();
    open(tr);
  });
  actions.append(button("Details", `Details of ${name}`, (event) => open(event.currentTarget as HTMLElement), "secondary"));
}

/** Copies an id to the clipboard; where the browser does not allow it, selects the text so that
 * Ctrl+C (Cmd+C) copies it. */
async function copy(code: HTMLElement, label: string): Promise<void> {
  const text = code.textContent ?? "";
  try {
    await navigator.clipboard.writeText(text);
    setText("drawer-copied", `Copied the ${label.toLowerCase()}.`);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(code);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    setText("drawer-copied", `Selected the ${label.toLowerCase()}: press Ctrl+C (Cmd+C on a Mac) to copy it.`);
  }
}
