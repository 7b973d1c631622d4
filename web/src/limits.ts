// The console's own limits, each with its reason (the server's are in src/limits.ts).

export const consoleLimits = {
  /** Statement rows per page: a screenful, far below the server's page_size maximum of 500. */
  statementPageSize: 20,
  /** Accounts listed at once; a customer with more opens them from further pages. */
  accountsPageSize: 100,
  /** Sessions listed at once. */
  sessionsPageSize: 50,
  /** The access token is refreshed this long before it expires, at most... */
  refreshLeadMsMax: 60_000,
  /** ...and at most this fraction of its lifetime, so short-lived tokens are not refreshed at once. */
  refreshLeadFraction: 0.2,
  /** A call made this close to expiry refreshes first instead of sending a token about to die. */
  tokenExpirySlackMs: 5_000,
  /** Retries of a mutating call after a network failure or UNAVAILABLE, with the same request_id. */
  mutationRetriesMax: 3,
  /** First back-off before a retry; doubles each time (250, 500, 1000 ms). */
  retryBackoffMsBase: 250,
  /** Largest amount of one request, in minor units (API.md: <= 10^15). */
  amountMinorMax: 1_000_000_000_000_000n,
} as const;
