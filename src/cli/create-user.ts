// `bankd create-user --email E --full-name N --role ROLE [--role ROLE] --password-stdin`:
// creates a user (staff, typically) with the same checks as Register, reading the password from
// stdin so that it never appears in the process list or shell history. Prints the new id.
import type { Config } from "../config";
import { Database } from "../db/database";
import { DomainError } from "../errors";
import { recordAudit } from "../audit/recorder";
import type { Role } from "../roles";
import { Argon2Hasher } from "../auth/passwords";
import { roleFromName } from "../auth/roles";
import { createUser } from "../auth/users";
import { parseOptions } from "./args";

const USAGE = "usage: bankd create-user --email EMAIL --full-name NAME --role ROLE [--role ROLE ...] --password-stdin (ROLE: ROLE_CUSTOMER, ROLE_TELLER, ROLE_AUDITOR or ROLE_ADMIN; customer, teller, auditor, admin also work)";

interface CreateUserArgs {
  email: string;
  fullName: string;
  roles: Role[];
}

export async function createUserCommand(config: Readonly<Config>, argv: string[], stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  let args: CreateUserArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    console.error(`bankd: create-user: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const password = stripNewline(await readAll(stdin));
  const db = await Database.open(config.database);
  try {
    await db.migrate();
    const hasher = new Argon2Hasher(config.argon2);
    const user = await db.transaction(async (tx) => {
      const row = await createUser(tx, { ...args, password }, hasher);
      await recordAudit(tx, { actorId: "system", action: "auth.register", targetId: row.id, outcome: "SUCCESS", clientAddress: "cli", requestId: "", details: { roles: row.roles, source: "cli" } });
      return row;
    });
    console.log(user.id);
    return 0;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    const what = err.reason === "EMAIL_TAKEN" ? `a user with email ${JSON.stringify(args.email.trim().toLowerCase())} already exists` : err.message;
    console.error(`bankd: create-user: ${what} (${err.reason})`);
    return 1;
  } finally {
    await db.close();
  }
}

export function parseArgs(argv: string[]): CreateUserArgs {
  const values = parseOptions(argv, {
    email: { type: "string" },
    "full-name": { type: "string" },
    role: { type: "string", multiple: true },
    "password-stdin": { type: "boolean" },
  });
  if (!values.email) throw new Error("--email is required");
  if (!values["full-name"]) throw new Error("--full-name is required");
  const roles = (values.role ?? []).map(parseRole);
  if (roles.length === 0) throw new Error("at least one --role is required");
  if (!values["password-stdin"]) throw new Error("--password-stdin is required (the password is read from stdin, never from the command line)");
  return { email: values.email, fullName: values["full-name"], roles };
}

/** A role as the docs and the API spell it: ROLE_ADMIN (any case), or admin. */
function parseRole(name: string): Role {
  const role = /^(role_)?[a-z]+$/i.test(name) ? roleFromName(name) : undefined;
  if (role === undefined) throw new Error(`unknown role ${JSON.stringify(name)}`);
  return role;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** `echo pw | bankd ...` adds one line ending; the password is everything before it. */
function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, "");
}
