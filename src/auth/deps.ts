// What the auth domain functions share: built once by createAuthModule.
import type { AuditAggregator } from "../audit/aggregate";
import type { Database, Tx } from "../db/database";
import type { Logger } from "../logger";
import type { Argon2Hasher } from "./passwords";
import type { AccessTokens } from "./tokens";
import type { Authenticator } from "./authenticator";
import type { KeyRing } from "./keys";
import type { RegistrationLimits } from "./registration-limits";
import type { KeyedTurns } from "./turns";
import { revokeSessions } from "./sessions";

export interface AuthDeps {
  db: Database;
  logger: Logger;
  hasher: Argon2Hasher;
  tokens: AccessTokens;
  authenticator: Authenticator;
  keys: KeyRing;
  registrations: RegistrationLimits;
  /** Sign-in attempts take turns per account and address (attempts.ts). */
  attemptTurns: KeyedTurns;
  /** Refusals an attacker can repeat (throttled sign-ins, refused tokens, probes for other
   * users' sessions) are audited through it: one event per key and window. */
  refusals: AuditAggregator;
}

/** Ends sessions in the database and, once the transaction commits, makes their access tokens
 * stop at once in this process (other processes: within limits.sessionRecheckMs). */
export async function endSessions(
  deps: Pick<AuthDeps, "authenticator">,
  tx: Tx,
  where: { userId: string; sessionId?: string; exceptSessionId?: string },
  reason: string,
  nowMs: number = Date.now(),
): Promise<string[]> {
  const ids = await revokeSessions(tx, where, reason, nowMs);
  if (ids.length > 0) tx.afterCommit(() => deps.authenticator.markRevoked(ids));
  return ids;
}
