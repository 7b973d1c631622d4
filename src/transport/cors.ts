// CORS for browsers on other origins (BANK_CORS_ORIGINS). Empty = same origin only: no CORS
// headers at all, so browsers refuse cross-origin reads. The header lists are the ones
// @connectrpc/connect exports for its three protocols, plus bankd's own (authorization for the
// bearer token, x-request-id both ways).
//
// Credentials (cookies, HTTP auth) are never allowed: bankd authenticates with a bearer token the
// page sends explicitly, so a browser has no ambient credential to forward, and "*" together with
// credentials would let any site act with a visitor's cookies.
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { cors } from "@connectrpc/connect";
import { limits } from "../limits";
import type { HttpHandler } from "./server";
import { writeHead } from "../util/http-response";

export const corsAllowedMethods: readonly string[] = [...cors.allowedMethods];
export const corsAllowedHeaders: readonly string[] = [...cors.allowedHeaders, "Authorization", "X-Request-Id"];
export const corsExposedHeaders: readonly string[] = [...cors.exposedHeaders, "X-Request-Id"];

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** The server's `wrap` for the configured origins, or undefined when CORS is off. */
export function corsWrap(origins: readonly string[]): ((handler: HttpHandler) => HttpHandler) | undefined {
  if (origins.length === 0) return undefined;
  const allowAny = origins.includes("*");
  const allowed = new Set(origins);
  return (handler) => (req, res) => {
    const origin = header(req, "origin");
    // Responses differ by Origin, so caches must key on it (also when it is absent or refused).
    res.setHeader("Vary", "Origin");
    const permitted = origin !== undefined && (allowAny || allowed.has(origin));
    if (req.method === "OPTIONS" && origin !== undefined && header(req, "access-control-request-method") !== undefined) {
      preflight(res, permitted ? (allowAny ? "*" : origin) : undefined);
      return;
    }
    if (permitted) {
      res.setHeader("Access-Control-Allow-Origin", allowAny ? "*" : origin);
      res.setHeader("Access-Control-Expose-Headers", corsExposedHeaders.join(", "));
    }
    handler(req, res);
  };
}

/** Answers a preflight: 204 with what may be sent, or 403 for an origin not on the list. */
function preflight(res: Response, allowOrigin: string | undefined): void {
  if (allowOrigin === undefined) {
    writeHead(res, 403, { "content-type": "text/plain; charset=utf-8" });
    res.end("origin not allowed\n");
    return;
  }
  writeHead(res, 204, {
    "access-control-allow-origin": allowOrigin,
    "access-control-allow-methods": corsAllowedMethods.join(", "),
    "access-control-allow-headers": corsAllowedHeaders.join(", "),
    "access-control-max-age": String(limits.corsPreflightMaxAgeSeconds),
  });
  res.end();
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}
