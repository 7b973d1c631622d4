// bank.v1.AdminService: user administration. The auth interceptor admits only the roles the
// contract lists (ListUsers: AUDITOR, ADMIN; the rest: ADMIN); the rules live in src/admin.
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { callInfo } from "../transport/context";
import {
  AdminService,
  DisableUserResponseSchema,
  EnableUserResponseSchema,
  ListUsersResponseSchema,
  ResetSecondFactorResponseSchema,
  SetUserRolesResponseSchema,
} from "../../gen/bank/v1/admin_service_pb";
import { disableUser, enableUser, listUsers, resetSecondFactor, setUserRoles, type AdminDeps } from "../admin/users";
import { serviceAccountToMessage, userToMessage } from "./mapping/users";
import { addServiceAccountKey, createServiceAccount, disableServiceAccount, listServiceAccounts, revokeServiceAccountKey, type ServiceAccountAdminDeps } from "../admin/service-accounts";
import { rolesFromProto } from "./mapping/roles";

export type AdminServiceDeps = AdminDeps & { serviceAccounts: ServiceAccountAdminDeps };

export function adminRoutes(deps: AdminServiceDeps): (router: ConnectRouter) => void {
  return (router) => router.service(AdminService, adminServiceImpl(deps));
}

export function adminServiceImpl(deps: AdminServiceDeps): ServiceImpl<typeof AdminService> {
  return {
    async listUsers(req) {
      const page = await listUsers(deps.db, { emailPrefix: req.emailPrefix, pageSize: req.pageSize, pageToken: req.pageToken });
      return create(ListUsersResponseSchema, { users: page.rows.map(userToMessage), nextPageToken: page.nextPageToken });
    },
    async setUserRoles(req, ctx) {
      const user = await setUserRoles(deps, callInfo(ctx), req.userId, rolesFromProto(req.roles));
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
    async createServiceAccount(req, ctx) {
      const view = await createServiceAccount(deps.serviceAccounts, { info: callInfo(ctx) }, {
        name: req.name,
        roles: rolesFromProto(req.roles),
        allowedOwnerIds: req.allowedOwnerIds,
        allowedAccountIds: req.allowedAccountIds,
        publicKey: req.publicKey,
      });
      return { serviceAccount: serviceAccountToMessage(view) };
    },
    async listServiceAccounts(req) {
      const page = await listServiceAccounts(deps.db, { pageSize: req.pageSize, pageToken: req.pageToken });
      return { serviceAccounts: page.rows.map(serviceAccountToMessage), nextPageToken: page.nextPageToken };
    },
    async disableServiceAccount(req, ctx) {
      return { serviceAccount: serviceAccountToMessage(await disableServiceAccount(deps.serviceAccounts, callInfo(ctx), req.serviceAccountId, req.reason)) };
    },
    async addServiceAccountKey(req, ctx) {
      return { serviceAccount: serviceAccountToMessage(await addServiceAccountKey(deps.serviceAccounts, callInfo(ctx), req.serviceAccountId, req.publicKey)) };
    },
    async revokeServiceAccountKey(req, ctx) {
      return { serviceAccount: serviceAccountToMessage(await revokeServiceAccountKey(deps.serviceAccounts, callInfo(ctx), req.serviceAccountId, req.keyId)) };
    },
  };
}
