// What every handler knows about the call it serves (src/call-info.ts), set by the observe
// interceptor and the auth interceptor, read through Connect's context values.
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { CallInfo } from "../call-info";

export const callInfoKey = createContextKey<CallInfo | undefined>(undefined, { description: "bankd call info" });

/** The call's info; set for every call by the observe interceptor. */
export function callInfo(ctx: HandlerContext): CallInfo {
  const info = ctx.values.get(callInfoKey);
  if (!info) throw new Error("call info missing: observe interceptor not installed");
  return info;
}

