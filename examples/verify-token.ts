// Shared by the example callers: verify a bankd access token offline against the server's JWKS,
// pinning everything that matters (docs/api.md): algorithm EdDSA, issuer, audience, typ at+jwt, and
// the claims bankd always sets. A caller fetches the key set once and may cache it; an unknown
// `kid` is the sign to fetch it again (key rotation).
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import type { ServiceCredentials } from "./service-key";

export interface VerifyOptions {
  issuer?: string;
  audience?: string;
}

/** GET /.well-known/jwks.json over plain HTTP(S). */
export async function fetchJwks(baseUrl: string): Promise<JSONWebKeySet> {
  const res = await fetch(new URL("/.well-known/jwks.json", baseUrl), { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`GET /.well-known/jwks.json answered HTTP ${res.status}`);
  return (await res.json()) as JSONWebKeySet;
}

export async function verifyAccessToken(token: string, jwks: JSONWebKeySet, opts: VerifyOptions = {}): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    algorithms: ["EdDSA"],
    issuer: opts.issuer ?? "bankd",
    audience: opts.audience ?? "bankd",
    typ: "at+jwt",
    requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
  });
  return payload;
}

/** Runs `attempt` again after UNAVAILABLE, at most `retriesMax` times, backing off
 * `backoffMsBase` * 2^n. The caller keeps the same request_id across attempts, so a retry after
 * a lost response replays the original result instead of moving money twice. */
export async function retryUnavailable<T>(
  attempt: (n: number) => Promise<T>,
  isUnavailable: (err: unknown) => boolean,
  opts: { retriesMax: number; backoffMsBase: number },
): Promise<{ value: T; attempts: number }> {
  for (let n = 0; ; n++) {
    try {
      return { value: await attempt(n), attempts: n + 1 };
    } catch (err) {
      if (n >= opts.retriesMax || !isUnavailable(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, opts.backoffMsBase * 2 ** n));
    }
  }
}

/** --flag value pairs, the base URL and a service account's credentials (its id and private key
 * file: examples/service-key.ts). */
export function parseServiceArgs(argv: string[]): {
  baseUrl: string;
  credentials: ServiceCredentials;
  flag(name: string): string | undefined;
  need(name: string): string;
} {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) flags.set(argv[i]!.replace(/^--/, ""), argv[i + 1] ?? "");
  const need = (name: string) => {
    const value = flags.get(name);
    if (!value) throw new Error(`missing --${name}`);
    return value;
  };
  return {
    baseUrl: flags.get("base-url") ?? "http://127.0.0.1:8080",
    credentials: { serviceAccountId: need("service-account"), keyFile: need("key-file") },
    flag: (name) => flags.get(name),
    need,
  };
}

/** Command-line arguments of both transfer examples. */
export function parseCliArgs(argv: string[]): {
  baseUrl: string;
  credentials: ServiceCredentials;
  accounts: { fromAccountId: string; toAccountNumber: string; amount: { currency: string; minorUnits: bigint } };
  /** --grpc-target HOST:PORT: bankd's gRPC port (the grpc-js example). */
  grpcTarget?: string;
} {
  const { baseUrl, credentials, flag, need } = parseServiceArgs(argv);
  const amountMinor = need("amount-minor");
  if (!/^[1-9][0-9]*$/.test(amountMinor)) throw new Error("--amount-minor is a positive integer count of minor units (cents)");
  return {
    baseUrl,
    credentials,
    accounts: { fromAccountId: need("from"), toAccountNumber: need("to-number"), amount: { currency: flag("currency") ?? "USD", minorUnits: BigInt(amountMinor) } },
    ...(flag("grpc-target") ? { grpcTarget: flag("grpc-target") } : {}),
  };
}

export const CLI_USAGE =
  "usage: npx tsx examples/<caller>.ts --base-url http://127.0.0.1:8080 --service-account SERVICE_ACCOUNT_ID --key-file service.key.jwk --from SOURCE_ACCOUNT_ID --to-number TARGET_ACCOUNT_NUMBER --amount-minor 1234 [--currency USD] [--grpc-target 127.0.0.1:8081 (grpc-js-caller: bankd's gRPC port)]";

export type { ServiceCredentials };

/** The transfer both example callers make. */
export interface TransferAccounts {
  fromAccountId: string;
  toAccountNumber: string;
  amount: { currency: string; minorUnits: bigint };
  description?: string;
}
