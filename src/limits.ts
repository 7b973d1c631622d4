// Every limit of bankd, in one place, each with the reason it has the value it has.
// Names carry their unit last (TIGER_STYLE). Changing one of these is a product decision.

export const limits = {
  // --- Transport ---------------------------------------------------------------------------
  /** Largest request or response message. The biggest legitimate message is a page of 500
   * statement entries (well under 512 KiB); 1 MiB leaves room and refuses memory abuse. */
  messageBytesMax: 1024 * 1024,
  /** Longest deadline a client may ask for; longer (or none) is clamped to this, so that no
   * call can hold a database connection or a lock for longer. */
  deadlineMsMax: 30_000,
  /** Deadline applied when the client sends none (grpc-timeout / connect-timeout-ms). */
  deadlineMsDefault: 15_000,
  /** HTTP/2 streams per connection. Bounds the work one client can put in flight at once. */
  http2MaxConcurrentStreams: 100,
  /** Idle connections are closed after this: frees sockets of clients that went away. */
  connectionIdleMs: 60_000,
  /** Whole-request timeout of the HTTP/1.1 server (Node's requestTimeout). */
  http1RequestTimeoutMs: 35_000,
  /** HTTP/1.1 headers must arrive within this (slowloris). */
  http1HeadersTimeoutMs: 10_000,
  /** How long a graceful shutdown waits for in-flight calls before closing anyway. */
  shutdownDrainMs: 10_000,
  /** How long a browser may cache a CORS preflight answer. Chromium caps it at 2 hours, so
   * a longer value buys nothing; shorter means more OPTIONS round trips. */
  corsPreflightMaxAgeSeconds: 7_200,

  // --- Lists ------------------------------------------------------------------------------
  /** Page size when the request says 0 (API.md). */
  pageSizeDefault: 50,
  /** Largest page a client may ask for; larger is INVALID_ARGUMENT (API.md). */
  pageSizeMax: 500,
  /** Longest page token accepted; ours are far shorter, so longer ones are garbage. */
  pageTokenCharsMax: 512,

  // --- Money ------------------------------------------------------------------------------
  /** Largest amount of one request, in minor units (API.md: <= 10^15). */
  amountMinorMax: 1_000_000_000_000_000n,
  /** Largest overdraft limit an admin may set, in minor units. */
  overdraftMinorMax: 1_000_000_000_000_000n,
  /** Longest a hold may live before it is released automatically. */
  holdTtlSecondsMax: 30 * 24 * 3600,
  /** Hold lifetime when CreateHold gives no expire_time. */
  holdTtlSecondsDefault: 7 * 24 * 3600,
  /** How often a process looks for expired holds to release. */
  holdSweepIntervalMs: 5_000,
  /** Expired holds released per sweep; the rest wait for the next sweep, so one sweep never
   * holds the database for long. */
  holdSweepBatchMax: 200,
  /** Largest absolute balance or held total of any account, settlement included. BIGINT ends at
   * about 9.2 * 10^18; stopping at 4 * 10^18 leaves room for one more maximal amount and means
   * SQLite can never overflow an integer into a float. */
  balanceMinorAbsMax: 4_000_000_000_000_000_000n,
  /** Attempts to draw an unused random account number before giving up (collisions are about
   * one in 10^11 per draw, so a second draw is already rare). */
  accountNumberAttemptsMax: 8,
  /** How far in the future GetBalance.as_of may lie (client clock skew); later is refused. */
  asOfSkewMsMax: 60_000,

  // --- Strings ----------------------------------------------------------------------------
  requestIdCharsMax: 128,
  descriptionCharsMax: 280,
  displayNameCharsMax: 100,
  fullNameCharsMax: 200,
  emailCharsMax: 254,
  reasonCharsMax: 500,
  userAgentCharsMax: 256,
  passwordCharsMin: 12,
  passwordCharsMax: 128,
  /** zxcvbn scores this many leading characters: its matching is superlinear (a crafted
   * 128-character password costs over a second of CPU), and a password whose first 64
   * characters are strong is strong. */
  passwordScoredCharsMax: 64,
  /** Longest bearer token we try to verify; ours are about 600 characters. */
  tokenCharsMax: 4096,

  // --- Auth -------------------------------------------------------------------------------
  accessTokenTtlSeconds: 15 * 60,
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  /** Verified access tokens kept in memory, so EdDSA verification is paid once per token. */
  tokenCacheEntriesMax: 10_000,
  /** Other processes learn of a revoked session within this (they re-check the session row
   * of a cached token after this long). */
  sessionRecheckMs: 2_000,
  /** Argon2 hashes computed at once; more would starve the event loop's thread pool. */
  argon2ConcurrencyMax: 2,
  /** Logins waiting for an argon2 slot; the rest are refused at once. */
  argon2QueueMax: 64,
  /** How long a login may wait for an argon2 slot before RESOURCE_EXHAUSTED. */
  argon2QueueWaitMs: 2_000,
  /** Free failures per account AND client address (the pair) before that pair's exponential
   * back-off starts: the owner's typos and an attacker's guesses from one address. Keyed on the
   * pair so that an attacker elsewhere cannot lock the owner out (OWASP). */
  loginFailuresFree: 5,
  /** Back-off after the first throttled failure; doubles with each further failure. */
  loginBackoffMsBase: 1_000,
  /** Longest back-off of a pair: never a permanent lock (API.md: none below 100 failures). */
  loginBackoffMsMax: 15 * 60_000,
  /** Failures of one account from all addresses together before its account-wide back-off
   * starts: slows a guesser who spreads attempts over many addresses, well above what one
   * owner mistyping from a few devices reaches. */
  loginAccountFailuresFree: 20,
  /** Longest account-wide back-off. It applies only to addresses that have failed for this
   * account recently, and an owner from anywhere else is never made to wait by it (issue 15,
   * W6: at most 30 s). */
  loginAccountBackoffMsMax: 30_000,
  /** Failures of a pair or of an account are forgotten this long after the last one: what
   * "recent failures" means for the throttle. */
  loginFailureMemoryMs: 24 * 3600_000,
  /** Sign-in attempts for one account from one address waiting their turn in one process (they
   * are checked one at a time so that parallel guesses cannot race the throttle); more are
   * refused at once as AUTH_BUSY. No person signs in 16 times at once. */
  loginAttemptsQueuedPerPairMax: 16,
  /** Failed logins per client address per window before it is throttled. */
  loginFailuresPerAddressMax: 100,
  loginAddressWindowMs: 10 * 60_000,
  /** Registrations per client address per hour (a token bucket holding one hour's worth): a
   * household or a small office registers a few users, a script sixty (issue 15, W5). Per
   * process; BANK_REGISTER_PER_ADDRESS_PER_HOUR overrides it (a deployment behind one NAT). */
  registerPerAddressPerHour: 5,
  /** Registrations per minute per process, from all addresses together: each costs an argon2
   * hash and a password-strength check, and sign-ins share both (a registration flood delayed
   * sign-ins to 4.5 s). 300/min is about 5 argon2 hashes per second at the production costs, a
   * small share of the two argon2 slots. BANK_REGISTER_PER_MINUTE overrides it. */
  registerPerMinute: 300,
  /** The global registration bucket holds this many seconds' worth of registrations (a burst). */
  registerBurstSeconds: 10,
  /** Client addresses whose registration buckets are kept; the least recently seen is
   * forgotten first, so memory stays bounded whatever the number of addresses. */
  registerAddressesTrackedMax: 10_000,
  /** An access token with an unknown kid re-reads the key directory at most this often, so
   * that a key added for rotation is learned without a restart and garbage kids cost nothing. */
  keyRingReloadMsMin: 5_000,
  /** Clock skew tolerated on exp/iat between the process that signs a token and the one that
   * verifies it. */
  jwtClockToleranceSeconds: 5,
  /** Password strength checks (Register, ChangePassword) waiting for the one scoring worker;
   * a check costs up to about half a second, so a longer queue would only add latency. */
  passwordCheckQueueMax: 16,
  /** How long a password check may wait for the worker before RESOURCE_EXHAUSTED. */
  passwordCheckQueueWaitMs: 5_000,

  // --- Audit ------------------------------------------------------------------------------
  /** How often a process looks for committed, unsealed audit events and seals them. This is
   * the bulk of the window during which an event is recorded but not yet hash-chained; an idle
   * process pays one indexed COUNT per tick. */
  auditSealIntervalMs: 200,
  /** Events sealed by one sealing transaction. Keeps that transaction (and its lock on the
   * chain head) short; a backlog is sealed in several transactions back to back. */
  auditSealBatchMax: 500,
  /** How long shutdown keeps sealing what is left before closing the database anyway (the
   * next process, or verify-audit, seals the rest). */
  auditShutdownSealMs: 5_000,
  /** Events the verifier reads per query: bounds its memory whatever the chain's length. */
  auditVerifyPageSize: 1_000,
  /** Repeats of one refused call (throttled sign-ins, forged or expired tokens, NOT_FOUND
   * probes) are counted this long before ONE event with the count is appended. */
  auditAggregateWindowMs: 60_000,
  /** Distinct refusal keys counted at once per aggregator; more are counted under one overflow
   * key per action, so an attacker varying addresses cannot grow memory or the log. */
  auditAggregateKeysMax: 1_000,
  /** Distinct targets remembered per aggregated key (the event reports the count up to this). */
  auditAggregateTargetsMax: 100,
  /** Longest actor_id / action / target_id filter of ListAuditEvents; stored values are ids
   * (36 characters) and short action names, so anything longer matches nothing. */
  auditFilterCharsMax: 200,

  // --- Database ---------------------------------------------------------------------------
  /** Connections per process to PostgreSQL. */
  dbPoolMax: 10,
  /** SQLite waits this long for a lock held by another process before failing. */
  sqliteBusyTimeoutMs: 5_000,
  /** Retries of a transaction that hit a deadlock or serialization failure, then ABORTED. */
  txRetriesMax: 5,
  /** A single SQL statement may run this long (PostgreSQL statement_timeout). */
  statementTimeoutMs: 20_000,
  /** Time to wait for a new database connection, or for a free one when all are in use (on
   * SQLite: for this process's one connection); then UNAVAILABLE. */
  dbConnectTimeoutMs: 5_000,
  /** An idle PostgreSQL connection is closed after this long. */
  dbIdleTimeoutMs: 30_000,
  /** Distinct SQL texts prepared per PostgreSQL connection (named statements); the code has
   * about 100, so the cap only guards against an unforeseen source of distinct texts. */
  dbPreparedStatementsMax: 500,
} as const;

export type Limits = typeof limits;
