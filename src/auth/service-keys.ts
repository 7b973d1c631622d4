// Service account keys and sessions (issue 27): parsing a public key an admin registers, and
// what a live service session allows (read by the authenticator at every session check).
import { createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import type { ServiceScope } from "../call-info";
import type { Tx } from "../db/database";
import { ServiceAccount, ServiceAccountKey, ServiceSession, type ServiceAccountEntity, type ServiceAccountKeyEntity } from "../db/entities";
import { invalidArgument } from "../errors";
import { limits } from "../limits";
import type { Role } from "../roles";
import { rolesFromColumn, SERVICE_ROLES } from "./roles";

/** An Ed25519 public key as stored: the JWK's public members only, and its thumbprint. */
export interface ParsedPublicKey {
  keyId: string;
  jwk: { kty: "OKP"; crv: "Ed25519"; x: string };
}

/** A public key given as a JWK (JSON) or a PEM "PUBLIC KEY": Ed25519 only; a private key is
 * refused (it must never leave the service). INVALID_ARGUMENT with the field otherwise. */
export async function parsePublicKey(text: string, field = "public_key"): Promise<ParsedPublicKey> {
  const bad = (reason: string, message: string) => invalidArgument(reason, message, { field });
  const input = text.trim();
  if (input === "") throw bad("PUBLIC_KEY_REQUIRED", `${field} is required: an Ed25519 public key as a JWK or a PEM "PUBLIC KEY".`);
  if (input.length > limits.serviceAccountPublicKeyCharsMax) throw bad("PUBLIC_KEY_TOO_LONG", `${field} must be at most ${limits.serviceAccountPublicKeyCharsMax} characters.`);
  if (/PRIVATE KEY-----/.test(input) || /"d"\s*:/.test(input)) {
    throw bad("PRIVATE_KEY_SENT", `${field} holds a private key: send only the public key; the private key never leaves the service.`);
  }
  let key: KeyObject;
  try {
    key = input.startsWith("{") ? createPublicKey({ key: JSON.parse(input) as JsonWebKey, format: "jwk" }) : createPublicKey({ key: input, format: "pem" });
  } catch {
    throw bad("PUBLIC_KEY_INVALID", `${field} is not a readable public key (a JWK as JSON, or a PEM "-----BEGIN PUBLIC KEY-----" block).`);
  }
  if (key.type !== "public" || key.asymmetricKeyType !== "ed25519") {
    throw bad("PUBLIC_KEY_NOT_ED25519", `${field} must be an Ed25519 key (got ${key.asymmetricKeyType ?? key.type}).`);
  }
  const exported = key.export({ format: "jwk" }) as JWK;
  const jwk = { kty: "OKP" as const, crv: "Ed25519" as const, x: String(exported.x) };
  return { keyId: await calculateJwkThumbprint(jwk, "sha256"), jwk };
}

/** The account's allow-list as the principal carries it. */
export function scopeOf(account: Pick<ServiceAccountEntity, "allowedOwnerIds" | "allowedAccountIds">): ServiceScope {
  return { ownerIds: idsFromColumn(account.allowedOwnerIds), accountIds: idsFromColumn(account.allowedAccountIds) };
}

export function idsFromColumn(column: string): string[] {
  return column === "" ? [] : column.split(",");
}

export function serviceRolesOf(account: Pick<ServiceAccountEntity, "roles">): Role[] {
  return rolesFromColumn(account.roles, SERVICE_ROLES);
}

export function isActiveKey(key: Pick<ServiceAccountKeyEntity, "revokeTime">): boolean {
  return key.revokeTime === null;
}

/** What a live service session lets its token do; undefined once it has ended (account
 * disabled, key revoked, or expired). Read at every session check of a service token. */
export async function serviceSessionState(tx: Tx, sessionId: string, serviceAccountId: string, nowMs: number): Promise<{ scope: ServiceScope } | undefined> {
  const session = await tx.em.findOne(ServiceSession, { id: sessionId, serviceAccountId }, { disableIdentityMap: true });
  if (!session || session.expireTime <= nowMs) return undefined;
  const [account, key] = await Promise.all([
    tx.em.findOne(ServiceAccount, { id: serviceAccountId }, { disableIdentityMap: true }),
    tx.em.findOne(ServiceAccountKey, { keyId: session.keyId }, { disableIdentityMap: true }),
  ]);
  if (!account || account.disabled !== 0 || !key || !isActiveKey(key)) return undefined;
  return { scope: scopeOf(account) };
}

