// Goal: the console's logic without a browser: money is parsed from what people type into exact
// bigint minor units and formatted back by currency exponent (never through a float, checked
// against a decimal-string model with fast-check; the seed is printed and BANK_TEST_SEED replays
// it); errors become plain sentences; mutations retry with the same request_id only when that is
// safe; the access token is refreshed before it expires, once, even with concurrent callers.
import fc from "fast-check";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { formatMinorUnits, formatMoney, parseAmount, parseCurrencyList } from "../../web/src/money";
import { describeError, isRetryable } from "../../web/src/errors";
import { newRequestId, withRequestId } from "../../web/src/request-id";
import { TokenKeeper, refreshDelayMs, type Timers, type TokenSet } from "../../web/src/session";

const seed = Number(process.env.BANK_TEST_SEED ?? Date.now() % 2 ** 31);
// eslint-disable-next-line no-console
console.log(`console-logic: fast-check seed ${seed} (replay with BANK_TEST_SEED=${seed})`);

describe("money", () => {
  test("formats minor units by exponent with grouping and sign", () => {
    expect(formatMoney(123456n, "USD", 2)).toBe("1,234.56 USD");
    expect(formatMoney(-5n, "USD", 2)).toBe("-0.05 USD");
    expect(formatMoney(0n, "EUR", 2)).toBe("0.00 EUR");
    expect(formatMoney(1234567n, "JPY", 0)).toBe("1,234,567 JPY");
    expect(formatMoney(1_000_000_000_000_000n, "KWD", 3)).toBe("1,000,000,000,000.000 KWD");
    expect(formatMinorUnits(9_007_199_254_740_993n, 2)).toBe("90,071,992,547,409.93");
  });

  test("parses typed amounts exactly", () => {
    expect(parseAmount("12.34", "USD", 2)).toEqual({ ok: true, minor: 1234n });
    expect(parseAmount(" 12.3 ", "USD", 2)).toEqual({ ok: true, minor: 1230n });
    expect(parseAmount("1,000", "USD", 2)).toEqual({ ok: true, minor: 100000n });
    expect(parseAmount("0.10", "USD", 2)).toEqual({ ok: true, minor: 10n });
    expect(parseAmount("1250", "JPY", 0)).toEqual({ ok: true, minor: 1250n });
    // Float traps (0.29 * 100 = 28.999999999999996, 1.15 * 100 = 114.99999999999999) do not exist here.
    expect(parseAmount("0.29", "USD", 2)).toEqual({ ok: true, minor: 29n });
    expect(parseAmount("1.15", "USD", 2)).toEqual({ ok: true, minor: 115n });
    expect(parseAmount("9,999,999,999,999.99", "USD", 2)).toEqual({ ok: true, minor: 999_999_999_999_999n });
  });

  test("refuses what is not a positive amount within the limit, in words", () => {
    const refusals: Array<[string, string, number, RegExp]> = [
      ["", "USD", 2, /Enter an amount/],
      ["12.345", "USD", 2, /at most 2 decimal places/],
      ["12.5", "JPY", 0, /no decimal places/],
      ["-5", "USD", 2, /as a number/],
      ["1e3", "USD", 2, /as a number/],
      ["12,34", "USD", 2, /as a number/],
      ["0.00", "USD", 2, /more than zero/],
      ["10000000000000.01", "USD", 2, /larger than the bank accepts/],
      ["NaN", "USD", 2, /as a number/],
    ];
    for (const [text, currency, exponent, message] of refusals) {
      const parsed = parseAmount(text, currency, exponent);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toMatch(message);
    }
  });

  test("parse(format(x)) == x for every amount and exponent (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1_000_000_000_000_000n }), fc.integer({ min: 0, max: 4 }), (minor, exponent) => {
        const text = formatMinorUnits(minor, exponent);
        expect(parseAmount(text, "XXX", exponent)).toEqual({ ok: true, minor });
      }),
      { seed, numRuns: 300 },
    );
  });

  test("a decimal string with up to `exponent` places parses to its digits without the point (property)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[1-9][0-9]{0,11}$/), fc.stringMatching(/^[0-9]{0,4}$/), (whole, fraction) => {
        const exponent = 4;
        const parsed = parseAmount(fraction === "" ? whole : `${whole}.${fraction}`, "XXX", exponent);
        expect(parsed).toEqual({ ok: true, minor: BigInt(whole + fraction.padEnd(exponent, "0")) });
      }),
      { seed, numRuns: 300 },
    );
  });

  test("the server's currency list is read from the page, ignoring junk", () => {
    expect(parseCurrencyList("USD:2,JPY:0, KWD:3")).toEqual({ USD: 2, JPY: 0, KWD: 3 });
    expect(parseCurrencyList("%BANK_CURRENCIES%")).toEqual({});
  });
});

