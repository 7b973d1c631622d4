// Paging through a list with opaque page tokens (AIP-158): the tokens of the pages seen so far,
// so "First page", "Previous page" and "Next page" work, and only the latest request's answer is shown (a slow
// answer to an earlier click never overwrites a newer one). "Rows per page" picks the page size
// (consoleLimits.pageSizeChoices); a new size starts again at the first page, since a page token
// belongs to the page size it was read with. While a page is read the table is marked busy
// (aria-busy, dimmed) and the pager's buttons are disabled, so rows about to be replaced are
// neither taken for current nor paged from.
import { byId, setText } from "./dom";
import { consoleLimits } from "./limits";

/** One page's answer: its next_page_token, and how to show it (called only if still current). */
export interface PageAnswer {
  nextPageToken: string;
  render(): void;
}

/** The sizes offered: the shared choices and the view's default, smallest first. */
export function pageSizeOptions(defaultSize: number): number[] {
  return [...new Set([...consoleLimits.pageSizeChoices, defaultSize])].sort((a, b) => a - b);
}

export class Pager {
  private tokens: string[] = [""];
  private nextToken = "";
  private sequence = 0;
  private size: number;
  private readonly sizeSelect: HTMLSelectElement;

  /** `prefix`: the ids `${prefix}-first`, `${prefix}-previous`, `${prefix}-next`, `${prefix}-page`
   * and `${prefix}-size` (the "Rows per page" select), and `${prefix}-table` when it is a table.
   * `load` answers undefined when the page could not be read (it reports why itself). */
  constructor(
    private readonly prefix: string,
    private readonly load: (pageToken: string, pageSize: number) => Promise<PageAnswer | undefined>,
    private readonly defaultSize: number,
  ) {
    this.size = defaultSize;
    byId(`${prefix}-first`).addEventListener("click", () => void this.first());
    byId(`${prefix}-previous`).addEventListener("click", () => void this.previous());
    byId(`${prefix}-next`).addEventListener("click", () => void this.next());
    this.sizeSelect = byId<HTMLSelectElement>(`${prefix}-size`);
    this.sizeSelect.replaceChildren(...pageSizeOptions(defaultSize).map((n) => new Option(String(n), String(n), n === defaultSize, n === defaultSize)));
    this.sizeSelect.addEventListener("change", () => {
      const chosen = Number(this.sizeSelect.value);
      if (!pageSizeOptions(defaultSize).includes(chosen)) return;
      this.size = chosen;
      void this.first();
    });
  }

  /** 1 for the first page. */
  get page(): number {
    return this.tokens.length;
  }

  /** Rows per page now. */
  get pageSize(): number {
    return this.size;
  }

  first(): Promise<void> {
    return this.go([""]);
  }

  /** The page before this one: its token is the one kept for it (tokens are opaque, so there is
   * no other way back). */
  previous(): Promise<void> {
    if (this.tokens.length === 1) return Promise.resolve();
    return this.go(this.tokens.slice(0, -1));
  }

  next(): Promise<void> {
    if (this.nextToken === "") return Promise.resolve();
    return this.go([...this.tokens, this.nextToken]);
  }

  /** Shows the current page again (after a change that may alter it). */
  reload(): Promise<void> {
    return this.go(this.tokens);
  }

  private async go(tokens: string[]): Promise<void> {
    const mine = ++this.sequence;
    this.busy(true);
    const answer = await this.load(tokens[tokens.length - 1]!, this.size);
    if (mine !== this.sequence) return;
    if (answer) {
      this.tokens = tokens;
      this.nextToken = answer.nextPageToken;
    }
    // The pager is painted before the rows: a render may start another read (which marks the
    // pager busy again).
    this.busy(false);
    answer?.render();
  }

  private busy(reading: boolean): void {
    const table = document.getElementById(`${this.prefix}-table`);
    if (reading) table?.setAttribute("aria-busy", "true");
    else table?.removeAttribute("aria-busy");
    const single = this.tokens.length === 1;
    byId<HTMLButtonElement>(`${this.prefix}-next`).disabled = reading || this.nextToken === "";
    byId<HTMLButtonElement>(`${this.prefix}-first`).disabled = reading || single;
    byId<HTMLButtonElement>(`${this.prefix}-previous`).disabled = reading || single;
    if (reading) return;
    setText(`${this.prefix}-page`, `Page ${this.tokens.length}`);
    // One page only at the usual size: no pager to read past. Another size keeps the pager in
    // view, so the person can go back to the usual one.
    const nav = byId(`${this.prefix}-first`).closest("nav");
    if (nav) nav.hidden = single && this.nextToken === "" && this.size === this.defaultSize;
  }
}
