// Headers every answer of the server carries (security W12). API responses are never cached by a
// browser or proxy (`cache-control: no-store`: balances, tokens, statements); the routes that
// serve static files (console assets, the explorer) replace it with their own caching rules.
// Under TLS, HSTS tells browsers to come back over HTTPS only.
import type { HttpHandler } from "./server";

/** A year: browsers' usual HSTS horizon; subdomains are left to the operator. */
const HSTS_MAX_AGE_SECONDS = 365 * 24 * 3600;

export function responseHeadersWrap(opts: { tls: boolean }): (handler: HttpHandler) => HttpHandler {
  return (handler) => (req, res) => {
    res.setHeader("Cache-Control", "no-store");
    if (opts.tls) res.setHeader("Strict-Transport-Security", `max-age=${HSTS_MAX_AGE_SECONDS}`);
    handler(req, res);
  };
}
