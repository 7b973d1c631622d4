// GET /.well-known/jwks.json: the public keys that verify access tokens, for internal services
// that check tokens offline (also AuthService.GetJwks).
import type { KeyRing } from "../auth/keys";
import type { HttpRoute } from "../module";
import { writeHead } from "../util/http-response";

export const JWKS_PATH = "/.well-known/jwks.json";

export function jwksRoute(keys: KeyRing): HttpRoute {
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== JWKS_PATH || (req.method !== "GET" && req.method !== "HEAD")) return false;
    const body = keys.jwksJson();
    writeHead(res, 200, { "content-type": "application/jwk-set+json", "cache-control": "public, max-age=300" });
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  };
}
