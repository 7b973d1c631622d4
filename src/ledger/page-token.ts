// Page sizes and opaque page tokens (AIP-158). A token is base64url JSON of the cursor and a
// digest of the filters it was issued for, so a token reused with other filters is refused.
// The cursor only positions the caller inside a query they are allowed to run, so tokens need
// no signature: a forged one can show nothing the caller could not list anyway.
import { createHash } from "node:crypto";
import { invalidArgument } from "../errors";
import { limits } from "../limits";

export function parsePageSize(pageSize: number): number {
  if (pageSize === 0) return limits.pageSizeDefault;
  if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > limits.pageSizeMax) {
    throw invalidArgument("PAGE_SIZE_INVALID", `page_size must be between 0 and ${limits.pageSizeMax}.`, {
      field: "page_size",
      max: String(limits.pageSizeMax),
    });
  }
  return pageSize;
}

function filterDigest(filters: Record<string, string | number | null>): string {
  const canonical = JSON.stringify(Object.keys(filters).sort().map((k) => [k, filters[k]]));
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

export function encodePageToken(filters: Record<string, string | number | null>, cursor: string): string {
  return Buffer.from(JSON.stringify({ f: filterDigest(filters), c: cursor })).toString("base64url");
}

/** The cursor of a token, or undefined for an empty token (the first page). */
export function decodePageToken(token: string, filters: Record<string, string | number | null>): string | undefined {
  if (token === "") return undefined;
  const refuse = (why: string) => invalidArgument("PAGE_TOKEN_INVALID", `page_token ${why}.`, { field: "page_token" });
  if (token.length > limits.pageTokenCharsMax || !/^[A-Za-z0-9_-]+$/.test(token)) throw refuse("is malformed");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw refuse("is malformed");
  }
  const { f, c } = (parsed ?? {}) as { f?: unknown; c?: unknown };
  if (typeof f !== "string" || typeof c !== "string") throw refuse("is malformed");
  if (f !== filterDigest(filters)) throw refuse("was issued for different filters; start again without it");
  return c;
}
