// Who is calling and what the call carries, as the domain sees it: set by the transport's
// observe and auth interceptors (src/transport/context.ts), read by handlers and domain code.
// Nothing here knows the wire.
import type { Role } from "./roles";
import { CallAbortedError } from "./db/errors";

export interface Principal {
  userId: string;
  sessionId: string;
  roles: readonly Role[];
  /** The access token's id (jti). */
  tokenId: string;
  /** "service" for a service account's token (userId is then the service account's id). */
  subjectType?: "user" | "service";
  /** A staff user's token before a second factor is enrolled (see src/transport/auth-interceptor.ts). */
  enrolmentOnly?: boolean;
  /** A service account's allow-list: when either list is non-empty, it may act only on
   * accounts of these owners or these accounts (src/ledger/access.ts). */
  scope?: ServiceScope;
}

export interface ServiceScope {
  ownerIds: readonly string[];
  accountIds: readonly string[];
}

export interface CallInfo {
  requestId: string;
  clientAddress: string;
  userAgent: string;
  /** "bank.v1.AccountService/GetAccount" */
  procedure: string;
  principal?: Principal;
  /** The call's abort signal (its deadline, the client going away, the drain). Work that
   * commits for the caller passes it to the unit of work: not started once it has fired, rolled
   * back if it fires before COMMIT (issue 13). */
  signal?: AbortSignal;
  /** Set with the principal: throws UNAUTHENTICATED once the caller's session has ended (signed
   * out, revoked, password changed, user disabled). Long streams call it from time to time. */
  checkSession?: () => Promise<void>;
}

/** Throws the call's end (DEADLINE_EXCEEDED or CANCELED) once its signal has fired: for work
 * that is expensive before any unit of work starts (argon2). */
export function stopIfEnded(info: CallInfo): void {
  if (info.signal?.aborted) throw new CallAbortedError(info.signal.reason);
}
