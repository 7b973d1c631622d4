// The roles, in the domain's words: who a principal is to the bank. The values are the
// contract's (bank.v1.Role numbers) so that the edge maps them one to one; the domain never
// imports the generated enum (test/foundation/roles.test.ts keeps the two equal).
export const Role = {
  CUSTOMER: 1,
  TELLER: 2,
  AUDITOR: 3,
  ADMIN: 4,
  PAYMENT_SERVICE: 5,
} as const;

export type Role = (typeof Role)[keyof typeof Role];

const NAMES = new Map<number, string>(Object.entries(Role).map(([name, value]) => [value, name]));

/** The role's name as stored and carried in tokens ("ADMIN"). */
export function roleName(role: Role): string {
  return NAMES.get(role)!;
}

/** The role named `upper` ("ADMIN"), or undefined. */
export function roleNamed(upper: string): Role | undefined {
  return Object.hasOwn(Role, upper) ? Role[upper as keyof typeof Role] : undefined;
}
