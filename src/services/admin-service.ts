// bank.v1.AdminService: user administration. The auth interceptor admits only the roles the
// contract lists (ListUsers: AUDITOR, ADMIN; the rest: ADMIN); the rules live in src/admin.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { callInfo } from "../context";
import {
  AdminService,
  DisableUserResponseSchema,
  EnableUserResponseSchema,
  ListUsersResponseSchema,
  ResetSecondFactorResponseSchema,
  SetUserRolesResponseSchema,
} from "../../gen/bank/v1/admin_service_pb";
import { disableUser, enableUser, listUsers, resetSecondFactor, setUserRoles, type AdminDeps } from "../admin/users";
import { userToMessage } from "./mapping/users";

export function adminRoutes(deps: AdminDeps): (router: ConnectRouter) => void {
  return (router) => router.service(AdminService, adminServiceImpl(deps));
}

export function adminServiceImpl(deps: AdminDeps): ServiceImpl<typeof AdminService> {
  return {
    async listUsers(req) {
      const page = await listUsers(deps.db, { emailPrefix: req.emailPrefix, pageSize: req.pageSize, pageToken: req.pageToken });
      return create(ListUsersResponseSchema, { users: page.rows.map(userToMessage), nextPageToken: page.nextPageToken });
    },
    async setUserRoles(req, ctx) {
      const user = await setUserRoles(deps, callInfo(ctx), req.userId, req.roles);
      return create(SetUserRolesResponseSchema, { user: userToMessage(user) });
    },
    async disableUser(req, ctx) {
      const user = await disableUser(deps, callInfo(ctx), req.userId);
      return create(DisableUserResponseSchema, { user: userToMessage(user) });
    },
    async enableUser(req, ctx) {
      const user = await enableUser(deps, callInfo(ctx), req.userId);
      return create(EnableUserResponseSchema, { user: userToMessage(user) });
    },
    async resetSecondFactor(req, ctx) {
      const user = await resetSecondFactor(deps, callInfo(ctx), req.userId, req.reason);
      return create(ResetSecondFactorResponseSchema, { user: userToMessage(user) });
    },
    // Issue 27, being built: answered UNIMPLEMENTED until their domain code lands.
    createServiceAccount: notYet,
    listServiceAccounts: notYet,
    disableServiceAccount: notYet,
    addServiceAccountKey: notYet,
    revokeServiceAccountKey: notYet,
  };
}

function notYet(): never {
  throw new ConnectError("not implemented yet", Code.Unimplemented);
}
