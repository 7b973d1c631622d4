// Opaque page tokens (base64url JSON) bound to the list they came from: a token reused with
// other filters, or by another caller, is INVALID_ARGUMENT.
import { invalidArgument } from "../errors";
import { limits } from "../limits";

interface PageToken {
  /** The filters the token belongs to. */
  f: string;
  /** The last id of the previous page. */
  a: string;
}

export function pageSize(requested: number): number {
  if (requested < 0 || requested > limits.pageSizeMax) {
    throw invalidArgument("INVALID_PAGE_SIZE", `page_size must be from 0 to ${limits.pageSizeMax} (0 means ${limits.pageSizeDefault}).`);
  }
  return requested === 0 ? limits.pageSizeDefault : requested;
}

export function encodePageToken(filters: string, afterId: string): string {
  return Buffer.from(JSON.stringify({ f: filters, a: afterId } satisfies PageToken), "utf8").toString("base64url");
}

/** The id to continue after, or undefined for the first page. */
export function decodePageToken(token: string, filters: string): string | undefined {
  if (token === "") return undefined;
  let parsed: Partial<PageToken> | undefined;
  try {
    parsed = token.length <= limits.pageTokenCharsMax ? (JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<PageToken>) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed.a !== "string" || parsed.f !== filters) {
    throw invalidArgument("INVALID_PAGE_TOKEN", "page_token is not valid for this request.");
  }
  return parsed.a;
}
