// The console's clients: Connect protocol (JSON) over fetch, to the origin that served the page.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import type { LoginResponse } from "../../gen/bank/v1/auth_service_pb";
import { reasonOf } from "./errors";
import { TokenKeeper, type TokenSet } from "./session";

/** Methods called without a bearer token (RefreshToken must not wait for a refresh). */
const PUBLIC_METHODS = new Set(["Register", "Login", "RefreshToken"]);

export interface Api {
  auth: Client<typeof AuthService>;
  accounts: Client<typeof AccountService>;
  transactions: Client<typeof TransactionService>;
  admin: Client<typeof AdminService>;
  audit: Client<typeof AuditService>;
  session: TokenKeeper;
}

export function createApi(baseUrl: string, onSessionEnded: (err: unknown) => void): Api {
  let session: TokenKeeper | undefined;
  const bearer: Interceptor = (next) => async (req) => {
    if (PUBLIC_METHODS.has(req.method.name) || !session) return next(req);
    const keeper = session;
    const token = await keeper.accessToken();
    if (token) req.header.set("authorization", `Bearer ${token}`);
    // The session was revoked elsewhere (another device, a password change, an admin): the
    // console is signed out rather than left showing data it can no longer load. A wrong
    // current password (ChangePassword's INVALID_CREDENTIALS) is an answer about what the person
    // typed, not about the session.
    const ended = (err: unknown) => {
      if (token && keeper.signedIn && err instanceof ConnectError && err.code === Code.Unauthenticated && reasonOf(err) !== "INVALID_CREDENTIALS") {
        keeper.clear();
        onSessionEnded(err);
      }
    };
    try {
      const res = await next(req);
      // A stream's refusal comes while its messages are read, not as the response.
      return res.stream ? { ...res, message: watchErrors(res.message, ended) } : res;
    } catch (err) {
      ended(err);
      throw err;
    }
  };
  const transport = createConnectTransport({ baseUrl, interceptors: [bearer] });
  const auth = createClient(AuthService, transport);
  session = new TokenKeeper(async (refreshToken) => tokenSet(await auth.refreshToken({ refreshToken })), onSessionEnded);
  return {
    auth,
    accounts: createClient(AccountService, transport),
    transactions: createClient(TransactionService, transport),
    admin: createClient(AdminService, transport),
    audit: createClient(AuditService, transport),
    session,
  };
}

async function* watchErrors<T>(messages: AsyncIterable<T>, onError: (err: unknown) => void): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    onError(err);
    throw err;
  }
}

/** The tokens of a Login or RefreshToken response. */
export function tokenSet(res: Pick<LoginResponse, "accessToken" | "refreshToken" | "accessTokenExpireTime">): TokenSet {
  if (!res.accessTokenExpireTime) throw new Error("the server sent no access_token_expire_time");
  return { accessToken: res.accessToken, refreshToken: res.refreshToken, accessExpireMs: timestampMs(res.accessTokenExpireTime) };
}
