// Every limit of bankd, in one place, each with the reason it has the value it has.
// Names carry their unit last (TIGER_STYLE). Changing one of these is a product decision.

export const limits = {
  // --- Transport ---------------------------------------------------------------------------
  /** Largest request or response message. The biggest legitimate message is a BatchTransfer of
   * batchTransfersMax items at their largest: 1.35 MB as a binary request, 1.83 MB as a JSON
   * response (measured by test/ledger/batch-transfer.test.ts); a page of 500 statement entries
   * is well under 512 KiB. 2 MiB fits them and still refuses memory abuse. */
  messageBytesMax: 2 * 1024 * 1024,
  /** Longest deadline a unary call may have: a client asking for more (many default to 60 s or
   * more) gets this instead, never a refusal, so that no call holds a database connection or a
   * lock for longer. */
  deadlineMsMax: 30_000,
  /** Deadline of a unary call whose client sends none (grpc-timeout / connect-timeout-ms). */
  deadlineMsDefault: 15_000,
  /** Duration of a streaming call (WatchAccount, Health.Watch, reflection) whose client names no
   * deadline. A watch is meant to run until the client cancels; ending it after an hour bounds
   * what a forgotten stream holds, and a watcher resumes from its last cursor. */
  streamDeadlineMsDefault: 60 * 60_000,
  /** Longest duration a streaming call may ask for; more is clamped to this. */
  streamDeadlineMsMax: 24 * 60 * 60_000,
  /** A handler still running this long after its call's deadline has its stream reset by the
   * transport (the client stopped waiting at the deadline; the socket or stream is freed). */
  deadlineGraceMs: 5_000,
  /** HTTP/2 streams per connection. Bounds the work one client can put in flight at once. */
  http2MaxConcurrentStreams: 100,
  /** Streams a client may reset (cancel) on one HTTP/2 connection within the window below before
   * the connection is closed with GOAWAY (ENHANCE_YOUR_CALM). Opening and cancelling streams in
   * a loop ("rapid reset", CVE-2023-44487) costs the server work per stream while the client
   * pays nothing; honest clients cancel a few calls (deadlines, users going away), not hundreds
   * in seconds. */
  http2ClientResetsMax: 200,
  http2ClientResetWindowMs: 10_000,
  /** Idle connections are closed after this: frees sockets of clients that went away. On HTTP/2
   * the close is graceful (GOAWAY), so a long stream in progress keeps its connection. */
  connectionIdleMs: 60_000,
  /** Open connections at once (all protocols, TLS included); more are closed as they arrive.
   * Each costs a file descriptor and some memory even when idle, and slow or idle connections
   * are the cheapest way to exhaust a server (slowloris). Far above what one process serves. */
  connectionsMax: 4_096,
  /** Connections at once from one client address on the main port (per process); more are
   * closed as they arrive. An eighth of connectionsMax: one host (4,100 connections holding
   * Health.Watch in 9 s, issue 25) can no longer take every slot, while an office behind one NAT
   * keeps hundreds. Peers are exempt under BANK_TRUST_PROXY=true (they are the proxies; every
   * client comes through them), where the process cap alone applies. */
  connectionsPerAddressMax: 512,
  /** Calls in flight at once from one client address (the forwarded one behind a trusted proxy),
   * per process, whatever their connections: twice the connections' cap, as a browser or service
   * holds a few watches and some unary calls per connection. The bench's 32 users from one address
   * hold at most 32 x 8 calls at once. More are refused RESOURCE_EXHAUSTED CALLS_PER_ADDRESS. */
  callsPerAddressMax: 1_024,
  /** Streaming calls without a token (Health.Watch, reflection) at once from one client address,
   * per process: a balancer watches a few services, a developer's grpcurl one reflection stream.
   * More are refused RESOURCE_EXHAUSTED ANONYMOUS_STREAMS_PER_ADDRESS. */
  anonymousStreamsPerAddressMax: 32,
  /** Streaming calls without a token at once from all addresses, per process: a quarter of
   * connectionsMax, so that anonymous streams can never hold the slots signed-in callers need
   * (the headroom). More are refused RESOURCE_EXHAUSTED ANONYMOUS_STREAMS. */
  anonymousStreamsMax: 1_024,
  /** Longest life of a Health.Watch or reflection stream (with or without a token): Health.Watch
   * then ends with OK, a reflection stream with its normal end, and the client re-opens
   * (docs/api.md). A watch that costs nothing to hold must still give its slot back. */
  anonymousStreamMsMax: 5 * 60_000,
  /** A new connection must say which protocol it speaks (the HTTP/2 preface, or an HTTP/1.1
   * request line) and a TLS client must finish its handshake within this. */
  connectionHandshakeMs: 10_000,
  /** HTTP/1.1 request headers must arrive in full within this, counted from the first byte of a
   * connection or from the end of the previous response (slowloris). */
  http1HeadersTimeoutMs: 10_000,
  /** An HTTP/1.1 request (headers and body) must arrive in full within this. Above the longest
   * deadline, so an honest upload is never cut before its call would have ended anyway. */
  http1RequestTimeoutMs: 35_000,
  /** An idle HTTP/1.1 keep-alive connection is closed after this (Node's keepAliveTimeout). */
  http1KeepAliveTimeoutMs: 5_000,
  /** On HTTP/2, the request of a unary or server-streaming call (one message) must arrive in full
   * within this; a stream that trickles its request is reset (slowloris over HTTP/2). */
  http2RequestTimeoutMs: 35_000,
  /** Deepest nesting of objects and arrays accepted in a JSON request. The deepest bankd message
   * nests 6 levels in JSON; refusing deeper bodies before the full parse keeps a 1 MiB body of
   * brackets (half a million levels) from costing a second of CPU before authentication. */
  jsonDepthMax: 32,
  /** The gRPC port (BANK_GRPC_PORT, @grpc/grpc-js): a connection is closed gracefully (GOAWAY)
   * after this long, so that internal callers behind a balancer spread over new instances and a
   * long-lived connection does not pin one process forever. grpc-js adds its own jitter. */
  grpcConnectionAgeMs: 30 * 60_000,
  /** Calls still open on a connection past its age get this long to finish before it is closed:
   * the longest unary deadline (deadlineMsMax) plus the transport's grace (deadlineGraceMs).
   * Streams still open then are cut; a watcher resumes from its last cursor. */
  grpcConnectionAgeGraceMs: 35_000,
  /** The gRPC port pings a connection after this long without reads, and closes it when the ping
   * is not answered within grpcKeepaliveTimeoutMs: a caller's host that vanished without closing
   * (no FIN or RST) frees its streams in about 80 s instead of grpc-js's default two hours. */
  grpcKeepaliveTimeMs: 60_000,
  grpcKeepaliveTimeoutMs: 20_000,
  /** HTTP/2 session memory (MB) per connection, as on the main port (Node's maxSessionMemory):
   * a client that makes the server buffer more gets its streams refused. */
  http2SessionMemoryMb: 32,
  /** How long a graceful shutdown waits for in-flight calls before closing anyway. */
  shutdownDrainMs: 10_000,
  /** Most server processes BANK_WORKERS may ask for: one per core is the useful number (each
   * runs its own posting engine, argon2 queue and pools; docs/performance.md). */
  workersMax: 64,
  /** Wait before a worker that died after it was serving is started again. */
  workerRestartDelayMs: 1_000,
  /** Beyond a worker's own drain and audit-sealing bounds, how long the primary waits for it to
   * exit before killing it. */
  workerExitGraceMs: 2_000,
  /** How long a browser may cache a CORS preflight answer. Chromium caps it at 2 hours, so
   * a longer value buys nothing; shorter means more OPTIONS round trips. */
  corsPreflightMaxAgeSeconds: 7_200,

  // --- Lists ------------------------------------------------------------------------------
  /** Page size when the request says 0 (docs/api.md). */
  pageSizeDefault: 50,
  /** Largest page a client may ask for; larger is INVALID_ARGUMENT (docs/api.md). */
  pageSizeMax: 500,
  /** Longest page token accepted; ours are far shorter, so longer ones are garbage. */
  pageTokenCharsMax: 512,

  // --- Money ------------------------------------------------------------------------------
  /** Largest amount of one request, in minor units (docs/api.md: <= 10^15). */
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
  /** Transfers in one BatchTransfer call (docs/api.md Additions: 1,000 by default), set so that a
   * full request and its full response fit messageBytesMax (test/ledger/batch-transfer.test.ts
   * builds both at their largest and checks). */
  batchTransfersMax: 1_000,
  /** Postings per batch of the posting engine. A commit (and its fsync) and a unit of work cost
   * the same for one posting or many; larger batches hold their row locks longer. A single
   * request heavier than this (a BatchTransfer of batchTransfersMax) runs as a batch of its own. */
  postingBatchMax: 1_000,
  /** Postings waiting for the engine; more are refused (RESOURCE_EXHAUSTED) instead of queueing
   * without bound. At ~5,000 postings/s this is about 4 s of work. */
  postingQueueWeightMax: 20_000,
  /** Postings one principal (a user; the system for hold expiries) may have waiting in the
   * posting queue: past it that principal is refused RESOURCE_EXHAUSTED POSTING_SHARE_EXCEEDED,
   * while others are admitted. Two full BatchTransfers (batchTransfersMax) or 2,000 single
   * movements: the bench's busiest user keeps about 800 waiting at 32 calls in flight. */
  postingShareWeightMax: 2_000,
  /** Of postingQueueWeightMax, the part only staff (teller, auditor, admin) and system postings
   * may fill: customers together are refused POSTING_QUEUE_FULL once the queue holds
   * postingQueueWeightMax - postingStaffReserveWeight. */
  postingStaffReserveWeight: 2_000,
  /** The retry delay a refused posting is told (retry_after_ms): about how long the engine takes
   * to work through a principal's share at the measured rate of ~5,000 postings/s. */
  postingRetryAfterMs: 500,
  /** Postings one customer may submit per second, per process (a token bucket; staff and system
   * postings are not rated): what bounds the rows one customer can make the bank store, refused
   * or not (docs/security.md, "Resource exhaustion"). The bench's 32 customers at full rate use
   * under 150 each. Past it: RESOURCE_EXHAUSTED POSTING_RATE_EXCEEDED with retry_after_ms. */
  postingsPerCustomerPerSecond: 500,
  /** The bucket's burst: one share of the queue (postingShareWeightMax), two full BatchTransfers. */
  postingRateBurst: 2_000,
  /** Customers whose posting buckets are kept (the least recently seen forgotten first: a
   * forgotten bucket is a full one). */
  postingRateKeysMax: 100_000,
  /** Wait before a batch that failed as a whole (a lost connection) is retried, times the
   * attempt; attempts are capped by txRetriesMax. */
  postingRetryBackoffMs: 50,
  /** Batches the posting engine has in flight on PostgreSQL, each on its own pooled connection
   * (under dbPoolMax, leaving 2 to reads and cold paths; a lane holds its connection only while
   * its batch runs). The engine's scheduler keeps batches in flight apart (no account named by
   * two of them), so they neither wait for each other's row locks nor deadlock, and more of them
   * share each commit's fsync: 8 lanes ran transfer-uniform at 1,567/s against 1,109/s with 3 on
   * this 2-core machine (docs/performance.md). SQLite has one writer: one batch at a time. */
  postingLanesMaxPostgres: 8,
  /** Settlement accounts per currency (the outside world's side of deposits and withdrawals). An
   * account's deposits and withdrawals always post against the shard its id hashes to, so no row
   * is shared by everyone (docs/api.md Additions; docs/security.md V1 has the arithmetic): at ten times
   * the bench's peak rate (1e5 postings/s), every deposit at the default daily deposit limit
   * (1e6 minor units) and none withdrawn, the inflow is 1e11 minor units/s, 3.2e20 in 100 years:
   * 1.2e18 per shard, under balanceMinorAbsMax with a margin of 3.2. */
  settlementShards: 256,
  /** Default daily limits in minor units, per account and direction, for every currency
   * (BANK_DAILY_LIMITS overrides them per currency): deposits and withdrawals 1,000,000 (10,000.00
   * in a two-decimal currency), outgoing transfers 5,000,000. They bound everyone's postings,
   * staff's included; an admin sets an account's own limit or "no limit" (SetAccountLimits). */
  dailyDepositMinorDefault: 1_000_000n,
  dailyWithdrawalMinorDefault: 1_000_000n,
  dailyTransferOutMinorDefault: 5_000_000n,
  /** What may arrive in one account per UTC day, deposits and incoming transfers together: one
   * day's default deposits plus two payers' default outgoing transfers. It bounds the money a
   * stolen teller token can gather into one account (the money-rules issue, item 1). */
  dailyIncomingMinorDefault: 11_000_000n,
  /** Largest daily limit an admin may set (an explicit "no limit" is separate). */
  dailyLimitMinorMax: 1_000_000_000_000_000n,
  /** WatchAccount streams open at once in one process, and per user: each holds a buffer and a
   * place in every wake-up's read. */
  watchersPerProcessMax: 1_000,
  watchersPerUserMax: 10,
  /** Of watchersPerProcessMax, the streams only staff may open (the console's live view), so
   * that customers together cannot refuse it (issue 25: 100 customers x 10 streams did). */
  watchersStaffReserve: 100,
  /** WatchAccount streams from one client address at once (per process, the forwarded address
   * behind a trusted proxy), beside the per-user cap: a household or an office with a few users
   * watching; 100 self-registered customers on one host no longer hold the process cap. */
  watchersPerAddressMax: 50,
  /** Entries buffered per watcher for its client. A reader whose buffer stays full longer than
   * watchStallMs while entries wait is cut off (RESOURCE_EXHAUSTED WATCH_TOO_SLOW) and resumes
   * from its last cursor, instead of the server buffering without bound. */
  watchBufferMax: 256,
  watchStallMs: 10_000,
  /** A response without an entry this often, so idle streams survive proxies and clients can
   * tell a quiet account from a dead connection. */
  watchHeartbeatMs: 5_000,
  /** SQLite: how often one poll per process looks for entries committed by other processes. */
  watchPollMs: 250,
  /** PostgreSQL: the wait before the change feed's LISTEN connection is reopened after a failure. */
  watchReconnectMs: 1_000,
  /** Entries one wake-up reads for every watcher of the process together; more are read by the
   * next round at once. */
  watchReadRowsMax: 2_000,
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
  /** Staff sessions (teller, auditor, admin; issue 27, PCI DSS 8.2.8): a session not refreshed
   * for this long is over (RefreshToken refused SESSION_IDLE, the session ended). The console
   * signs an idle screen out at the same mark, warning a minute before (web/src/limits.ts). */
  staffSessionIdleMs: 15 * 60_000,
  /** Longest life of a staff session from sign-in, however active: a working day. Past it the
   * session check and RefreshToken refuse it (SESSION_EXPIRED); the person signs in again. */
  staffSessionLifetimeMs: 12 * 3600_000,
  /** Longest life of an enrolment-only session (staff without a second factor yet): long enough
   * to scan a QR code and type a first code, no longer. */
  enrolmentSessionLifetimeMs: 15 * 60_000,
  /** TOTP (RFC 6238) as authenticator apps expect it: 30 s steps, 6 digits, HMAC-SHA-1... */
  totpStepSeconds: 30,
  totpDigits: 6,
  /** ...and one step of tolerance each way for clock drift (RFC 6238, section 5.2): a code is
   * good for at most 90 s, and once (the last accepted step is remembered per user). */
  totpWindowSteps: 1,
  /** An EnrollTotp not confirmed within this lapses (a new one replaces it anyway). */
  totpEnrolmentTtlMs: 10 * 60_000,
  /** Recovery codes made at ConfirmTotp, each 80 random bits (so a SHA-256 at rest is enough:
   * nothing to guess offline), each good once. */
  recoveryCodesCount: 10,
  recoveryCodeBytes: 10,
  /** Verified access tokens kept in memory, so EdDSA verification is paid once per token. */
  tokenCacheEntriesMax: 10_000,
  /** Other processes learn of a revoked session within this (they re-check the session row
   * of a cached token after this long). */
  sessionRecheckMs: 2_000,

  // --- Service accounts (issue 27) ----------------------------------------------------------
  /** Longest IssueServiceToken assertion (a compact JWS); ours are about 400 characters. */
  serviceAssertionCharsMax: 8192,
  /** An assertion's exp may be at most this far ahead (RFC 7523 asks for a short lifetime). */
  serviceAssertionLifetimeSecondsMax: 5 * 60,
  /** Longest jti of an assertion. */
  serviceAssertionJtiCharsMax: 256,
  /** Lifetime of a service's access token (never longer than accessTokenTtlSeconds): it asks
   * for a new one with a new assertion, so a revoked key or a disabled account stops at once
   * for new tokens and within sessionRecheckMs for live ones. */
  serviceTokenTtlSeconds: 5 * 60,
  serviceAccountNameCharsMax: 100,
  /** Allowed owners, and allowed accounts, each at most. */
  serviceAccountAllowListMax: 100,
  /** Active keys of one service account at once: two, so that a key rotates without a gap. */
  serviceAccountActiveKeysMax: 2,
  /** Longest public key accepted (JWK JSON or PEM); an Ed25519 one is about 120 characters. */
  serviceAccountPublicKeyCharsMax: 4096,
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
  /** Longest back-off of a pair: never a permanent lock (docs/api.md: none below 100 failures). */
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
   * process; BANK_REGISTER_PER_ADDRESS_PER_HOUR overrides it (a deployment behind one NAT).
   * BANK_ENV=development lifts it and registerPerMinute for loopback clients only (issue 28: a
   * developer's recipes, /docs and console used up the five from 127.0.0.1). */
  registerPerAddressPerHour: 5,
  /** Accounts one principal (a customer, or a teller for anyone) may open per hour, per process
   * (a token bucket holding a quarter hour's worth, 30: a teller's or a family's batch of new
   * accounts at once; N processes allow N times the rate): a customer opens a handful in a
   * lifetime, a teller onboarding a queue of customers one a minute or so; a script opened 500 in
   * 3.3 s (issue 25). Refused RESOURCE_EXHAUSTED ACCOUNT_OPENING_RATE with retry_after_ms.
   * BANK_ACCOUNT_OPENS_PER_HOUR overrides it (the bench seeds through the API). */
  accountOpensPerHour: 120,
  /** Principals whose account-opening buckets are kept (least recently seen forgotten first). */
  accountOpenersTrackedMax: 10_000,
  /** Accounts a customer may hold (not closed), whoever opened them (staff-opened ones count for
   * their owner): a product limit, far above a person's or a small business's needs, and it
   * bounds the rows, numbers and statements one principal costs. Past it: FAILED_PRECONDITION
   * ACCOUNT_LIMIT_REACHED. BANK_ACCOUNTS_PER_CUSTOMER_MAX overrides it. */
  accountsPerCustomerMax: 100,
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
  /** Distinct targets remembered per aggregated key (the event reports the count up to this,
   * and names them). */
  auditAggregateTargetsMax: 100,
  /** Distinct targets named in the aggregated event of a principal's repeated business refusals
   * (audit/business-refusals.ts); past them the event says how many occurrences had another. */
  auditRefusalTargetsNamedMax: 50,
  /** Principal x action x reason windows of business refusals remembered at once; the least
   * recently seen is forgotten first (its next refusal is recorded on its own again). */
  auditRefusalWindowsMax: 10_000,
  /** A staff member's reads of one account (GetAccount, LookupAccount, statements, WatchAccount)
   * are counted this long before ONE `account.staff_read` event with the count is appended: a
   * teller serving a customer for an hour leaves a few events, not thousands (issue 26). What a
   * crash loses is at most this window's counts. */
  staffReadAuditWindowMs: 15 * 60_000,
  /** Longest actor_id / action / target_id filter of ListAuditEvents; stored values are ids
   * (36 characters) and short action names, so anything longer matches nothing. */
  auditFilterCharsMax: 200,

  // --- Deployment -------------------------------------------------------------------------
  /** `bankd healthcheck` (the container's HEALTHCHECK) waits this long for grpc.health.v1
   * Check, connection included, then reports unhealthy: a server that cannot answer its health
   * check in 3 s is not serving. Docker's own --timeout (docs/deploy.md) is longer, so the
   * command always exits by itself with its own status. */
  healthcheckTimeoutMs: 3_000,

  // --- Database ---------------------------------------------------------------------------
  /** Connections per process to PostgreSQL. */
  dbPoolMax: 10,
  /** SQLite: a unit of work finding the write lock held by another process on the same file
   * retries, asynchronously, for this long before failing (and `bankd migrate` or a start waits
   * this long for another process's migration). */
  sqliteBusyTimeoutMs: 5_000,
  /** Retries of a transaction that hit a deadlock or serialization failure, then ABORTED. */
  txRetriesMax: 5,
  /** A single SQL statement may run this long (PostgreSQL statement_timeout). */
  statementTimeoutMs: 20_000,
  /** Time to wait for a new database connection, or for a free one when all are in use (on
   * SQLite: for this process's one connection); then UNAVAILABLE. */
  dbConnectTimeoutMs: 5_000,
  /** Units of work one process lets wait for its turn on SQLite's one connection; past this a new
   * one fails UNAVAILABLE at once instead of queueing. The posting engine batches money movements
   * into one unit of work, so what waits here is reads and cold paths: ten thousand is far beyond
   * honest load, and bounds the memory of a flood. */
  dbTurnWaitersMax: 10_000,
  /** An idle PostgreSQL connection is closed after this long. */
  dbIdleTimeoutMs: 30_000,
  /** Distinct SQL texts prepared per PostgreSQL connection (named statements); the code has
   * about 100, so the cap only guards against an unforeseen source of distinct texts. */
  dbPreparedStatementsMax: 500,
  /** The staleness bound of BANK_DATABASE_REPLICA_URL: a read that may use the replica (a
   * statement, a balance at a past instant, an audit listing) goes there only while the replica
   * is known to hold every commit the primary had this long ago; otherwise it reads the primary.
   * 5 s is far longer than a healthy streaming replica's lag (milliseconds) and short enough that
   * a customer who just moved money rarely looks before it is there; a balance at a past instant
   * reads the replica only when that instant is older than this. */
  replicaLagMaxMs: 5_000,
  /** How often each process measures the replica's lag (one query on the primary, one on the
   * replica): the measurement is reused in between, so the staleness it can prove is at most this
   * much worse than the truth, and it costs two tiny queries a second whatever the load. */
  replicaLagCheckMs: 1_000,

  // --- Following the primary (a multi-host BANK_DATABASE_URL; src/db/primary.ts) -----------
  /** Hosts one multi-host URL may name: a formation has a primary and one or two standbys; the
   * cap only bounds the probes one check opens. */
  dbHostsMax: 8,
  /** One probe of one host (connect, then `SELECT pg_is_in_recovery(), transaction_read_only`):
   * a host that has not answered by then counts as unreachable for this round. Every host is
   * probed at once, so a round takes at most this long. 2 s is ample for a host on the same
   * network (a healthy connect takes milliseconds) and bounds how long a call can wait behind a
   * round during a failover. */
  dbProbeTimeoutMs: 2_000,
  /** While a primary is known, how often it is asked again whether it still accepts writes (and
   * whether synchronous_standby_names is set). A lost connection or a write refused as read-only
   * starts a round at once, so this only bounds how late a quiet process notices a change. */
  dbPrimaryCheckMs: 2_000,
  /** While no host accepts writes (a failover in progress), the pause between probe rounds. A
   * round costs one short connection per host, so 4 rounds a second per process is cheap, and it
   * keeps the time from the new primary's promotion to bankd's first write under ~250 ms. */
  dbPrimaryProbeIntervalMs: 250,
  /** A unit of work that needs a connection while no writable host is known waits this long for
   * one (a round in flight usually finds it), then fails UNAVAILABLE DATABASE_UNAVAILABLE: the
   * posting engine retries its batch (txRetriesMax) and clients retry with the same request_id. */
  dbPrimaryWaitMs: 2_000,
  /** While the primary's synchronous_standby_names is empty (a formation down to one node:
   * acknowledged commits exist on one machine only), the warning is repeated this often. */
  dbSyncStandbyWarnEveryMs: 60_000,
} as const;

export type Limits = typeof limits;
