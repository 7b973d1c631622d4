// The auth domain's public face for other domains: what they may ask of it. The module that
// builds it (key ring, hasher, tokens, interceptor, routes) is wired in src/modules.ts.
import type { Tx } from "../db/database";

export interface AuthSessions {
  /** Ends the user's live sessions (all, or all but one) in `tx`. After commit their access
   * tokens stop at once in this process, and within limits.sessionRecheckMs in others.
   * Returns the ids of the sessions ended. */
  revokeUserSessions(tx: Tx, userId: string, reason: string, opts?: { exceptSessionId?: string }): Promise<string[]>;
  /** Makes the sessions' access tokens stop at once in this process (a service account's
   * sessions, ended by disabling it or revoking its key: other processes see it at their next
   * session check). */
  markRevoked(sessionIds: readonly string[]): void;
}
