// The built console, held in memory and served at GET / and GET /assets/*: correct content types,
// index.html revalidated on every load (no-cache) and hashed assets cached for a year
// (immutable), ETags, gzip when the client accepts it, and a strict Content-Security-Policy.
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { gzip as gzipCallback, gzipSync } from "node:zlib";
import type { HttpRoute } from "../module";
import { writeHead } from "../util/http-response";

export interface StaticFile {
  body: Buffer;
  gzip: Buffer | undefined;
  contentType: string;
  cacheControl: string;
  etag: string;
}

export type StaticFiles = ReadonlyMap<string, StaticFile>;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

/** index.html may change with every build, so browsers revalidate it (cheap: ETag -> 304). */
export const INDEX_CACHE_CONTROL = "no-cache";
/** Assets are named by content hash: a new build gets new names, so caching forever is safe. */
export const ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable";

/** Scripts, styles and calls come only from this origin; no framing, no plugins. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Reads web/dist into memory. `currencies` ("USD:2,JPY:0") fills index.html's placeholder. */
export function loadStaticFiles(distDir: string, currencies: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const html = fs.readFileSync(path.join(distDir, "index.html"), "utf8").replace("%BANK_CURRENCIES%", escapeAttribute(currencies));
  files.set("/index.html", staticFile(Buffer.from(html, "utf8"), ".html", INDEX_CACHE_CONTROL));
  const assetsDir = path.join(distDir, "assets");
  for (const name of fs.readdirSync(assetsDir)) {
    // Source maps are never served (security W12), not even one an older build left behind.
    if (name.endsWith(".tmp") || name.endsWith(".map")) continue;
    const body = readIfPresent(path.join(assetsDir, name));
    if (body) files.set(`/assets/${name}`, staticFile(body, path.extname(name), ASSET_CACHE_CONTROL));
  }
  return files;
}

/** A file, or undefined when it went away between listing and reading (another process's build
 * pruned an asset of an older build). */
function readIfPresent(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export function staticFile(body: Buffer, extension: string, cacheControl: string): StaticFile {
  const file = uncompressed(body, extension, cacheControl);
  return { ...file, gzip: isCompressible(file) ? gzipSync(body) : undefined };
}

const gzipAsync = promisify(gzipCallback);

/** As staticFile, but compressing on the thread pool: for large files loaded while the server
 * is answering calls (a 1.7 MB script takes about 60 ms to compress). */
export async function staticFileAsync(body: Buffer, extension: string, cacheControl: string): Promise<StaticFile> {
  const file = uncompressed(body, extension, cacheControl);
  return { ...file, gzip: isCompressible(file) ? await gzipAsync(body) : undefined };
}

function uncompressed(body: Buffer, extension: string, cacheControl: string): StaticFile {
  return {
    body,
    gzip: undefined,
    contentType: CONTENT_TYPES[extension] ?? "application/octet-stream",
    cacheControl,
    etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
  };
}

function isCompressible(file: StaticFile): boolean {
  return /^(text\/|application\/json|image\/svg)/.test(file.contentType) && file.body.length > 1024;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The path a request names, if it is one of the console's: "/" is index.html. */
function consolePath(url: string | undefined): string | undefined {
  const pathname = (url ?? "/").split("?")[0]!;
  if (pathname === "/" || pathname === "/index.html") return "/index.html";
  if (pathname.startsWith("/assets/") && !pathname.includes("..")) return pathname;
  return undefined;
}

/** GET/HEAD / and /assets/*. `files` undefined = the console could not be built: / says so. */
export function staticRoute(files: StaticFiles | undefined): HttpRoute {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const key = consolePath(req.url);
    if (!key) return false;
    const file = files?.get(key);
    if (!file) {
      if (files || key !== "/index.html") return false;
      writeHead(res, 503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end("The web console is not built and could not be built here (esbuild is missing). Run `npm ci`, then restart bankd.\n");
      return true;
    }
    const pageHeaders: Record<string, string> = key === "/index.html" ? { "content-security-policy": CONTENT_SECURITY_POLICY, "referrer-policy": "no-referrer" } : {};
    sendStaticFile(req, res, file, pageHeaders);
    return true;
  };
}

type Request = Parameters<HttpRoute>[0];
type Response = Parameters<HttpRoute>[1];

/** Answers a GET or HEAD with a file: 304 when the client has it (ETag), gzip when accepted.
 * `extraHeaders` adds page headers such as a Content-Security-Policy. */
export function sendStaticFile(req: Request, res: Response, file: StaticFile, extraHeaders: Record<string, string> = {}): void {
  const previousVary = res.getHeader("vary");
  const headers: Record<string, string> = {
    "content-type": file.contentType,
    "cache-control": file.cacheControl,
    etag: file.etag,
    "x-content-type-options": "nosniff",
    vary: previousVary ? `${String(previousVary)}, Accept-Encoding` : "Accept-Encoding",
    ...extraHeaders,
  };
  if (req.headers["if-none-match"] === file.etag) {
    writeHead(res, 304, headers);
    res.end();
    return;
  }
  const gzip = file.gzip !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? file.gzip! : file.body;
  if (gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = String(body.length);
  writeHead(res, 200, headers);
  if (req.method === "HEAD") res.end();
  else res.end(body);
}
