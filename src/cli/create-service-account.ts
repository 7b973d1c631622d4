// `bankd create-service-account --name NAME --role ROLE [--role ROLE ...] --public-key-file FILE
// [--allowed-owner USER_ID ...] [--allowed-account ACCOUNT_ID ...]`: registers an internal
// service's public key as a service account (the same checks and audit event as
// AdminService.CreateServiceAccount, with actor "system" from "cli") and prints its id. The
// private key stays with the service (examples/service-key.ts makes a pair).
import * as fs from "node:fs";
import type { Config } from "../config";
import { Database } from "../db/database";
import { DomainError } from "../errors";
import { limits } from "../limits";
import type { Role } from "../roles";
import { roleFromName, SERVICE_ROLES } from "../auth/roles";
import { createServiceAccount } from "../admin/service-accounts";
import { parseOptions } from "./args";

export const CREATE_SERVICE_ACCOUNT_USAGE =
  "usage: bankd create-service-account --name NAME --role ROLE [--role ROLE ...] --public-key-file FILE [--allowed-owner USER_ID ...] [--allowed-account ACCOUNT_ID ...] (ROLE: ROLE_PAYMENT_SERVICE, ROLE_TELLER or ROLE_AUDITOR; payment_service, teller, auditor also work)";

interface Args {
  name: string;
  roles: Role[];
  publicKeyFile: string;
  allowedOwnerIds: string[];
  allowedAccountIds: string[];
}

export function parseCreateServiceAccountArgs(argv: string[]): Args {
  const values = parseOptions(argv, {
    name: { type: "string" },
    role: { type: "string", multiple: true },
    "public-key-file": { type: "string" },
    "allowed-owner": { type: "string", multiple: true },
    "allowed-account": { type: "string", multiple: true },
  });
  if (!values.name) throw new Error("--name is required");
  if (!values["public-key-file"]) throw new Error("--public-key-file is required (the service's Ed25519 public key, PEM or JWK)");
  const roles = (values.role ?? []).map((name) => {
    const role = roleFromName(name, SERVICE_ROLES);
    if (role === undefined) throw new Error(`unknown role ${JSON.stringify(name)} for a service account`);
    return role;
  });
  if (roles.length === 0) throw new Error("at least one --role is required");
  return { name: values.name, roles, publicKeyFile: values["public-key-file"], allowedOwnerIds: values["allowed-owner"] ?? [], allowedAccountIds: values["allowed-account"] ?? [] };
}

export async function createServiceAccountCommand(config: Readonly<Config>, argv: string[]): Promise<number> {
  let args: Args;
  let publicKey: string;
  try {
    args = parseCreateServiceAccountArgs(argv);
    const size = fs.statSync(args.publicKeyFile).size;
    if (size > limits.serviceAccountPublicKeyCharsMax) throw new Error(`${args.publicKeyFile} is larger than ${limits.serviceAccountPublicKeyCharsMax} bytes: not a public key`);
    publicKey = fs.readFileSync(args.publicKeyFile, "utf8");
  } catch (err) {
    console.error(`bankd: create-service-account: ${(err as Error).message}\n${CREATE_SERVICE_ACCOUNT_USAGE}`);
    return 2;
  }
  const db = await Database.open(config.database);
  try {
    await db.migrate();
    // The CLI runs beside no server: there are no live tokens in this process to stop.
    const view = await createServiceAccount({ db, markRevoked: () => undefined }, { cli: true }, { ...args, publicKey });
    console.log(view.account.id);
    return 0;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    console.error(`bankd: create-service-account: ${err.message} (${err.reason})`);
    return 1;
  } finally {
    await db.close();
  }
}
