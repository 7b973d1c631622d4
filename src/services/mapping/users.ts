// Auth and admin domain <-> bank.v1 mapping: users, sessions, sign-in results.
import { ServiceAccountSchema, type ServiceAccount as ServiceAccountMessage } from "../../../gen/bank/v1/service_account_pb";
import type { ServiceAccountView } from "../../admin/service-accounts";
import { idsFromColumn, serviceRolesOf } from "../../auth/service-keys";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { SessionSchema, UserSchema, type User as UserMessage } from "../../../gen/bank/v1/user_pb";
import type { Principal } from "../../call-info";
import type { UserEntity } from "../../db/entities";
import { rolesFromColumn } from "../../auth/roles";
import { rolesToProto } from "./roles";
import type { SessionRow } from "../../auth/sessions";
import type { SignedIn } from "../../auth/sign-in";
import { isDisabled } from "../../auth/users";

/** The wire form of a user. */
export function userToMessage(user: Pick<UserEntity, "id" | "email" | "fullName" | "roles" | "disabled" | "createTime"> & Partial<Pick<UserEntity, "totpConfirmTime">>): UserMessage {
  return create(UserSchema, {
    id: user.id,
    email: user.email,
    fullName: user.fullName,
    roles: rolesToProto(rolesFromColumn(user.roles)),
    createTime: timestampFromMs(user.createTime),
    disabled: isDisabled(user),
    secondFactorEnrolled: user.totpConfirmTime !== null && user.totpConfirmTime !== undefined,
  });
}

export function signedIn(s: SignedIn) {
  return {
    accessToken: s.accessToken,
    refreshToken: s.refresh.token,
    accessTokenExpireTime: timestampFromMs(s.accessExpireMs),
    refreshTokenExpireTime: timestampFromMs(s.refresh.expireMs),
    user: userToMessage(s.user),
    secondFactorEnrolmentRequired: s.enrolmentOnly,
  };
}

export function sessionToMessage(row: SessionRow, caller: Principal) {
  return create(SessionSchema, {
    id: row.id,
    createTime: timestampFromMs(Number(row.create_time)),
    lastUsedTime: timestampFromMs(Number(row.last_used_time)),
    userAgent: row.user_agent,
    clientAddress: row.client_address,
    current: row.id === caller.sessionId,
  });
}

/** A service account as admins and auditors see it: never a private key (bankd has none). */
export function serviceAccountToMessage(view: ServiceAccountView): ServiceAccountMessage {
  const { account, keys } = view;
  return create(ServiceAccountSchema, {
    id: account.id,
    name: account.name,
    roles: rolesToProto(serviceRolesOf(account)),
    allowedOwnerIds: idsFromColumn(account.allowedOwnerIds),
    allowedAccountIds: idsFromColumn(account.allowedAccountIds),
    keys: keys.map((k) => ({
      keyId: k.keyId,
      publicKeyJwk: k.publicJwk,
      createTime: timestampFromMs(k.createTime),
      revokeTime: k.revokeTime === null ? undefined : timestampFromMs(k.revokeTime),
    })),
    disabled: account.disabled !== 0,
    disableReason: account.disableReason ?? "",
    createTime: timestampFromMs(account.createTime),
    creatorId: account.creatorId,
  });
}
