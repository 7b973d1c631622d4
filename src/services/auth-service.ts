// bank.v1.AuthService: thin Connect handlers over the auth domain (src/auth).
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { callInfo } from "../transport/context";
import type { Principal } from "../call-info";
import { unauthenticated } from "../errors";
import type { AuthDeps } from "../auth/deps";
import { changePassword, currentUser, listSessions, logout, register, revokeSession } from "../auth/self-service";
import { login, refreshTokens } from "../auth/sign-in";
import { issueServiceToken } from "../auth/service-accounts";
import { confirmTotp, enrollTotp } from "../auth/totp-enrolment";
import { sessionToMessage, signedIn, userToMessage } from "./mapping/users";
import { rolesToProto } from "./mapping/roles";

export function authServiceRoutes(deps: AuthDeps): (router: ConnectRouter) => void {
  return (router) => router.service(AuthService, authServiceImpl(deps));
}

export function authServiceImpl(deps: AuthDeps): ServiceImpl<typeof AuthService> {
  return {
    register: async (req, ctx) => ({ user: userToMessage(await register(deps, callInfo(ctx), req)) }),
    login: async (req, ctx) => signedIn(await login(deps, callInfo(ctx), req)),
    refreshToken: async (req, ctx) => signedIn(await refreshTokens(deps, callInfo(ctx), req.refreshToken)),
    logout: async (req, ctx) => {
      await logout(deps, callInfo(ctx), principal(ctx), req.refreshToken);
      return {};
    },
    getCurrentUser: async (_req, ctx) => ({ user: userToMessage(await currentUser(deps, principal(ctx))) }),
    changePassword: async (req, ctx) => {
      await changePassword(deps, callInfo(ctx), principal(ctx), req);
      return {};
    },
    listSessions: async (req, ctx) => {
      const caller = principal(ctx);
      const page = await listSessions(deps, caller, req);
      return { sessions: page.sessions.map((s) => sessionToMessage(s, caller)), nextPageToken: page.nextPageToken };
    },
    revokeSession: async (req, ctx) => {
      await revokeSession(deps, callInfo(ctx), principal(ctx), req.sessionId);
      return {};
    },
    introspectToken: async (req) => {
      const found = await deps.authenticator.introspect(req.token);
      if (!found) return { active: false };
      const { principal: p, expireMs } = found;
      return {
        active: true,
        userId: p.userId,
        roles: rolesToProto(p.roles),
        sessionId: p.sessionId,
        expireTime: timestampFromMs(expireMs),
        serviceAccount: p.subjectType === "service",
        secondFactorEnrolmentOnly: p.enrolmentOnly === true,
      };
    },
    getJwks: async () => ({ keysJson: deps.keys.jwksJson() }),
    issueServiceToken: async (req, ctx) => {
      const issued = await issueServiceToken(deps, callInfo(ctx), req.assertion);
      return { accessToken: issued.accessToken, expireTime: timestampFromMs(issued.expireMs), serviceAccountId: issued.serviceAccountId };
    },
    enrollTotp: async (_req, ctx) => {
      const e = await enrollTotp(deps, callInfo(ctx), principal(ctx));
      return { otpauthUri: e.otpauthUri, secret: e.secret, enrolmentId: e.enrolmentId, expireTime: timestampFromMs(e.expireMs) };
    },
    confirmTotp: async (req, ctx) => {
      const c = await confirmTotp(deps, callInfo(ctx), principal(ctx), { enrolmentId: req.enrolmentId, code: req.code });
      const s = c.signedIn;
      return {
        recoveryCodes: c.recoveryCodes,
        user: userToMessage(c.user),
        ...(s ? { accessToken: s.accessToken, refreshToken: s.refresh.token, accessTokenExpireTime: timestampFromMs(s.accessExpireMs), refreshTokenExpireTime: timestampFromMs(s.refresh.expireMs) } : {}),
      };
    },
  };
}

/** The interceptor guarantees a principal on non-public methods; this is the assertion. */
function principal(ctx: HandlerContext): Principal {
  const p = callInfo(ctx).principal;
  if (!p) throw unauthenticated("TOKEN_MISSING", "This method needs an access token.");
  return p;
}