const withReason = (code: Code, reason: string, message = "server text") =>
  new ConnectError(message, code, undefined, [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason }) }]);

describe("errors as sentences", () => {
  test("reasons map to sentences, whatever the server's message", () => {
    expect(describeError(withReason(Code.FailedPrecondition, "INSUFFICIENT_FUNDS"), "transfer")).toBe("There is not enough money in the account for this.");
    expect(describeError(withReason(Code.FailedPrecondition, "CURRENCY_MISMATCH"), "transfer")).toMatch(/different currencies/);
  });

  test("codes are read in context: a failed sign-in is about the password, elsewhere about the session", () => {
    expect(describeError(new ConnectError("x", Code.Unauthenticated), "sign-in")).toMatch(/email or password is not right/);
    expect(describeError(new ConnectError("x", Code.Unauthenticated), "load")).toMatch(/session has ended/);
    expect(describeError(new ConnectError("x", Code.NotFound), "transfer")).toMatch(/No account with that number/);
    expect(describeError(new ConnectError("x", Code.AlreadyExists), "sign-up")).toMatch(/already exists/);
  });

  test("unknown validation reasons use the server's human message as a sentence; internals never leak", () => {
    expect(describeError(withReason(Code.InvalidArgument, "SOMETHING_NEW", "display name is too long"), "open-account")).toBe("Display name is too long.");
    expect(describeError(withReason(Code.Internal, "INTERNAL", "Internal error (correlation id 1)."), "deposit")).toBe("Something went wrong on our side. Please try again later.");
  });

  test("a failed fetch is a network error: reported as such, and retryable", () => {
    const network = new ConnectError("Failed to fetch", Code.Unknown, undefined, undefined, new TypeError("Failed to fetch"));
    expect(describeError(network, "deposit")).toMatch(/Cannot reach the bank/);
    expect(isRetryable(network)).toBe(true);
    expect(isRetryable(new ConnectError("x", Code.Unavailable))).toBe(true);
    expect(isRetryable(new ConnectError("x", Code.Aborted))).toBe(true);
    expect(isRetryable(new ConnectError("x", Code.FailedPrecondition))).toBe(false);
    expect(isRetryable(new ConnectError("x", Code.Unknown))).toBe(false);
  });
});

describe("request ids", () => {
  const noSleep = async () => undefined;

  test("are UUIDs, fresh per intent", () => {
    const a = newRequestId();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newRequestId()).not.toBe(a);
  });

  test("a retry after UNAVAILABLE or a network failure reuses the same id", async () => {
    const seen: string[] = [];
    const result = await withRequestId(async (id) => {
      seen.push(id);
      if (seen.length === 1) throw new ConnectError("down", Code.Unavailable);
      if (seen.length === 2) throw new TypeError("Failed to fetch");
      return "done";
    }, { sleep: noSleep });
    expect(result).toBe("done");
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(1);
  });

  test("business failures are not retried; retries are bounded", async () => {
    let calls = 0;
    await expect(withRequestId(async () => {
      calls++;
      throw new ConnectError("no", Code.FailedPrecondition);
    }, { sleep: noSleep })).rejects.toMatchObject({ code: Code.FailedPrecondition });
    expect(calls).toBe(1);
    calls = 0;
    await expect(withRequestId(async () => {
      calls++;
      throw new ConnectError("down", Code.Unavailable);
    }, { sleep: noSleep, retriesMax: 3 })).rejects.toMatchObject({ code: Code.Unavailable });
    expect(calls).toBe(4);
  });
});

