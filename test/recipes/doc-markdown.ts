// The fenced blocks of the docs, for the recipes tests (test/recipes/*.test.ts); the marker
// convention is described at the top of doc-blocks.test.ts.

/** The ```sh blocks of a recipes section ("recipes" or "curl-recipes"), in order. */
export function recipeBlocks(markdown: string, section = "recipes"): string[] {
  const start = markdown.indexOf(`<!-- ${section}:start -->`);
  const end = markdown.indexOf(`<!-- ${section}:end -->`);
  if (start < 0 || end < start) throw new Error(`README.md has no <!-- ${section}:start --> ... <!-- ${section}:end --> section`);
  return [...markdown.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const SHELL_FENCE = /^(\s*)```(sh|bash|console|shell)\s*$/;
const ANY_FENCE = /^(\s*)```/;
const MARKER = /^<!--\s*(runnable|not-runnable)(?::\s*(.*?))?\s*-->$/;

type Marker = { kind: "runnable"; after?: "curl-recipes" } | { kind: "not-runnable"; reason: string } | { kind: "section"; section: string } | { kind: "bad"; text: string } | { kind: "none" };

export interface DocBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  marker: Marker;
}

/** Every fenced shell block of one markdown file, with its marker. */
export function shellBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  let section: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const sectionMark = /<!--\s*([a-z-]+):(start|end)\s*-->/.exec(line);
    if (sectionMark) section = sectionMark[2] === "start" ? sectionMark[1] : undefined;
    const open = ANY_FENCE.exec(line);
    if (!open) continue;
    const indent = open[1]!;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trimEnd() !== `${indent}\`\`\``) end++;
    const shell = SHELL_FENCE.test(line);
    if (shell) {
      const code = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)).join("\n");
      blocks.push({ file, line: i + 1, code, marker: section ? { kind: "section", section } : markerAbove(lines[i - 1]) });
    }
    i = end;
  }
  return blocks;
}

function markerAbove(above: string | undefined): Marker {
  const text = (above ?? "").trim();
  if (!text.startsWith("<!--")) return { kind: "none" };
  const m = MARKER.exec(text);
  if (!m) return { kind: "bad", text };
  if (m[1] === "not-runnable") return m[2] ? { kind: "not-runnable", reason: m[2] } : { kind: "bad", text };
  if (m[2] === undefined) return { kind: "runnable" };
  return m[2] === "after curl-recipes" ? { kind: "runnable", after: "curl-recipes" } : { kind: "bad", text };
}

