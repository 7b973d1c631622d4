// Proto comments as OpenAPI descriptions, and the field behaviour they state. The contract's
// style (buf lint COMMENTS, AIP-203 in prose) starts every field comment with "Required.",
// "Optional." or "Output only."; that first word is what the document turns into `required`
// and `readOnly`.
import { getComments } from "@bufbuild/protoplugin";

type Commented = Parameters<typeof getComments>[0];

/** The leading comment of an element as Markdown: one leading space per line removed, blank
 * lines kept (paragraphs), surrounding whitespace trimmed. */
export function commentOf(desc: Commented): string {
  const leading = getComments(desc).leading ?? "";
  return leading
    .split("\n")
    .map((line) => (line.startsWith(" ") ? line.slice(1) : line).trimEnd())
    .join("\n")
    .trim();
}

/** The first sentence of a comment, for an operation's summary. */
export function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const end = flat.search(/\.(\s|$)/);
  return end < 0 ? flat : flat.slice(0, end + 1);
}

export interface FieldBehaviour {
  /** "Required.": the request must set it. */
  required: boolean;
  /** "Output only.": the server sets it; requests leave it out. */
  outputOnly: boolean;
}

export function behaviourOf(comment: string): FieldBehaviour {
  return { required: /^Required\./.test(comment), outputOnly: /^Output only\./.test(comment) };
}
