// A service account's credentials, as an internal service holds them (docs/clients.md): the
// service makes its own Ed25519 key pair, keeps the private key (it never leaves the service),
// and gives the public key to an admin, who registers it:
//
//   npx tsx examples/service-key.ts --out ./payments-key
//     -> ./payments-key/service.key.jwk (private, mode 0600) and ./payments-key/service.pub.pem
//   npm run -s bankd -- create-service-account --name payments --role ROLE_PAYMENT_SERVICE \
//     --public-key-file ./payments-key/service.pub.pem          (prints the service account id)
//
// To call bankd it signs a short assertion (RFC 7523: iss = sub = its id, aud = bankd's issuer,
// exp one minute ahead, a fresh jti) and exchanges it with AuthService.IssueServiceToken for an
// access token of a few minutes; when that nears its expiry it signs a new assertion.
import * as fs from "node:fs";
import * as path from "node:path";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { calculateJwkThumbprint, importJWK, SignJWT, type JWK } from "jose";

/** What the example callers sign in with: the service account's id and its private key file. */
export interface ServiceCredentials {
  serviceAccountId: string;
  keyFile: string;
}

export interface ServiceKey {
  privateJwk: JWK;
  /** The key id bankd knows the public key by: its RFC 7638 thumbprint. */
  kid: string;
}

/** Makes a key pair in `dir`: the private JWK (0600) and the public key as PEM for the admin. */
export function makeServiceKey(dir: string): { keyFile: string; publicKeyFile: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = generateKeyPairSync("ed25519");
  const keyFile = path.join(dir, "service.key.jwk");
  const publicKeyFile = path.join(dir, "service.pub.pem");
  fs.writeFileSync(keyFile, JSON.stringify(pair.privateKey.export({ format: "jwk" })), { mode: 0o600, flag: "wx" });
  fs.writeFileSync(publicKeyFile, pair.publicKey.export({ format: "pem", type: "spki" }));
  return { keyFile, publicKeyFile };
}

export async function loadServiceKey(keyFile: string): Promise<ServiceKey> {
  const privateJwk = JSON.parse(fs.readFileSync(keyFile, "utf8")) as JWK;
  if (privateJwk.kty !== "OKP" || privateJwk.crv !== "Ed25519" || !privateJwk.d || !privateJwk.x) throw new Error(`${keyFile} is not an Ed25519 private JWK`);
  return { privateJwk, kid: await calculateJwkThumbprint({ kty: "OKP", crv: "Ed25519", x: privateJwk.x }, "sha256") };
}

/** An assertion for IssueServiceToken: good for one exchange, within `lifetime` (a minute by
 * default; bankd refuses more than five). */
export async function signAssertion(key: ServiceKey, serviceAccountId: string, audience: string, lifetime = "60s"): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid })
    .setIssuer(serviceAccountId)
    .setSubject(serviceAccountId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(lifetime)
    .setJti(randomUUID())
    .sign(await importJWK(key.privateJwk, "EdDSA"));
}

if (require.main === module) {
  try {
    const at = process.argv.indexOf("--out");
    const dir = at >= 0 ? process.argv[at + 1] : undefined;
    if (!dir) throw new Error("usage: npx tsx examples/service-key.ts --out DIR");
    const { keyFile, publicKeyFile } = makeServiceKey(dir);
    console.log(JSON.stringify({ keyFile, publicKeyFile }));
  } catch (err) {
    console.error(`service-key: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
