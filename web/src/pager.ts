// Paging through a list with opaque page tokens (AIP-158): the tokens of the pages seen so far,
// so "First page", "Previous page" and "Next page" work, and only the latest request's answer is shown (a slow
// answer to an earlier click never overwrites a newer one).
import { byId, setText } from "./dom";

/** One page's answer: its next_page_token, and how to show it (called only if still current). */
export interface PageAnswer {
  nextPageToken: string;
  render(): void;
}

export class Pager {
  private tokens: string[] = [""];
  private nextToken = "";
  private sequence = 0;

  /** `prefix`: the ids `${prefix}-first`, `${prefix}-previous`, `${prefix}-next` and `${prefix}-page`. `load` answers
   * undefined when the page could not be read (it reports why itself). */
  constructor(private readonly prefix: string, private readonly load: (pageToken: string) => Promise<PageAnswer | undefined>) {
    byId(`${prefix}-first`).addEventListener("click", () => void this.first());
    byId(`${prefix}-previous`).addEventListener("click", () => void this.previous());
    byId(`${prefix}-next`).addEventListener("click", () => void this.next());
  }

  /** 1 for the first page. */
  get page(): number {
    return this.tokens.length;
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
    const answer = await this.load(tokens[tokens.length - 1]!);
    if (!answer || mine !== this.sequence) return;
    this.tokens = tokens;
    this.nextToken = answer.nextPageToken;
    answer.render();
    setText(`${this.prefix}-page`, `Page ${this.tokens.length}`);
    byId<HTMLButtonElement>(`${this.prefix}-next`).disabled = this.nextToken === "";
    byId<HTMLButtonElement>(`${this.prefix}-first`).disabled = this.tokens.length === 1;
    byId<HTMLButtonElement>(`${this.prefix}-previous`).disabled = this.tokens.length === 1;
    // One page only: no pager to read past.
    const nav = byId(`${this.prefix}-first`).closest("nav");
    if (nav) nav.hidden = this.tokens.length === 1 && this.nextToken === "";
  }
}
