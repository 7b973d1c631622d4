// The console's own limits, each with its reason (the server's are in src/limits.ts).

export const consoleLimits = {
  /** Statement rows per page: a screenful, far below the server's page_size maximum of 500. */
  statementPageSize: 20,
  /** Rows per page a person may pick in every pager ("Rows per page"); each view's default above
   * is among them, and none is above the smallest page_size maximum of the lists paged (500 for
   * ListTransactions, docs/api.md). */
  pageSizeChoices: [10, 20, 50, 100] as readonly number[],
  /** ListTransactions' page_size maximum (proto: default 50, at most 500): a CSV export reads
   * the statement in pages this large, the fewest calls the server allows. */
  statementPageSizeMax: 500,
  /** Statement lines in one CSV export at most (20 calls at the page size above): beyond it the
   * newest lines are exported and the person is told to narrow the dates. */
  statementExportRowsMax: 10_000,
  /** A downloaded file's blob: URL is released this long after the download starts (the browser
   * has read it by then; released at once, some browsers lose the download). */
  downloadUrlLifetimeMs: 60_000,
  /** Accounts listed at once; more are reached with the pager. */
  accountsPageSize: 100,
  /** Sessions listed at once. */
  sessionsPageSize: 50,
  /** Users listed at once in the people view; more are reached with the pager. */
  usersPageSize: 50,
  /** Audit events listed at once; more are reached with the pager. */
  auditPageSize: 50,
  /** Users read to name the owners of accounts and the actors of audit events (one ListUsers
   * page at the server's maximum). Beyond it an owner is shown by id; a bank that large finds
   * people by email in the people view. */
  ownerDirectorySize: 500,
  /** Statement entries scanned for pending holds to capture or release (there is no ListHolds);
   * holds older than this many entries are settled by their expiry or through the API. */
  holdsScanEntries: 200,
  /** The access token is refreshed this long before it expires, at most... */
  refreshLeadMsMax: 60_000,
  /** ...and at most this fraction of its lifetime, so short-lived tokens are not refreshed at once. */
  refreshLeadFraction: 0.2,
  /** A call made this close to expiry refreshes first instead of sending a token about to die. */
  tokenExpirySlackMs: 5_000,
  /** Back-off before a token refresh is tried again after a network failure. */
  retryBackoffMsBase: 250,
  /** First automatic retry of a money movement without an answer, with the same request_id;
   * doubles each time (1, 2, 4, ... s)... */
  safeRetryDelayMsBase: 1_000,
  /** ...up to a minute: a restarting server (2.6-16 s) or a short outage is bridged without
   * hammering a bank that is down. */
  safeRetryDelayMsMax: 60_000,
  /** Automatic retries of one intent (1+2+4+8+16+32+60+60+60+60 s, about five minutes); after
   * them the form keeps offering "Retry safely". */
  safeRetryAutomaticMax: 10,
  /** Intents whose outcome is unknown, remembered (with their request_id) so the same values
   * sent again are the same intent. Far more than a person leaves unresolved in one sitting. */
  unknownOutcomesMax: 200,
  /** Live statement (WatchAccount): the first reconnect after a stream ends waits about a
   * second (jittered down to half), doubling for each stream in a row that delivered nothing... */
  liveReconnectDelayMsBase: 1_000,
  /** ...up to a minute, as for money retries: a restarting server or a short outage is bridged
   * without hammering a bank that is down. */
  liveReconnectDelayMsMax: 60_000,
  /** Streams in a row that deliver nothing before the console stops trying (about five minutes
   * of back-off); "Reconnect" and the browser coming back online start it again. */
  liveReconnectsMax: 10,
  /** A stream silent this long is taken for a dead connection and replaced: the server sends a
   * heartbeat every 5 s (watchHeartbeatMs in src/limits.ts), so this is four missed beats. */
  liveSilenceMsMax: 20_000,
  /** Live lines added on top of the first statement page before it is read afresh (back to one
   * page), so a console left open on a busy account does not grow without bound. */
  liveRowsMax: 100,
  /** A staff screen (teller, auditor, admin) with no input for this long is signed out: the
   * console refreshes its tokens by itself, so without this an open tab would keep a staff
   * session alive for its whole lifetime. The same mark as the server's idle limit of a staff
   * session (staffSessionIdleMs in src/limits.ts; PCI DSS 8.2.8)... */
  staffIdleMs: 15 * 60_000,
  /** ...with a warning this long before, which any input dismisses. */
  idleWarningLeadMs: 60_000,
  /** Largest amount of one request, in minor units (docs/api.md: <= 10^15). */
  amountMinorMax: 1_000_000_000_000_000n,
} as const;
