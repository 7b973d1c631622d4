// Goal: access is declared in the contract and enforced from it. Every method of every bank.v1
// service carries the bank.v1.access option; the decision function allows public methods,
// requires a token and a listed role otherwise, and refuses a method without the option (deny
// by default), which a real server proves with an undeclared service. Health and reflection
// stay open; each PERMISSION_DENIED is audited.
import { create, createFileRegistry, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AccessSchema, Role } from "../../gen/bank/v1/access_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb";
import { bankServices } from "../../src/app";
import { callInfoKey } from "../../src/transport/context";
import type { Principal } from "../../src/call-info";
import { accessRule, bearerToken, decideAccess, isGoverned } from "../../src/transport/auth-interceptor";
import { engines } from "../support/db";
import { client } from "../support/app";
import { createTestUser } from "../support/users";
import { auditRows, authApi, expectError, startAuthApp, type AuthTestApp } from "./support";
import { roleFromProto } from "../../src/services/mapping/roles";

const principal = (...roles: Role[]): Principal => ({ userId: "u", sessionId: "s", tokenId: "t", roles: roles.map((r) => roleFromProto(r)!) });

/** A bank.v1 service built at run time whose one method has no access option. */
function undeclaredService(): DescService {
  const file = create(FileDescriptorProtoSchema, {
    name: "bank/v1/undeclared_for_test.proto",
    package: "bank.v1",
    syntax: "proto3",
    messageType: [{ name: "PingRequest" }],
    service: [{ name: "UndeclaredService", method: [{ name: "Ping", inputType: ".bank.v1.PingRequest", outputType: ".bank.v1.PingRequest" }] }],
  });
  const service = createFileRegistry(file, () => undefined).getService("bank.v1.UndeclaredService");
  if (!service) throw new Error("test service not built");
  return service;
}

describe("the contract declares access on every method", () => {
  const methods = bankServices.flatMap((s) => s.methods.map((m) => [`${s.typeName}/${m.name}`, m] as const));

  test("there are bank.v1 methods to check", () => {
    expect(bankServices.map((s) => s.typeName).sort()).toEqual(["bank.v1.AccountService", "bank.v1.AdminService", "bank.v1.AuditService", "bank.v1.AuthService", "bank.v1.TransactionService"]);
    expect(methods.length).toBeGreaterThan(20);
  });

  test.each(methods)("%s has the bank.v1.access option, public or with roles", (_name, method) => {
    const rule = accessRule(method);
    expect(rule).toBeDefined();
    expect(rule!.public || rule!.roles.some((r) => r !== Role.UNSPECIFIED)).toBe(true);
    expect(isGoverned(method)).toBe(true);
  });

  test("AuthService: Register, Login, RefreshToken, IntrospectToken, GetJwks, IssueServiceToken are public; the TOTP methods are staff's; the rest need any user role", () => {
    const auth = bankServices.find((s) => s.typeName === "bank.v1.AuthService")!;
    const publicNames = auth.methods.filter((m) => accessRule(m)!.public).map((m) => m.name).sort();
    expect(publicNames).toEqual(["GetJwks", "IntrospectToken", "IssueServiceToken", "Login", "RefreshToken", "Register"]);
    const staffOnly = ["ConfirmTotp", "EnrollTotp"];
    for (const m of auth.methods.filter((x) => !accessRule(x)!.public)) {
      const expected = staffOnly.includes(m.name) ? [Role.TELLER, Role.AUDITOR, Role.ADMIN] : [Role.CUSTOMER, Role.TELLER, Role.AUDITOR, Role.ADMIN];
      expect([...accessRule(m)!.roles].sort()).toEqual(expected);
    }
  });

  test("an enrolment-only token reaches exactly EnrollTotp, ConfirmTotp, GetCurrentUser and Logout", () => {
    const marked = bankServices.flatMap((s) => s.methods.filter((m) => accessRule(m)?.secondFactorEnrolment).map((m) => `${s.name}.${m.name}`)).sort();
    expect(marked).toEqual(["AuthService.ConfirmTotp", "AuthService.EnrollTotp", "AuthService.GetCurrentUser", "AuthService.Logout"]);
    const enrolling = { ...principal(Role.TELLER), enrolmentOnly: true };
    for (const s of bankServices) {
      for (const m of s.methods) {
        const rule = accessRule(m)!;
        if (rule.public) continue;
        // Unmarked methods refuse the token kind, whatever the roles; marked ones still need a listed role.
        const expected = !rule.secondFactorEnrolment ? "enrolment_required" : rule.roles.includes(Role.TELLER) ? "allow" : "role_not_allowed";
        expect([m.name, decideAccess(rule, enrolling)]).toEqual([m.name, expected]);
      }
    }
  });
});

