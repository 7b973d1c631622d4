// Roles across the edge: the contract's bank.v1.Role and the domain's Role (src/roles.ts), mapped
// by name (ROLE_ADMIN <-> ADMIN), so that neither depends on the other's numbers.
import { Role as ProtoRole } from "../../../gen/bank/v1/access_pb";
import { roleName, roleNamed, type Role } from "../../roles";

/** The domain's role for a role of the contract; undefined for ROLE_UNSPECIFIED and for numbers
 * the contract does not define (the domain refuses those where roles are granted). */
export function roleFromProto(role: ProtoRole): Role | undefined {
  const name = ProtoRole[role] as string | undefined;
  return name === undefined || name === "UNSPECIFIED" ? undefined : roleNamed(name);
}

export function rolesFromProto(roles: readonly ProtoRole[]): (Role | undefined)[] {
  return roles.map(roleFromProto);
}

/** The contract's role for a role of the domain. */
export function roleToProto(role: Role): ProtoRole {
  return ProtoRole[roleName(role) as keyof typeof ProtoRole];
}

export function rolesToProto(roles: readonly Role[]): ProtoRole[] {
  return roles.map(roleToProto);
}
