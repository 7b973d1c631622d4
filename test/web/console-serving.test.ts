// Goal: bankd serves the web console it builds at start: GET / is index.html (text/html,
// no-cache, a strict CSP that the page itself keeps to, the server's currency exponents filled in), the hashed assets it names
// are served with their content types and cached as immutable, with ETag revalidation, gzip and
// HEAD; no source map, in development either; anything else under / falls through to 404.
// Checked over a real server.
import * as http from "node:http";
import { gunzipSync } from "node:zlib";
import { engines } from "../support/db";
import { startTestApp, type TestApp } from "../support/app";
import { consolePaths, isStale } from "../../src/web/build";
import { ASSET_CACHE_CONTROL, INDEX_CACHE_CONTROL } from "../../src/web/static-files";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe.each(engines())("web console serving on %s", (engine) => {
  let t: TestApp;
  let html: string;
  beforeAll(async () => {
    t = await startTestApp(engine, { BANK_CURRENCIES: "USD:2,JPY:0,KWD:3" });
    html = (await request(`${t.baseUrl}/`)).body.toString("utf8");
  });
  afterAll(async () => t.stop());

  const assetPaths = () => [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);

  test("the build at start left an up-to-date web/dist", () => {
    const paths = consolePaths();
    expect(paths).toBeDefined();
    expect(isStale(paths!)).toBe(false);
  });

  test("GET / is index.html: text/html, no-cache, nosniff, a CSP that allows only this origin", async () => {
    const res = await request(`${t.baseUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["cache-control"]).toBe(INDEX_CACHE_CONTROL);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(res.body.toString("utf8")).toContain("<title>bankd console</title>");
    expect((await request(`${t.baseUrl}/index.html`)).status).toBe(200);
  });

  test("index.html carries the server's currency exponents and names one script and one stylesheet by hash", () => {
    expect(html).toContain('<meta name="bank-currencies" content="USD:2,JPY:0,KWD:3">');
    expect(html).not.toContain("%APP_JS%");
    const assets = assetPaths();
    expect(assets).toHaveLength(2);
    expect(assets.some((a) => /^\/assets\/app-[A-Z0-9]+\.js$/.test(a))).toBe(true);
    expect(assets.some((a) => /^\/assets\/style-[A-Z0-9]+\.css$/.test(a))).toBe(true);
  });

  test("index.html stays within its CSP: no inline script, style attribute, <style> block or on* handler", () => {
    // script-src 'self' and style-src 'self' (no 'unsafe-inline') would block any of these.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style[\s>]/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/javascript:/i);
  });

  test("hashed assets: JavaScript and CSS content types, cached for a year as immutable", async () => {
    for (const asset of assetPaths()) {
      const res = await request(`${t.baseUrl}${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe(asset.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
      expect(res.headers["cache-control"]).toBe(ASSET_CACHE_CONTROL);
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.body.length).toBeGreaterThan(100);
    }
  });

  test("gzip when accepted, identical content; ETag revalidation answers 304; HEAD has no body", async () => {
    const script = assetPaths().find((a) => a.endsWith(".js"))!;
    const plain = await request(`${t.baseUrl}${script}`);
    const zipped = await request(`${t.baseUrl}${script}`, { headers: { "accept-encoding": "gzip, br" } });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(String(zipped.headers["vary"])).toContain("Accept-Encoding");
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    const etag = String(plain.headers["etag"]);
    expect((await request(`${t.baseUrl}${script}`, { headers: { "if-none-match": etag } })).status).toBe(304);
    const head = await request(`${t.baseUrl}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers["content-length"])).toBeGreaterThan(0);
  });

  test("no source map in development either (npm start): the bundle names none, and none is served", async () => {
    // Issue 26: the development server served the console's 1 MB source map to anyone (W12).
    const app = assetPaths().find((a) => a.endsWith(".js"))!;
    const bundle = await request(`${t.baseUrl}${app}`);
    const map = await request(`${t.baseUrl}${app}.map`);
    expect({ namesAMap: bundle.body.includes("sourceMappingURL"), mapStatus: map.status, mapBytes: map.status === 200 ? map.body.length : 0 }).toEqual({ namesAMap: false, mapStatus: 404, mapBytes: 0 });
  });

  test("unknown assets, path tricks and non-GET methods are not served", async () => {
    expect((await request(`${t.baseUrl}/assets/nope-123.js`)).status).toBe(404);
    expect((await request(`${t.baseUrl}/assets/../package.json`)).status).toBe(404);
    expect((await request(`${t.baseUrl}/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
    expect((await request(`${t.baseUrl}/`, { method: "DELETE" })).status).toBe(404);
    expect((await request(`${t.baseUrl}/src/app.ts`)).status).toBe(404);
  });
});
