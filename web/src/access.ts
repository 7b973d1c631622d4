// What the signed-in person may do, read from the contract itself: every bank.v1 method carries a
// `bank.v1.access` option (who may call it), and the generated descriptors include it. The console
// asks "may these roles call method X?" of that option instead of keeping its own role lists, so a
// change of access in proto/ changes the console with no edit here. The server enforces the same
// option; this only decides which forms to show.
import { getOption, hasOption, type DescMethod } from "@bufbuild/protobuf";
import { access, Role } from "../../gen/bank/v1/access_pb";

/** True when a caller holding `roles` passes the method's access option. A method without the
 * option is refused, as the server refuses it (deny by default). */
export function rolesMayCall(roles: readonly Role[], method: DescMethod): boolean {
  if (!hasOption(method, access)) return false;
  const rule = getOption(method, access);
  if (rule.public) return true;
  return rule.roles.some((role) => role !== Role.UNSPECIFIED && roles.includes(role));
}

export class Permissions {
  constructor(readonly roles: readonly Role[]) {}

  static none(): Permissions {
    return new Permissions([]);
  }

  may(method: DescMethod): boolean {
    return rolesMayCall(this.roles, method);
  }

  has(role: Role): boolean {
    return this.roles.includes(role);
  }

  /** Staff (teller, auditor, admin) see every account and user, not only their own. */
  get isStaff(): boolean {
    return this.roles.some((r) => r === Role.TELLER || r === Role.AUDITOR || r === Role.ADMIN);
  }
}
