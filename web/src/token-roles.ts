// The roles an access token carries (its `roles` claim: ["CUSTOMER", "ADMIN"]), read without
// verifying the signature: the console only uses them to decide which forms to show, and the
// server checks the same token on every call. Reading them from the token rather than from the
// Login response keeps the views right after a refresh that changed the person's roles.
import { Role } from "../../gen/bank/v1/access_pb";

const ROLE_NAMES: Readonly<Record<string, Role>> = {
  CUSTOMER: Role.CUSTOMER,
  TELLER: Role.TELLER,
  AUDITOR: Role.AUDITOR,
  ADMIN: Role.ADMIN,
};

/** The roles of a JWT access token, or undefined when it is not one we can read. */
export function rolesFromToken(token: string): Role[] | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(decodeBase64Url(payload));
  } catch {
    return undefined;
  }
  const names = (claims as { roles?: unknown } | null)?.roles;
  if (!Array.isArray(names)) return undefined;
  const roles: Role[] = [];
  for (const name of names) {
    const role = typeof name === "string" ? ROLE_NAMES[name.toUpperCase().replace(/^ROLE_/, "")] : undefined;
    // An unknown name grants nothing here; the server decides what it means.
    if (role !== undefined && !roles.includes(role)) roles.push(role);
  }
  return roles;
}

function decodeBase64Url(text: string): string {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
