// Goal: BANK_CORS_ORIGINS lets a web app on a listed origin call the API from a browser (preflight
// answered with Connect's header lists plus authorization and x-request-id, responses readable),
// refuses other origins, never allows credentials (not for "*" either), and sends no CORS headers
// at all when the variable is empty (same origin only). Checked over a real server.
import * as http from "node:http";
import { cors } from "@connectrpc/connect";
import { engines } from "../support/db";
import { startTestApp, type TestApp } from "../support/app";
import { limits } from "../../src/limits";

const APP_ORIGIN = "https://app.example.com";
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(baseUrl: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, baseUrl), { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const preflight = (baseUrl: string, origin: string) =>
  send(baseUrl, "OPTIONS", HEALTH_CHECK, {
    origin,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type,connect-protocol-version,x-request-id",
  });

const connectCall = (baseUrl: string, origin: string) =>
  send(baseUrl, "POST", HEALTH_CHECK, { origin, "content-type": "application/json", "connect-protocol-version": "1" }, "{}");

const list = (value: string | string[] | undefined) => String(value ?? "").toLowerCase().split(/\s*,\s*/);

describe.each(engines())("CORS on %s", (engine) => {
  describe("with BANK_CORS_ORIGINS listing one origin", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(engine, { BANK_CORS_ORIGINS: `${APP_ORIGIN}, https://other.example.com` });
    });
    afterAll(async () => t.stop());

    test("a preflight from a listed origin is 204 with Connect's methods and headers, authorization, x-request-id and a max age", async () => {
      const res = await preflight(t.baseUrl, APP_ORIGIN);
      expect(res.status).toBe(204);
      expect(res.headers["access-control-allow-origin"]).toBe(APP_ORIGIN);
      expect(list(res.headers["access-control-allow-methods"])).toEqual(expect.arrayContaining(cors.allowedMethods.map((m) => m.toLowerCase())));
      const allowed = list(res.headers["access-control-allow-headers"]);
      for (const name of [...cors.allowedHeaders, "authorization", "x-request-id"]) expect(allowed).toContain(name.toLowerCase());
      expect(res.headers["access-control-max-age"]).toBe(String(limits.corsPreflightMaxAgeSeconds));
      expect(list(res.headers["vary"])).toContain("origin");
      expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
    });

    test("a call from a listed origin carries Allow-Origin and exposes Connect's headers and x-request-id", async () => {
      const res = await connectCall(t.baseUrl, APP_ORIGIN);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ status: "SERVING" });
      expect(res.headers["access-control-allow-origin"]).toBe(APP_ORIGIN);
      const exposed = list(res.headers["access-control-expose-headers"]);
      for (const name of [...cors.exposedHeaders, "x-request-id"]) expect(exposed).toContain(name.toLowerCase());
      expect(res.headers["x-request-id"]).toBeDefined();
      expect(list(res.headers["vary"])).toContain("origin");
      expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
    });

    test("the second listed origin is allowed too, and gets its own origin back", async () => {
      const res = await preflight(t.baseUrl, "https://other.example.com");
      expect(res.status).toBe(204);
      expect(res.headers["access-control-allow-origin"]).toBe("https://other.example.com");
    });

    test("a preflight from an origin not listed is refused (403, no Allow-Origin)", async () => {
      const res = await preflight(t.baseUrl, "https://evil.example.net");
      expect(res.status).toBe(403);
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
      expect(list(res.headers["vary"])).toContain("origin");
    });

    test("a call from an origin not listed is served but gets no CORS headers, so a browser cannot read it", async () => {
      const res = await connectCall(t.baseUrl, "https://evil.example.net");
      expect(res.status).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
      expect(res.headers["access-control-expose-headers"]).toBeUndefined();
    });

    test("a same-origin or non-browser call (no Origin header) is unaffected", async () => {
      const res = await send(t.baseUrl, "POST", HEALTH_CHECK, { "content-type": "application/json" }, "{}");
      expect(res.status).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    });
  });

  describe('with BANK_CORS_ORIGINS="*"', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(engine, { BANK_CORS_ORIGINS: "*" });
    });
    afterAll(async () => t.stop());

    test("any origin is allowed with Allow-Origin: * and never with credentials", async () => {
      const pre = await preflight(t.baseUrl, "https://anywhere.example.org");
      expect(pre.status).toBe(204);
      expect(pre.headers["access-control-allow-origin"]).toBe("*");
      expect(pre.headers["access-control-allow-credentials"]).toBeUndefined();
      const res = await connectCall(t.baseUrl, "https://anywhere.example.org");
      expect(res.status).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBe("*");
      expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
    });
  });

  describe("with BANK_CORS_ORIGINS empty (same origin only)", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(engine);
    });
    afterAll(async () => t.stop());

    test("no CORS headers at all: a preflight is not answered with 204 and calls carry no Allow-Origin", async () => {
      const pre = await preflight(t.baseUrl, APP_ORIGIN);
      expect(pre.status).not.toBe(204);
      expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
      expect(pre.headers["access-control-allow-headers"]).toBeUndefined();
      const res = await connectCall(t.baseUrl, APP_ORIGIN);
      expect(res.status).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    });
  });
});
