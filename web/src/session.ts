// The signed-in session, in memory only: never localStorage, sessionStorage or a cookie, so a
// script injected later or another tab cannot read the tokens, and a reload signs the person out.
// The access token is refreshed before it expires, on a timer scheduled from its expire time and,
// since background tabs throttle timers, again on demand when a call finds it about to expire.
import { consoleLimits } from "./limits";
import { isNetworkError } from "./errors";

export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  /** access_token_expire_time, epoch milliseconds. */
  accessExpireMs: number;
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** When to refresh a token that lives `ttlMs` from now: before expiry by a lead of at most a
 * minute and at most a fifth of its life. */
export function refreshDelayMs(ttlMs: number): number {
  const leadMs = Math.min(consoleLimits.refreshLeadMsMax, ttlMs * consoleLimits.refreshLeadFraction);
  return Math.max(0, Math.floor(ttlMs - leadMs));
}

export class TokenKeeper {
  private tokens: TokenSet | undefined;
  private timer: unknown;
  private refreshing: Promise<void> | undefined;
  /** Told of every new token set (sign-in and each refresh), so views can follow the roles the
   * current access token carries. */
  onTokens: ((tokens: TokenSet) => void) | undefined;

  constructor(
    /** Calls AuthService.RefreshToken; rotates the refresh token. */
    private readonly refresh: (refreshToken: string) => Promise<TokenSet>,
    /** Called once when the session ends without the person signing out. */
    private readonly onEnded: (err: unknown) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  get signedIn(): boolean {
    return this.tokens !== undefined;
  }

  start(tokens: TokenSet): void {
    this.tokens = tokens;
    this.onTokens?.(tokens);
    this.schedule(refreshDelayMs(tokens.accessExpireMs - this.timers.now()));
  }

  /** The refresh token, for Logout. */
  get refreshToken(): string | undefined {
    return this.tokens?.refreshToken;
  }

  /** A usable access token, refreshing first when the current one is about to expire. */
  async accessToken(): Promise<string | undefined> {
    const tokens = this.tokens;
    if (!tokens) return undefined;
    if (tokens.accessExpireMs - this.timers.now() <= consoleLimits.tokenExpirySlackMs) await this.refreshNow();
    return this.tokens?.accessToken;
  }

  /** Refreshes now. Single flight: refresh tokens rotate, and presenting one twice would be
   * taken as theft and end the session, so concurrent callers share one refresh. */
  refreshNow(): Promise<void> {
    this.refreshing ??= this.runRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  clear(): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.tokens = undefined;
  }

  private async runRefresh(): Promise<void> {
    const current = this.tokens;
    if (!current) return;
    try {
      const next = await this.refresh(current.refreshToken);
      if (this.tokens === current) this.start(next);
    } catch (err) {
      if (this.tokens !== current) return;
      const stillValidMs = current.accessExpireMs - this.timers.now();
      if (isNetworkError(err) && stillValidMs > consoleLimits.tokenExpirySlackMs) {
        // Offline for a moment: try again while the access token still works.
        this.schedule(Math.min(consoleLimits.retryBackoffMsBase * 8, stillValidMs / 2));
        return;
      }
      this.clear();
      this.onEnded(err);
    }
  }

  private schedule(delayMs: number): void {
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => void this.refreshNow(), delayMs);
  }
}