describe("decideAccess", () => {
  const rule = (init: { public?: boolean; roles?: Role[] }) => create(AccessSchema, init);

  test("a method without the option is refused, whoever calls", () => {
    expect(decideAccess(undefined, undefined)).toBe("undeclared");
    expect(decideAccess(undefined, principal(Role.ADMIN))).toBe("undeclared");
  });

  test("a public method allows anyone", () => {
    expect(decideAccess(rule({ public: true }), undefined)).toBe("allow");
    expect(decideAccess(rule({ public: true, roles: [Role.ADMIN] }), principal(Role.CUSTOMER))).toBe("allow");
  });

  test("a role method needs a principal holding one of the roles", () => {
    const staff = rule({ roles: [Role.TELLER, Role.ADMIN] });
    expect(decideAccess(staff, undefined)).toBe("unauthenticated");
    expect(decideAccess(staff, principal(Role.CUSTOMER))).toBe("role_not_allowed");
    expect(decideAccess(staff, principal(Role.CUSTOMER, Role.TELLER))).toBe("allow");
    expect(decideAccess(staff, principal())).toBe("role_not_allowed");
  });

  test("an empty role list, or ROLE_UNSPECIFIED, grants nothing", () => {
    expect(decideAccess(rule({}), principal(Role.ADMIN))).toBe("role_not_allowed");
    expect(decideAccess(rule({ roles: [Role.UNSPECIFIED] }), principal(Role.UNSPECIFIED))).toBe("role_not_allowed");
  });

  test("only bank.v1 is governed: health and reflection are not", () => {
    expect(isGoverned(Health.methods[0]!)).toBe(false);
    expect(isGoverned(ServerReflection.methods[0]!)).toBe(false);
    expect(isGoverned(undeclaredService().methods[0]!)).toBe(true);
  });

  test("bearerToken reads only 'Bearer <token>'", () => {
    const h = (v?: string) => new Headers(v === undefined ? {} : { authorization: v });
    expect(bearerToken(h())).toBeUndefined();
    expect(bearerToken(h("Bearer abc.def.ghi"))).toBe("abc.def.ghi");
    expect(bearerToken(h("bearer abc"))).toBe("abc");
    expect(bearerToken(h("Basic dXNlcg=="))).toBe("");
    expect(bearerToken(h("Bearer"))).toBe("");
    expect(bearerToken(h("Bearer a b"))).toBe("");
  });
});

describe.each(engines())("enforcement through a real server on %s", (engine) => {
  const undeclared = undeclaredService();
  /** The principal the auth interceptor left for each GetJwks call (public). */
  const seenPrincipals: (Principal | undefined)[] = [];
  let t: AuthTestApp;
  beforeAll(async () => {
    const spy: Interceptor = (next) => async (req) => {
      if (req.method.name === "GetJwks") seenPrincipals.push(req.contextValues.get(callInfoKey)?.principal);
      return next(req);
    };
    t = await startAuthApp(engine, {}, [{ routes: (router) => router.service(undeclared, { ping: async () => ({}) } as never), interceptors: [spy] }]);
  });
  afterAll(async () => t.stop());

  test("a method without the access option is refused even for an admin, and audited", async () => {
    const admin = await createTestUser(t, [Role.ADMIN]);
    const transport = createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1", interceptors: [(next) => async (req) => (req.header.set("authorization", `Bearer ${admin.token}`), next(req))] });
    const ping = createClient(undeclared, transport) as unknown as { ping(req: object): Promise<unknown> };
    await expectError(ping.ping({}), Code.PermissionDenied, "METHOD_NOT_DECLARED");
    const rows = await auditRows(t, "auth.permission_denied");
    expect(rows.some((r) => r.target_id === "bank.v1.UndeclaredService/Ping" && r.actor_id === admin.id && r.outcome === "DENIED")).toBe(true);
  });

  test("a role method: no token UNAUTHENTICATED, wrong role PERMISSION_DENIED (audited), right role passes", async () => {
    await expectError(client(t.baseUrl, AdminService).setUserRoles({}), Code.Unauthenticated, "TOKEN_MISSING");
    const teller = await createTestUser(t, [Role.TELLER]);
    const err = await expectError(client(t.baseUrl, AdminService, { token: teller.token }).setUserRoles({ userId: teller.id, roles: [Role.ADMIN] }), Code.PermissionDenied, "ROLE_NOT_ALLOWED");
    expect(err.rawMessage).not.toContain(teller.id);
    const denied = (await auditRows(t, "auth.permission_denied")).filter((r) => r.actor_id === teller.id);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ target_id: "bank.v1.AdminService/SetUserRoles", outcome: "DENIED" });
    expect(JSON.parse(denied[0]!.details)).toEqual({ reason: "ROLE_NOT_ALLOWED" });
    // An auditor may list audit events: the interceptor lets the call through (to whatever
    // module serves it; in this auth-only app, UNIMPLEMENTED).
    const auditor = await createTestUser(t, [Role.AUDITOR]);
    await expectError(client(t.baseUrl, AuditService, { token: auditor.token }).listAuditEvents({}), Code.Unimplemented);
  });

  test("a public method ignores a bad token; a good one still sets the principal", async () => {
    const res = await authApi(t, "garbage.token.here").getJwks({});
    expect(JSON.parse(res.keysJson).keys).toHaveLength(1);
    const user = await createTestUser(t);
    await authApi(t, user.token).getJwks({});
    expect(seenPrincipals).toEqual([undefined, expect.objectContaining({ userId: user.id, roles: [Role.CUSTOMER] })]);
    await expectError(authApi(t, "garbage.token.here").login({ email: "nobody@example.test", password: "whatever-password-1" }), Code.Unauthenticated, "INVALID_CREDENTIALS");
  });

  test("health and reflection need no token", async () => {
    expect((await client(t.baseUrl, Health).check({ service: "" })).status).toBe(Status.SERVING);
    const reflection = client(t.baseUrl, ServerReflection, { protocol: "grpc" });
    async function* one() {
      yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
    }
    const names: string[] = [];
    for await (const res of reflection.serverReflectionInfo(one())) {
      if (res.messageResponse.case === "listServicesResponse") names.push(...res.messageResponse.value.service.map((s) => s.name));
    }
    expect(names).toContain("bank.v1.AuthService");
  });
});
