// Roles as stored in users.roles: comma-separated names without the ROLE_ prefix, sorted and
// without duplicates ("CUSTOMER,ADMIN" is read back as [CUSTOMER, ADMIN]).
import { Role } from "../../gen/bank/v1/access_pb";

const GRANTABLE: readonly Role[] = [Role.CUSTOMER, Role.TELLER, Role.AUDITOR, Role.ADMIN];

export function rolesToColumn(roles: readonly Role[]): string {
  const unique = [...new Set(roles)].sort((a, b) => a - b);
  for (const role of unique) {
    if (!GRANTABLE.includes(role)) throw new Error(`role ${String(role)} cannot be granted`);
  }
  return unique.map((role) => Role[role]).join(",");
}

export function rolesFromColumn(column: string): Role[] {
  const roles: Role[] = [];
  for (const name of column.split(",")) {
    if (name === "") continue;
    const role = roleFromName(name);
    // A name we do not know means the row was written by something else: never guess.
    if (role === undefined) throw new Error(`unknown role ${JSON.stringify(name)} in users.roles`);
    roles.push(role);
  }
  return roles;
}

/** "customer", "ADMIN", "ROLE_TELLER" -> the Role; undefined for anything else. */
export function roleFromName(name: string): Role | undefined {
  const upper = name.trim().toUpperCase().replace(/^ROLE_/, "");
  const role = (Role as unknown as Record<string, Role | undefined>)[upper];
  return role !== undefined && GRANTABLE.includes(role) ? role : undefined;
}
