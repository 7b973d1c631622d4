// The signing key ring: every *.jwk file (a private Ed25519 JWK as JSON) in config.jwt.keysDir.
// The newest key (by its "created" field, then by file name) signs; every key verifies, so a
// new key can be added before the old one is retired (rotation). With no key at all, one is
// created (directory 0700, file 0600) so that development needs no setup.
import * as fs from "node:fs";
import * as path from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint, importJWK, type JWK } from "jose";
import { limits } from "../limits";
import { writeFileOnce } from "../util/write-once";

export interface RingKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  createdMs: number;
  file: string;
}

interface StoredJwk extends JWK {
  created?: string;
}

export class KeyRing {
  private lastReloadMs = 0;

  private constructor(
    private readonly dir: string,
    private keys: RingKey[],
  ) {}

  /** Loads the ring, creating a first key when the directory holds none. */
  static async open(dir: string): Promise<KeyRing> {
    let keys = await readKeys(dir);
    if (keys.length === 0) {
      createKeyFile(dir);
      keys = await readKeys(dir);
    }
    return new KeyRing(dir, keys);
  }

  /** The key that signs new tokens: the newest. */
  get signer(): RingKey {
    const newest = this.keys[this.keys.length - 1];
    if (!newest) throw new Error("key ring is empty");
    return newest;
  }

  /** The key with this id. An unknown id re-reads the directory (at most once per
   * limits.keyRingReloadMsMin), so that a key added by another process is learned. */
  async find(kid: string): Promise<RingKey | undefined> {
    const known = this.keys.find((k) => k.kid === kid);
    if (known || Date.now() - this.lastReloadMs < limits.keyRingReloadMsMin) return known;
    this.lastReloadMs = Date.now();
    const reloaded = await readKeys(this.dir).catch(() => this.keys);
    // Keys are only ever added: the signer in use stays what it was until restart.
    const added = reloaded.filter((k) => !this.keys.some((old) => old.kid === k.kid));
    this.keys = [...added, ...this.keys];
    return this.keys.find((k) => k.kid === kid);
  }

  /** The JSON Web Key Set of every public key. */
  jwksJson(): string {
    return JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) });
  }
}

async function readKeys(dir: string): Promise<RingKey[]> {
  if (!fs.existsSync(dir)) return [];
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".jwk")).sort();
  const keys = await Promise.all(files.map((f) => readKey(path.join(dir, f))));
  // Stable: equal creation times keep file name order; the last one is the newest.
  return keys.sort((a, b) => a.createdMs - b.createdMs);
}

async function readKey(file: string): Promise<RingKey> {
  let jwk: StoredJwk;
  try {
    jwk = JSON.parse(fs.readFileSync(file, "utf8")) as StoredJwk;
  } catch {
    throw new Error(`JWT key file ${file} is not valid JSON`);
  }
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.d !== "string" || typeof jwk.x !== "string") {
    throw new Error(`JWT key file ${file} is not a private Ed25519 JWK (kty OKP, crv Ed25519, d, x)`);
  }
  const publicJwk: JWK = { kty: "OKP", crv: "Ed25519", x: jwk.x };
  const kid = typeof jwk.kid === "string" && jwk.kid !== "" ? jwk.kid : await calculateJwkThumbprint(publicJwk);
  const created = jwk.created ? Date.parse(jwk.created) : NaN;
  return {
    kid,
    privateKey: (await importJWK({ kty: "OKP", crv: "Ed25519", x: jwk.x, d: jwk.d }, "EdDSA")) as CryptoKey,
    publicKey: (await importJWK(publicJwk, "EdDSA")) as CryptoKey,
    publicJwk: { ...publicJwk, kid, alg: "EdDSA", use: "sig" },
    createdMs: Number.isFinite(created) ? created : 0,
    file,
  };
}

/** Writes a new key with owner-only permissions. The file appears atomically (link of a
 * complete temporary file), so a process starting at the same moment never reads half a key;
 * if two start together, the second finds the first one's key and keeps it. */
function createKeyFile(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = { ...(privateKey.export({ format: "jwk" }) as JWK), created: new Date().toISOString() };
  writeFileOnce(path.join(dir, "signing-key-1.jwk"), JSON.stringify(jwk) + "\n");
}
