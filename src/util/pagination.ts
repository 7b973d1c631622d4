// List pagination (AIP-158): page sizes and opaque page tokens bound to the list's filters.
// A token is { f: digest of the filters, c: the cursor (the last row's sort key) } sealed with the
// server's token key (HMAC, sealed-tokens.ts), so an edited or forged token is INVALID_ARGUMENT and
// so is reusing one with other filters. Every list of every service uses it.
import { createHash } from "node:crypto";
import { invalidArgument } from "../errors";
import { limits } from "../limits";
import type { TokenSealer } from "./sealed-tokens";

/** page_size 0 -> the default; negative or above the maximum -> INVALID_ARGUMENT. */
export function pageSizeOf(requested: number): number {
  if (requested === 0) return limits.pageSizeDefault;
  if (!Number.isInteger(requested) || requested < 0 || requested > limits.pageSizeMax) {
    throw invalidArgument("INVALID_PAGE_SIZE", `page_size must be from 0 to ${limits.pageSizeMax}.`, { field: "page_size", max: String(limits.pageSizeMax) });
  }
  return requested;
}

export type Cursor = Record<string, string | number>;

/** The kind of sealed token a page token is (never accepted as a statement cursor, or back). */
const KIND = "page";

/** A page token for the page after `cursor`: sealed (sealed-tokens.ts), so a client can neither
 * read a cursor it was not given nor edit one into another list or another owner's rows. */
export function encodePageToken(sealer: TokenSealer, filters: unknown, cursor: Cursor): string {
  return sealer.seal(KIND, { f: filterDigest(filters), c: cursor });
}

/** The cursor of `token`, or undefined for the first page (empty token). `fields` lists the
 * cursor's keys with their types: a sealed token is ours, and this checks it is of this list. */
export function decodePageToken(sealer: TokenSealer, token: string, filters: unknown, fields: Record<string, "string" | "number">): Cursor | undefined {
  if (token === "") return undefined;
  const bad = () => invalidArgument("INVALID_PAGE_TOKEN", "page_token is not a token this list returned.", { field: "page_token" });
  const parsed = sealer.open(KIND, token) as { f?: unknown; c?: unknown } | undefined;
  if (typeof parsed !== "object" || parsed === null || typeof parsed.c !== "object" || parsed.c === null) throw bad();
  if (parsed.f !== filterDigest(filters)) {
    throw invalidArgument("INVALID_PAGE_TOKEN", "page_token was issued for different filters; repeat the same filters or start again without a token.", { field: "page_token" });
  }
  const cursor = parsed.c as Record<string, unknown>;
  const out: Cursor = {};
  for (const [key, type] of Object.entries(fields)) {
    const value = cursor[key];
    if (typeof value !== type || (type === "number" && !Number.isSafeInteger(value))) throw bad();
    out[key] = value as string | number;
  }
  return out;
}

function filterDigest(filters: unknown): string {
  return createHash("sha256").update(JSON.stringify(filters), "utf8").digest("base64url").slice(0, 22);
}
