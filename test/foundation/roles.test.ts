// Goal (issue 30): the domain's roles (src/roles.ts) import nothing of the contract, and the edge
// (src/services/mapping/roles.ts) maps them to bank.v1.Role and back by name, one to one. The
// hostile side: ROLE_UNSPECIFIED and numbers the contract does not define map to nothing, which
// the domain refuses where roles are granted.
import { Role as ProtoRole } from "../../gen/bank/v1/access_pb";
import { Role, roleName } from "../../src/roles";
import { roleFromProto, roleToProto } from "../../src/services/mapping/roles";

test("every role of the contract but UNSPECIFIED is a domain role of the same name, and back", () => {
  const contract = Object.values(ProtoRole).filter((v): v is ProtoRole => typeof v === "number" && v !== ProtoRole.UNSPECIFIED);
  expect(contract.map((p) => roleName(roleFromProto(p)!))).toEqual(contract.map((p) => ProtoRole[p]));
  expect(contract.map((p) => roleToProto(roleFromProto(p)!))).toEqual(contract);
  expect(Object.values(Role).map((r) => roleFromProto(roleToProto(r)))).toEqual(Object.values(Role));
  // The numbers agree too: users.roles columns are sorted by them, as before the domain had its own.
  expect(Object.values(Role).map((r) => roleToProto(r) === (r as number))).toEqual(Object.values(Role).map(() => true));
});

test("ROLE_UNSPECIFIED and undefined numbers map to no role", () => {
  expect(roleFromProto(ProtoRole.UNSPECIFIED)).toBeUndefined();
  expect(roleFromProto(99 as ProtoRole)).toBeUndefined();
});
