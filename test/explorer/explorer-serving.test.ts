// Goal: bankd serves the API explorer itself: GET /openapi.json is the generated document byte
// for byte (JSON, revalidated by ETag); GET /docs is Swagger UI from the swagger-ui-dist package
// (its files byte for byte, no CDN: the page names only this server's URLs) under a strict CSP
// of its own (no unsafe-inline, no unsafe-eval), with hashed assets cached as immutable and
// gzip; /docs/ redirects; other methods and unknown or crafted asset paths fall through to 404;
// the console links to /docs. Checked over a real server.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { engines } from "../support/db";
import { startTestApp, type TestApp } from "../support/app";
import { ASSET_CACHE_CONTROL, INDEX_CACHE_CONTROL } from "../../src/web/static-files";
import { DOCUMENT_FILE } from "./support";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(url: string, opts: { method?: string; headers?: Record<string, string>; path?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = http.request({ host: target.hostname, port: target.port, path: opts.path ?? target.pathname + target.search, method: opts.method ?? "GET", headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const SWAGGER_DIR = path.dirname(require.resolve("swagger-ui-dist"));

describe.each(engines())("API explorer serving on %s", (engine) => {
  let t: TestApp;
  let html: string;
  beforeAll(async () => {
    t = await startTestApp(engine);
    html = (await request(`${t.baseUrl}/docs`)).body.toString("utf8");
  });
  afterAll(async () => t.stop());

  const assets = () => [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);

  test("GET /openapi.json is the generated document, as JSON, revalidated by ETag", async () => {
    const res = await request(`${t.baseUrl}/openapi.json`);
    expect([res.status, res.headers["content-type"], res.headers["cache-control"]]).toEqual([200, "application/json; charset=utf-8", INDEX_CACHE_CONTROL]);
    expect(res.body.equals(fs.readFileSync(DOCUMENT_FILE))).toBe(true);
    expect(JSON.parse(res.body.toString("utf8")).openapi).toBe("3.1.0");
    const again = await request(`${t.baseUrl}/openapi.json`, { headers: { "if-none-match": String(res.headers.etag) } });
    expect([again.status, again.body.length]).toEqual([304, 0]);
  });

  test("GET /docs is Swagger UI's page under a strict CSP of its own, naming only this server's files", async () => {
    const res = await request(`${t.baseUrl}/docs`);
    expect([res.status, res.headers["content-type"], res.headers["cache-control"], res.headers["x-content-type-options"]]).toEqual([200, "text/html; charset=utf-8", INDEX_CACHE_CONTROL, "nosniff"]);
    const csp = String(res.headers["content-security-policy"]);
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(html).not.toMatch(/<script>|\sstyle=|https?:\/\//);
    expect(assets().length).toBe(4);
    for (const url of assets()) expect(url).toMatch(/^\/docs\/assets\/[\w.-]+-[\w]{12}\.(css|js|png)$/);
  });

  test("the assets are swagger-ui-dist's files byte for byte and our starter script, immutable, gzipped when asked", async () => {
    const byName = new Map(assets().map((u) => [path.basename(u).replace(/-\w{12}(\.\w+)$/, "$1"), u]));
    const expected: Record<string, [string, Buffer | undefined]> = {
      "swagger-ui-bundle.js": ["text/javascript; charset=utf-8", fs.readFileSync(path.join(SWAGGER_DIR, "swagger-ui-bundle.js"))],
      "swagger-ui.css": ["text/css; charset=utf-8", fs.readFileSync(path.join(SWAGGER_DIR, "swagger-ui.css"))],
      "favicon-32x32.png": ["image/png", fs.readFileSync(path.join(SWAGGER_DIR, "favicon-32x32.png"))],
      "explorer.js": ["text/javascript; charset=utf-8", undefined],
    };
    expect([...byName.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, [type, bytes]] of Object.entries(expected)) {
      const res = await request(`${t.baseUrl}${byName.get(name)!}`, { headers: { "accept-encoding": "gzip" } });
      expect([name, res.status, res.headers["content-type"], res.headers["cache-control"]]).toEqual([name, 200, type, ASSET_CACHE_CONTROL]);
      const body = res.headers["content-encoding"] === "gzip" ? gunzipSync(res.body) : res.body;
      if (bytes) expect(body.equals(bytes)).toBe(true);
      if (name === "swagger-ui-bundle.js") expect(res.headers["content-encoding"]).toBe("gzip");
      if (name === "explorer.js") expect(body.toString("utf8")).toContain('url: "/openapi.json"');
    }
  });

  test("/docs/ redirects to /docs; HEAD answers headers only; other methods and unknown or crafted paths are 404", async () => {
    const slash = await request(`${t.baseUrl}/docs/`);
    expect([slash.status, slash.headers.location]).toEqual([308, "/docs"]);
    const head = await request(`${t.baseUrl}/docs`, { method: "HEAD" });
    expect([head.status, head.body.length, Number(head.headers["content-length"])]).toEqual([200, 0, Buffer.byteLength(html)]);
    expect((await request(`${t.baseUrl}/docs`, { method: "POST" })).status).toBe(404);
    expect((await request(`${t.baseUrl}/openapi.json`, { method: "DELETE" })).status).toBe(404);
    for (const p of ["/docs/assets/nope.js", "/docs/assets/../../package.json", "/docs/assets/..%2f..%2fpackage.json", "/docs/assets/", "/docs/index.html"]) {
      expect([p, (await request(`${t.baseUrl}${p}`, { path: p })).status]).toEqual([p, 404]);
    }
  });

  test("the web console links to the explorer", async () => {
    const console = (await request(`${t.baseUrl}/`)).body.toString("utf8");
    expect(console).toContain('<a href="/docs">API explorer</a>');
  });
});
