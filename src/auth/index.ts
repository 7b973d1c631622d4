// The auth domain's public face for other domains: what they may ask of it. The module that
// builds it (key ring, hasher, tokens, interceptor, routes) is wired in src/modules.ts.
import type { Tx } from "../db/database";

export interface AuthSessions {
  /** Ends the user's live sessions (all, or all but one) in `tx`. After commit their access
   * tokens stop at once in this process, and within limits.sessionRecheckMs in others.
   * Returns the ids of the sessions ended. */
  revokeUserSessions(tx: Tx, userId: string, reason: string, opts?: { exceptSessionId?: string }): Promise<string[]>;
}
