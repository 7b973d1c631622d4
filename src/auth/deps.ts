// What the auth domain functions share: built once by createAuthModule (src/modules.ts).
// Types only: the logic lives in the files that use these.
import type { AuditAggregator } from "../audit/aggregate";
import type { Database } from "../db/database";
import type { Logger } from "../logger";
import type { Clock } from "../util/clock";
import type { Argon2Hasher } from "./passwords";
import type { AccessTokens } from "./tokens";
import type { Authenticator } from "./authenticator";
import type { KeyRing } from "./keys";
import type { RegistrationLimits } from "./registration-limits";
import type { KeyedTurns } from "./turns";
import type { TotpSecretBox } from "./second-factor";

export interface AuthDeps {
  db: Database;
  logger: Logger;
  /** The time sessions, tokens, the throttle and second factors are judged by. */
  clock: Clock;
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
  /** Staff reads of customers' accounts: one event per staff member, account and window. */
  staffReads: AuditAggregator;
  /** The second factor: the key TOTP secrets are stored under, and the issuer name shown in
   * authenticator apps. */
  totp: { box: TotpSecretBox; issuer: string };
}