describe("token refresh", () => {
  class FakeTimers implements Timers {
    nowMs = 1_000_000;
    private pending: Array<{ at: number; fn: () => void; id: number }> = [];
    private nextId = 1;
    now = () => this.nowMs;
    setTimeout = (fn: () => void, ms: number) => {
      const id = this.nextId++;
      this.pending.push({ at: this.nowMs + ms, fn, id });
      return id;
    };
    clearTimeout = (handle: unknown) => {
      this.pending = this.pending.filter((p) => p.id !== handle);
    };
    /** Moves the clock forward, running the timers that come due. */
    async advance(ms: number): Promise<void> {
      this.nowMs += ms;
      for (const due of this.pending.filter((p) => p.at <= this.nowMs)) {
        this.clearTimeout(due.id);
        due.fn();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  const tokens = (n: number, expireMs: number): TokenSet => ({ accessToken: `access-${n}`, refreshToken: `refresh-${n}`, accessExpireMs: expireMs });

  test("the refresh is scheduled before expiry: a minute early for 15 minutes, a fifth early for short tokens", () => {
    expect(refreshDelayMs(900_000)).toBe(840_000);
    expect(refreshDelayMs(30_000)).toBe(24_000);
    expect(refreshDelayMs(0)).toBe(0);
  });

  test("the timer refreshes before expiry and rotates the refresh token", async () => {
    const timers = new FakeTimers();
    const presented: string[] = [];
    const keeper = new TokenKeeper(async (refreshToken) => {
      presented.push(refreshToken);
      return tokens(presented.length + 1, timers.now() + 900_000);
    }, () => undefined, timers);
    keeper.start(tokens(1, timers.now() + 900_000));
    await timers.advance(839_000);
    expect(presented).toEqual([]);
    await timers.advance(1_000);
    expect(presented).toEqual(["refresh-1"]);
    expect(await keeper.accessToken()).toBe("access-2");
    await timers.advance(840_000);
    expect(presented).toEqual(["refresh-1", "refresh-2"]);
  });

  test("concurrent callers near expiry share one refresh (a refresh token is never presented twice)", async () => {
    const timers = new FakeTimers();
    let calls = 0;
    const keeper = new TokenKeeper(async () => {
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      return tokens(2, timers.now() + 900_000);
    }, () => undefined, timers);
    keeper.start(tokens(1, timers.now() + 2_000));
    const got = await Promise.all([keeper.accessToken(), keeper.accessToken(), keeper.accessToken()]);
    expect(got).toEqual(["access-2", "access-2", "access-2"]);
    expect(calls).toBe(1);
  });

  test("a refused refresh ends the session once and forgets the tokens", async () => {
    const timers = new FakeTimers();
    const ended: unknown[] = [];
    const keeper = new TokenKeeper(async () => {
      throw new ConnectError("revoked", Code.Unauthenticated);
    }, (err) => ended.push(err), timers);
    keeper.start(tokens(1, timers.now() + 60_000));
    await timers.advance(60_000);
    expect(ended).toHaveLength(1);
    expect(keeper.signedIn).toBe(false);
    expect(await keeper.accessToken()).toBeUndefined();
  });

  test("signing out cancels the scheduled refresh", async () => {
    const timers = new FakeTimers();
    let calls = 0;
    const keeper = new TokenKeeper(async () => {
      calls++;
      return tokens(2, timers.now() + 900_000);
    }, () => undefined, timers);
    keeper.start(tokens(1, timers.now() + 900_000));
    keeper.clear();
    await timers.advance(900_000);
    expect(calls).toBe(0);
  });
});
