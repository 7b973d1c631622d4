// Roles as stored in users.roles: comma-separated names without the ROLE_ prefix, sorted and
// without duplicates ("CUSTOMER,ADMIN" is read back as [CUSTOMER, ADMIN]).
import { Role, roleName, roleNamed } from "../roles";

/** The roles a user (a person) may hold. */
export const USER_ROLES: readonly Role[] = [Role.CUSTOMER, Role.TELLER, Role.AUDITOR, Role.ADMIN];
/** The roles a service account may hold (issue 27): never CUSTOMER (it owns no accounts) nor
 * ADMIN (administration is for people, behind a second factor). */
export const SERVICE_ROLES: readonly Role[] = [Role.PAYMENT_SERVICE, Role.TELLER, Role.AUDITOR];
/** Every role a token may carry. */
const TOKEN_ROLES: readonly Role[] = [...USER_ROLES, Role.PAYMENT_SERVICE];

export function rolesToColumn(roles: readonly Role[], allowed: readonly Role[] = USER_ROLES): string {
  const unique = [...new Set(roles)].sort((a, b) => a - b);
  for (const role of unique) {
    if (!allowed.includes(role)) throw new Error(`role ${String(role)} cannot be granted`);
  }
  return unique.map(roleName).join(",");
}

export function rolesFromColumn(column: string, allowed: readonly Role[] = USER_ROLES): Role[] {
  const roles: Role[] = [];
  for (const name of column.split(",")) {
    if (name === "") continue;
    const role = roleFromName(name, allowed);
    // A name we do not know means the row was written by something else: never guess.
    if (role === undefined) throw new Error(`unknown role ${JSON.stringify(name)} in users.roles`);
    roles.push(role);
  }
  return roles;
}

/** "customer", "ADMIN", "ROLE_TELLER" -> the Role when `allowed` holds it (by default a
 * user's roles); undefined for anything else. */
export function roleFromName(name: string, allowed: readonly Role[] = USER_ROLES): Role | undefined {
  const upper = name.trim().toUpperCase().replace(/^ROLE_/, "");
  const role = roleNamed(upper);
  return role !== undefined && allowed.includes(role) ? role : undefined;
}

/** A role named in an access token: a user's or a service's. */
export function tokenRoleFromName(name: string): Role | undefined {
  return roleFromName(name, TOKEN_ROLES);
}
