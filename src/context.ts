// What every handler knows about the call it serves, set by the observe interceptor and the
// auth interceptor, read through Connect's context values.
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Role } from "../gen/bank/v1/access_pb";

export interface Principal {
  userId: string;
  sessionId: string;
  roles: readonly Role[];
  /** The access token's id (jti). */
  tokenId: string;
}

export interface CallInfo {
  requestId: string;
  clientAddress: string;
  userAgent: string;
  /** "bank.v1.AccountService/GetAccount" */
  procedure: string;
  principal?: Principal;
}

export const callInfoKey = createContextKey<CallInfo | undefined>(undefined, { description: "bankd call info" });

/** The call's info; set for every call by the observe interceptor. */
export function callInfo(ctx: HandlerContext): CallInfo {
  const info = ctx.values.get(callInfoKey);
  if (!info) throw new Error("call info missing: observe interceptor not installed");
  return info;
}

