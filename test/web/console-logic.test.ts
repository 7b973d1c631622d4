// Goal: the console's logic without a browser: money is parsed from what people type into exact
// bigint minor units and formatted back by currency exponent (never through a float, checked
// against a decimal-string model with fast-check; the seed is printed and BANK_TEST_SEED replays
// it); errors become plain sentences; mutations retry with the same request_id only when that is
// safe; the access token is refreshed before it expires, once, even with concurrent callers.
import fc from "fast-check";
import { Code, ConnectError } from "@connectrpc/connect";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { decimalString, formatMinorUnits, formatMoney, parseAmount, parseCurrencyList, separators } from "../../web/src/money";
import { describeError, isUncertain, retryAfterMs } from "../../web/src/errors";
import { newRequestId } from "../../web/src/request-id";
import { fingerprint, retryDelayMs, SafeRetries, type OperationEvents } from "../../web/src/safe-retry";
import { consoleLimits } from "../../web/src/limits";
import { auditDetailsText, Currencies, dailyLimitText, formatWait, localTimeMs } from "../../web/src/format";
import { Permissions, rolesMayCall } from "../../web/src/access";
import { rolesFromToken } from "../../web/src/token-roles";
import { otherParty, OUTSIDE_THE_BANK, statementLine, type KnownAccounts } from "../../web/src/statement-lines";
import { Role } from "../../gen/bank/v1/access_pb";
import { DailyLimitSchema, DailyLimitSource } from "../../gen/bank/v1/account_pb";
import { StatementEntrySchema, TransactionStatus, TransactionType } from "../../gen/bank/v1/transaction_pb";
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import { AdminService } from "../../gen/bank/v1/admin_service_pb";
import { AuditService } from "../../gen/bank/v1/audit_service_pb";
import { TokenKeeper, refreshDelayMs, type TokenSet } from "../../web/src/session";
import { FakeTimers, settle } from "./fake-timers";

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
      ["12.345", "USD", 2, /^"12\.345" is ambiguous: "\." marks the decimals here, and USD has 2 decimal places\. Write 12345 for the whole number\.$/],
      ["12.3456", "USD", 2, /at most 2 decimal places/],
      ["12.5", "JPY", 0, /no decimal places/],
      ["-5", "USD", 2, /as a number/],
      ["1e3", "USD", 2, /as a number/],
      ["12,34", "USD", 2, /Check the separators: here "," groups thousands and "." marks the decimals, like 12.34/],
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

  test("amounts are written in the person's locale, exactly, with the currency's minor units", () => {
    expect(formatMoney(123456n, "USD", 2, "de-DE")).toBe("1.234,56 USD");
    expect(formatMoney(-123456n, "EUR", 2, "fr-FR")).toBe("-1\u202f234,56 EUR");
    expect(formatMoney(1234567n, "JPY", 0, "de-DE")).toBe("1.234.567 JPY");
    expect(formatMinorUnits(9_007_199_254_740_993n, 2, "de-DE")).toBe("90.071.992.547.409,93");
    expect(separators("de-DE")).toEqual({ decimal: ",", group: "." });
    expect(decimalString(-123456n, 2)).toBe("-1234.56");
    expect(decimalString(5n, 3)).toBe("0.005");
    // A currency missing from the server's list takes its ISO minor units from Intl.
    const currencies = new Currencies({ USD: 2 }, "en-US");
    expect(currencies.money({ currency: "KWD", minorUnits: 1234n })).toBe("1.234 KWD");
    expect(currencies.money({ currency: "USD", minorUnits: 5n })).toBe("0.05 USD");
  });

  test("amounts are read in the person's locale; a misplaced separator or an ambiguous one is refused in words", () => {
    const de = (text: string, currency = "USD", exponent = 2) => parseAmount(text, currency, exponent, "de-DE");
    expect(de("12,50")).toEqual({ ok: true, minor: 1250n });
    expect(de("1.250")).toEqual({ ok: true, minor: 125000n });
    expect(de("1.250,5")).toEqual({ ok: true, minor: 125050n });
    expect(de("1,250", "KWD", 3)).toEqual({ ok: true, minor: 1250n });
    expect(parseAmount("1 250,50", "EUR", 2, "fr-FR")).toEqual({ ok: true, minor: 125050n });
    expect(parseAmount("1\u202f250,50", "EUR", 2, "fr-FR")).toEqual({ ok: true, minor: 125050n });
    const refused: Array<[ReturnType<typeof parseAmount>, RegExp]> = [
      [de("1,250"), /^"1,250" is ambiguous: "," marks the decimals here, and USD has 2 decimal places\. Write 1250 for the whole number, or 1,25 for decimals\.$/],
      [de("1,250", "JPY", 0), /ambiguous.*JPY has no decimal places/],
      [parseAmount("1.250", "USD", 2, "en-US"), /^"1\.250" is ambiguous/],
      [de("12.50"), /^Check the separators: here "\." groups thousands and "," marks the decimals, like 12,34\.$/],
      [de("1.2.3"), /Check the separators/],
      [de("12,5,0"), /Use "," once/],
      [de("1.250,"), /as a number/],
      [parseAmount("12.50", "EUR", 2, "fr-FR"), /^Use "," as the decimal mark, like 12,34\.$/],
      [parseAmount("1,2", "USD", 2, "en-US"), /Check the separators/],
      [de("12,345"), /ambiguous/],
      [de("0,001"), /at most 2 decimal places/],
    ];
    for (const [parsed, message] of refused) {
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toMatch(message);
    }
  });

  test("parse(format(x)) == x in every locale tried, for every amount and exponent (property)", () => {
    const locales = ["en-US", "de-DE", "fr-FR", "de-CH", "en-IN", "es-ES", "pt-BR", "ja-JP"];
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1_000_000_000_000_000n }), fc.integer({ min: 0, max: 4 }), fc.constantFrom(...locales), (minor, exponent, locale) => {
        const text = formatMinorUnits(minor, exponent, locale);
        expect(parseAmount(text, "XXX", exponent, locale)).toEqual({ ok: true, minor });
      }),
      { seed, numRuns: 500 },
    );
  });

  test("whatever is typed, the parser answers with an exact amount that reads back the same, or a sentence (property)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9.,\s]{0,12}$/), fc.constantFrom("en-US", "de-DE", "fr-FR"), fc.constantFrom(0, 2, 3), (text, locale, exponent) => {
        const parsed = parseAmount(text, "XXX", exponent, locale);
        if (!parsed.ok) {
          expect(parsed.message).toMatch(/^\S.*\.$/);
          return;
        }
        expect(parsed.minor > 0n).toBe(true);
        expect(parseAmount(formatMinorUnits(parsed.minor, exponent, locale), "XXX", exponent, locale)).toEqual(parsed);
      }),
      { seed, numRuns: 500 },
    );
  });

  test("audit details are shown with amounts formatted; anything else as stored", () => {
    const currencies = new Currencies({ USD: 2 }, "en-US");
    expect(auditDetailsText(JSON.stringify({ amount: "123456", currency: "USD", account_id: "a-1" }), currencies)).toBe("amount: 1,234.56 USD, account_id: a-1");
    expect(auditDetailsText(JSON.stringify({ amount: "500", currency: "USD", hold_id: "h", released: "250" }), currencies)).toBe("amount: 5.00 USD, hold_id: h, released: 2.50 USD");
    expect(auditDetailsText(JSON.stringify({ owner_id: "u", currency: "USD", force: false }), currencies)).toBe("owner_id: u, force: false, currency: USD");
    expect(auditDetailsText(JSON.stringify({ amount: "12.5", currency: "USD" }), currencies)).toBe("amount: 12.5, currency: USD");
    expect(auditDetailsText("not json {", currencies)).toBe("not json {");
    expect(auditDetailsText("[1,2]", currencies)).toBe("[1,2]");
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

  test("changing a password: a wrong current password and its throttle are about the current password, not an email; the policy's refusals in words", () => {
    const wrong = withReason(Code.Unauthenticated, "INVALID_CREDENTIALS");
    expect(describeError(wrong, "change-password")).toBe("Your current password is not right. Nothing was changed; check it and try again.");
    expect(describeError(wrong, "sign-in")).toMatch(/email or password is not right/);
    const throttled = new ConnectError("x", Code.ResourceExhausted, undefined, [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "LOGIN_THROTTLED", metadata: { retry_after_ms: "29001" } }) }]);
    expect(describeError(throttled, "change-password")).toBe("Too many wrong passwords for this account. Wait 30 seconds, then try again.");
    expect(describeError(throttled, "sign-in")).toBe("Too many failed sign-ins. Wait 30 seconds, then try again.");
    expect(describeError(withReason(Code.InvalidArgument, "PASSWORD_UNCHANGED"), "change-password")).toBe("The new password is the same as your current one. Choose a different password.");
    expect(describeError(withReason(Code.InvalidArgument, "PASSWORD_TOO_SHORT"), "change-password")).toBe("The password must be at least 12 characters long.");
    expect(describeError(withReason(Code.InvalidArgument, "PASSWORD_TOO_LONG"), "change-password")).toBe("The password must be at most 128 characters long.");
    expect(describeError(withReason(Code.InvalidArgument, "PASSWORD_TOO_WEAK"), "change-password")).toMatch(/^This password is too easy to guess\./);
  });

  test("unknown validation reasons use the server's human message as a sentence; internals never leak", () => {
    expect(describeError(withReason(Code.InvalidArgument, "SOMETHING_NEW", "display name is too long"), "open-account")).toBe("Display name is too long.");
    expect(describeError(withReason(Code.Internal, "INTERNAL", "Internal error (correlation id 1)."), "deposit")).toBe("Something went wrong on our side. Please try again later.");
  });

  test("a failed fetch is a network error: reported as such; its outcome is unknown", () => {
    const network = new ConnectError("Failed to fetch", Code.Unknown, undefined, undefined, new TypeError("Failed to fetch"));
    expect(describeError(network, "deposit")).toMatch(/Cannot reach the bank/);
    expect(isUncertain(network)).toBe(true);
  });

  test("a failure is uncertain (the request may have been carried out) only without a definite answer", () => {
    for (const code of [Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Internal, Code.Unknown, Code.Canceled]) {
      expect(isUncertain(new ConnectError("x", code))).toBe(true);
    }
    for (const code of [Code.FailedPrecondition, Code.InvalidArgument, Code.NotFound, Code.PermissionDenied, Code.Unauthenticated, Code.ResourceExhausted, Code.AlreadyExists, Code.Unimplemented]) {
      expect(isUncertain(new ConnectError("x", code))).toBe(false);
    }
  });

  test("throttling says how long to wait, from ErrorInfo metadata retry_after_ms, rounded up", () => {
    const throttled = (reason: string, retryAfterMs?: string) =>
      new ConnectError("x", Code.ResourceExhausted, undefined, [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, metadata: retryAfterMs === undefined ? {} : { retry_after_ms: retryAfterMs } }) }]);
    expect(describeError(throttled("LOGIN_THROTTLED", "29001"), "sign-in")).toBe("Too many failed sign-ins. Wait 30 seconds, then try again.");
    expect(describeError(throttled("LOGIN_THROTTLED", "400"), "sign-in")).toBe("Too many failed sign-ins. Wait 1 second, then try again.");
    expect(describeError(throttled("LOGIN_THROTTLED", "900000"), "sign-in")).toBe("Too many failed sign-ins. Wait 15 minutes, then try again.");
    expect(describeError(throttled("REGISTER_THROTTLED", "60000"), "sign-up")).toBe("Too many new sign-ups from here. Wait 60 seconds, then try again.");
    expect(describeError(throttled("AUTH_BUSY", "2000"), "sign-in")).toBe("The bank is busy signing people in. Wait 2 seconds, then try again.");
    expect(describeError(throttled("SOMETHING_ELSE"), "deposit")).toBe("Too many requests. Wait a moment, then try again.");
    expect(describeError(throttled("LOGIN_THROTTLED", "soon"), "sign-in")).toBe("Too many failed sign-ins. Wait a moment, then try again.");
    expect(retryAfterMs(throttled("LOGIN_THROTTLED", "1500"))).toBe(1500);
    expect(retryAfterMs(new Error("x"))).toBeUndefined();
  });

  test("a daily limit refusal names the limit, writes its amounts by the account's currency and its reset in the person's zone; UNIMPLEMENTED is told plainly", () => {
    const limited = (metadata: Record<string, string>) =>
      new ConnectError("x", Code.FailedPrecondition, undefined, [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "DAILY_LIMIT_EXCEEDED", metadata }) }]);
    // What src/ledger/daily-limits.ts sends: minor units, a direction, the next 00:00 UTC.
    const sent = { direction: "withdrawal", limit: "1000000", used: "123456", resets_at: "2026-12-07T00:00:00.000Z", account_id: "a-1" };
    const tokyo = { currencies: new Currencies({ USD: 2 }, "en-US", "Asia/Tokyo"), currency: "USD" };
    const text = describeError(limited(sent), "withdraw", tokyo);
    expect(text).toMatch(/^This would go past the account's daily withdrawal limit of 10,000\.00 USD \(1,234\.56 USD used today\)\. It resets at Dec 7, 2026, 9:00\sAM\.$/);
    const berlin = { currencies: new Currencies({ USD: 2 }, "de-DE", "Europe/Berlin"), currency: "USD" };
    expect(describeError(limited({ ...sent, direction: "deposit" }), "deposit", berlin)).toMatch(/daily deposit limit of 10\.000,00 USD \(1\.234,56 USD used today\)\. It resets at 07\.12\.2026, 01:00\.$/);
    expect(describeError(limited({ ...sent, direction: "transfer_out" }), "transfer", tokyo)).toContain("the account's daily limit for transfers out of 10,000.00 USD");
    expect(describeError(limited({ ...sent, direction: "incoming" }), "transfer", tokyo)).toContain("the receiving account's daily limit for incoming money of 10,000.00 USD");
    // A JPY account: no decimals.
    expect(describeError(limited({ ...sent, limit: "50000", used: "0" }), "withdraw", { ...tokyo, currency: "JPY" })).toContain("of 50,000 JPY (0 JPY used today)");
    // Without a currency to read them by, raw minor units are never shown; junk metadata neither.
    const bare = describeError(limited(sent), "withdraw");
    expect(bare).toMatch(/^This would go past the account's daily withdrawal limit\. It resets at /);
    expect(bare).not.toMatch(/1000000|123456/);
    expect(describeError(limited({ limit: "1000.00 USD", used: "-1", direction: "sideways" }), "deposit", tokyo)).toBe("This would go past the account's daily limit.");
    expect(describeError(new ConnectError("x", Code.Unimplemented), "limits")).toBe("This bank server does not offer that yet.");
  });

  test("formatWait rounds up: waiting the time said is always enough", () => {
    expect(formatWait(1)).toBe("1 second");
    expect(formatWait(1001)).toBe("2 seconds");
    expect(formatWait(89_000)).toBe("89 seconds");
    expect(formatWait(90_001)).toBe("2 minutes");
  });
});

describe("request ids", () => {
  test("are UUIDs, fresh per call", () => {
    const a = newRequestId();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newRequestId()).not.toBe(a);
  });
});

describe("money-safe retries", () => {
  const lost = () => new ConnectError("Failed to fetch", Code.Unknown, undefined, undefined, new TypeError("Failed to fetch"));

  interface Recorded {
    events: string[];
    events_: OperationEvents<string>;
  }
  const recorder = (): Recorded => {
    const events: string[] = [];
    return {
      events,
      events_: {
        sending: (op) => void events.push(`sending ${op.attempts}`),
        uncertain: (_op, _err, next) => void events.push(`uncertain next=${next ?? "none"}`),
        done: (_op, value) => void events.push(`done ${value}`),
        refused: () => void events.push("refused"),
      },
    };
  };

  let counter = 0;
  const ids = () => `id-${++counter}`;

  test("back-off doubles from a second and stops growing at a minute", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20, 1000].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000]);
  });

  test("an attempt without an answer keeps its request_id: automatic retries and the person's retry send the same id, and it settles once", async () => {
    const timers = new FakeTimers();
    const retries = new SafeRetries(timers, ids);
    const sent: string[] = [];
    const r = recorder();
    const op = retries.run("Deposit", { accountId: "a", amount: { currency: "USD", minorUnits: 2000n } }, async (id) => {
      sent.push(id);
      if (sent.length <= 2) throw lost();
      return "tx-1";
    }, r.events_);
    await settle();
    expect(op.state).toBe("uncertain");
    expect(timers.delays()).toEqual([1000]);
    await timers.advance(1000); // automatic retry: lost again
    expect(timers.delays()).toEqual([2000]);
    await op.attempt(); // "Retry safely"
    expect(sent).toEqual([op.requestId, op.requestId, op.requestId]);
    expect(op.state).toBe("done");
    expect(timers.delays()).toEqual([]);
    expect(r.events).toEqual(["sending 1", "uncertain next=1000", "sending 2", "uncertain next=2000", "sending 3", "done tx-1"]);
  });

  test("the same values sent again while the outcome is unknown are the same intent; a success or a refusal ends it", async () => {
    const timers = new FakeTimers();
    const retries = new SafeRetries(timers, ids);
    const request = { accountId: "a", amount: { currency: "USD", minorUnits: 500n }, description: "rent" };
    const sent: string[] = [];
    let answer: "lost" | "ok" | "refused" = "lost";
    const send = async (id: string) => {
      sent.push(id);
      if (answer === "lost") throw lost();
      if (answer === "refused") throw new ConnectError("no", Code.FailedPrecondition);
      return "tx";
    };
    const first = retries.run("Deposit", request, send, recorder().events_);
    await settle();
    expect(retries.keptRequestId("Deposit", { ...request })).toBe(first.requestId);
    // Other values are another intent, with another id; the first is still known.
    const other = retries.run("Deposit", { ...request, description: "rent (march)" }, send, recorder().events_);
    await settle();
    expect(other.requestId).not.toBe(first.requestId);
    answer = "ok";
    const again = retries.run("Deposit", { ...request }, send, recorder().events_);
    await settle();
    expect(again).toBe(first);
    expect(first.state).toBe("done");
    expect(sent.filter((id) => id === first.requestId)).toHaveLength(2);
    // After the success, the same values are a new intent.
    const next = retries.run("Deposit", { ...request }, send, recorder().events_);
    await settle();
    expect(next.requestId).not.toBe(first.requestId);
    // A definite refusal ends the intent too: nothing is kept.
    answer = "refused";
    const refused = retries.run("Deposit", { ...request, description: "x" }, send, recorder().events_);
    await settle();
    expect(refused.state).toBe("refused");
    expect(retries.keptRequestId("Deposit", { ...request, description: "x" })).toBeUndefined();
    expect(timers.delays()).toEqual([1000]); // only "other" is still retried by itself
  });

  test("the same request under another method is another intent", () => {
    const a = fingerprint("Deposit", { accountId: "a", amount: { currency: "USD", minorUnits: 1n } });
    expect(fingerprint("Withdraw", { accountId: "a", amount: { currency: "USD", minorUnits: 1n } })).not.toBe(a);
    expect(fingerprint("Deposit", { accountId: "a", amount: { currency: "USD", minorUnits: 1n } })).toBe(a);
    expect(fingerprint("Deposit", { accountId: "a", amount: { currency: "USD", minorUnits: 10n } })).not.toBe(a);
  });

  test("automatic retries are bounded; then only the person's retry sends, still with the same id", async () => {
    const timers = new FakeTimers();
    const retries = new SafeRetries(timers, ids);
    const sent: string[] = [];
    const r = recorder();
    const op = retries.run("Transfer", { amount: 1n }, async (id) => {
      sent.push(id);
      throw lost();
    }, r.events_);
    await settle();
    for (let i = 0; i < 20; i++) await timers.advance(60_000);
    expect(sent).toHaveLength(1 + consoleLimits.safeRetryAutomaticMax);
    expect(timers.delays()).toEqual([]);
    expect(r.events.at(-1)).toBe("uncertain next=none");
    await op.attempt();
    expect(sent).toHaveLength(2 + consoleLimits.safeRetryAutomaticMax);
    expect(new Set(sent).size).toBe(1);
  });

  test("editing the form stops the automatic retries; signing out abandons the operation but keeps its id", async () => {
    const timers = new FakeTimers();
    const retries = new SafeRetries(timers, ids);
    let calls = 0;
    const send = async () => {
      calls++;
      throw lost();
    };
    const op = retries.run("Deposit", { n: 1 }, send, recorder().events_);
    await settle();
    op.stopAutomatic();
    await timers.advance(120_000);
    expect(calls).toBe(1);
    retries.abandonAll();
    expect(op.state).toBe("abandoned");
    await op.attempt();
    expect(calls).toBe(1);
    // Signed in again, the same values still carry the same id: no second posting.
    const again = retries.run("Deposit", { n: 1 }, send, recorder().events_);
    expect(again.requestId).toBe(op.requestId);
  });

  test("two attempts of one intent out at once: the first answer settles it, the second is ignored", async () => {
    const timers = new FakeTimers();
    const retries = new SafeRetries(timers, ids);
    const pending: Array<{ resolve: (v: string) => void; reject: (e: unknown) => void }> = [];
    const r = recorder();
    const op = retries.run("Deposit", { n: 2 }, () => new Promise<string>((resolve, reject) => pending.push({ resolve, reject })), r.events_);
    void op.attempt();
    expect(pending).toHaveLength(2);
    pending[0]!.reject(lost()); // one lost while the other is out: not yet uncertain
    await settle();
    expect(op.state).toBe("sending");
    pending[1]!.resolve("tx-9");
    await settle();
    expect(op.state).toBe("done");
    expect(r.events.filter((e) => e.startsWith("done"))).toEqual(["done tx-9"]);
  });
});

describe("token refresh", () => {
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

describe("what the roles allow, read from the contract's access option", () => {
  const services = [AuthService, AccountService, TransactionService, AdminService, AuditService];
  const { CUSTOMER, TELLER, AUDITOR, ADMIN } = Role;
  // docs/api.md, written out by hand: the console must agree with the contract, method by method.
  const staffRead = [CUSTOMER, TELLER, AUDITOR, ADMIN];
  const operators = [CUSTOMER, TELLER, ADMIN];
  const expected: Record<string, Role[] | "public"> = {
    "AuthService.Register": "public", "AuthService.Login": "public", "AuthService.RefreshToken": "public", "AuthService.IntrospectToken": "public", "AuthService.GetJwks": "public",
    "AuthService.Logout": staffRead, "AuthService.GetCurrentUser": staffRead, "AuthService.ChangePassword": staffRead, "AuthService.ListSessions": staffRead, "AuthService.RevokeSession": staffRead,
    "AccountService.CreateAccount": operators, "AccountService.GetAccount": staffRead, "AccountService.ListAccounts": staffRead, "AccountService.UpdateAccount": [CUSTOMER, ADMIN],
    "AccountService.GetBalance": staffRead, "AccountService.FreezeAccount": [TELLER, ADMIN], "AccountService.UnfreezeAccount": [TELLER, ADMIN], "AccountService.CloseAccount": [CUSTOMER, ADMIN],
    "AccountService.SetAccountLimits": [ADMIN], "AccountService.LookupAccount": [TELLER, AUDITOR, ADMIN], "AccountService.WatchAccount": staffRead,
    "TransactionService.Deposit": operators, "TransactionService.Withdraw": operators, "TransactionService.Transfer": operators, "TransactionService.BatchTransfer": operators,
    "TransactionService.GetTransaction": staffRead, "TransactionService.ListTransactions": staffRead, "TransactionService.CreateHold": [TELLER, ADMIN],
    "TransactionService.CaptureHold": [TELLER, ADMIN], "TransactionService.ReleaseHold": [TELLER, ADMIN], "TransactionService.ReverseTransaction": [ADMIN],
    "AdminService.ListUsers": [TELLER, AUDITOR, ADMIN], "AdminService.SetUserRoles": [ADMIN], "AdminService.DisableUser": [ADMIN], "AdminService.EnableUser": [ADMIN],
    "AuditService.ListAuditEvents": [AUDITOR, ADMIN], "AuditService.VerifyAuditLog": [AUDITOR, ADMIN],
    // Third wave (issue 27): the staff second factor and service accounts.
    "AuthService.IssueServiceToken": "public", "AuthService.EnrollTotp": [TELLER, AUDITOR, ADMIN], "AuthService.ConfirmTotp": [TELLER, AUDITOR, ADMIN],
    "AdminService.ResetSecondFactor": [ADMIN], "AdminService.CreateServiceAccount": [ADMIN], "AdminService.ListServiceAccounts": [AUDITOR, ADMIN],
    "AdminService.DisableServiceAccount": [ADMIN], "AdminService.AddServiceAccountKey": [ADMIN], "AdminService.RevokeServiceAccountKey": [ADMIN],
  };

  test("every method of every service, for every role, as docs/api.md says", () => {
    const seen: string[] = [];
    for (const service of services) {
      for (const method of service.methods) {
        const name = `${service.name}.${method.name}`;
        seen.push(name);
        const rule = expected[name];
        expect([name, rule === undefined]).toEqual([name, false]);
        for (const role of [CUSTOMER, TELLER, AUDITOR, ADMIN]) {
          expect([name, Role[role], rolesMayCall([role], method)]).toEqual([name, Role[role], rule === "public" || rule!.includes(role)]);
        }
        expect([name, rolesMayCall([], method)]).toEqual([name, rule === "public"]);
      }
    }
    expect(seen.sort()).toEqual(Object.keys(expected).sort());
  });

  test("several roles allow what any of them allows; staff is any staff role", () => {
    const p = new Permissions([CUSTOMER, AUDITOR]);
    expect(p.may(AuditService.method.verifyAuditLog)).toBe(true);
    expect(p.may(AccountService.method.closeAccount)).toBe(true);
    expect(p.may(TransactionService.method.createHold)).toBe(false);
    expect(p.isStaff).toBe(true);
    expect(new Permissions([CUSTOMER]).isStaff).toBe(false);
    expect(Permissions.none().may(AccountService.method.listAccounts)).toBe(false);
    expect(new Permissions([Role.UNSPECIFIED]).may(AccountService.method.listAccounts)).toBe(false);
  });

  test("the roles are read from the access token's roles claim; junk grants nothing", () => {
    const jwt = (claims: unknown) => `eyJhbGciOiJFZERTQSJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;
    expect(rolesFromToken(jwt({ sub: "u", roles: ["CUSTOMER", "ADMIN"] }))).toEqual([CUSTOMER, ADMIN]);
    expect(rolesFromToken(jwt({ roles: ["ROLE_TELLER", "teller", "WIZARD", 7] }))).toEqual([TELLER]);
    expect(rolesFromToken(jwt({ sub: "u" }))).toBeUndefined();
    expect(rolesFromToken("not a token")).toBeUndefined();
    expect(rolesFromToken("a.!!!.c")).toBeUndefined();
  });
});

describe("statement lines", () => {
  const currencies = new Currencies({ USD: 2 });
  const known: KnownAccounts = { numberOf: (id) => (id === "acc-b" ? "4021 5583 1907 26" : undefined) };
  type TxInit = { type?: TransactionType; status?: TransactionStatus; fromAccountId?: string; toAccountId?: string; description?: string; amount?: { currency: string; minorUnits: bigint } };
  const entry = (tx: TxInit, amount: bigint, counterparty?: { accountNumber: string; name: string }) =>
    create(StatementEntrySchema, {
      transaction: { id: "tx-1", description: "", amount: { currency: "USD", minorUnits: amount < 0n ? -amount : amount }, status: TransactionStatus.POSTED, ...tx },
      amount: { currency: "USD", minorUnits: amount },
      balanceAfter: { currency: "USD", minorUnits: 10_000n },
      counterparty,
    });

  test("the server's counterparty is shown as sent: number, and the name only when there is one", () => {
    const staff = entry({ type: TransactionType.TRANSFER, fromAccountId: "acc-a", toAccountId: "acc-c" }, -500n, { accountNumber: "4021 5583 1907 26", name: "Bob Example" });
    expect(statementLine(staff, "acc-a", currencies, known).otherParty).toBe("4021 5583 1907 26 · Bob Example");
    const customer = entry({ type: TransactionType.TRANSFER, fromAccountId: "acc-a", toAccountId: "acc-c" }, -500n, { accountNumber: "4021 5583 1907 26", name: "" });
    expect(statementLine(customer, "acc-a", currencies, known).otherParty).toBe("4021 5583 1907 26");
  });

  test("without a counterparty: deposits and withdrawals are the outside world, a known account by its number, else nothing", () => {
    expect(otherParty(entry({ type: TransactionType.DEPOSIT, toAccountId: "acc-a" }, 500n), "acc-a", known)).toBe(OUTSIDE_THE_BANK);
    expect(otherParty(entry({ type: TransactionType.WITHDRAWAL, fromAccountId: "acc-a" }, -500n), "acc-a", known)).toBe(OUTSIDE_THE_BANK);
    expect(otherParty(entry({ type: TransactionType.TRANSFER, fromAccountId: "acc-b", toAccountId: "acc-a" }, 500n), "acc-a", known)).toBe("4021 5583 1907 26");
    expect(otherParty(entry({ type: TransactionType.TRANSFER, fromAccountId: "acc-a", toAccountId: "acc-z" }, -500n), "acc-a", known)).toBe("");
    expect(otherParty(entry({ type: TransactionType.HOLD, fromAccountId: "acc-a" }, 0n), "acc-a", known)).toBe("");
  });

  test("a pending hold shows as pending with the amount held; settled holds say how; only posted movements are reversible", () => {
    const hold = statementLine(entry({ type: TransactionType.HOLD, status: TransactionStatus.PENDING, fromAccountId: "acc-a", amount: { currency: "USD", minorUnits: 1000n } }, 0n), "acc-a", currencies, known);
    expect(hold).toMatchObject({ type: "Hold (pending)", amount: "held 10.00 USD", amountKind: "held", pending: true, reversible: false });
    const captured = statementLine(entry({ type: TransactionType.HOLD, status: TransactionStatus.CAPTURED }, 0n), "acc-a", currencies, known);
    expect(captured).toMatchObject({ type: "Hold (captured)", pending: false, reversible: false });
    const deposit = statementLine(entry({ type: TransactionType.DEPOSIT, description: "Salary" }, 1234n), "acc-a", currencies, known);
    expect(deposit).toMatchObject({ description: "Salary", type: "Deposit", amount: "+12.34 USD", amountKind: "credit", balance: "100.00 USD", transactionId: "tx-1", reversible: true });
    const reversed = statementLine(entry({ type: TransactionType.DEPOSIT, status: TransactionStatus.REVERSED }, 1234n), "acc-a", currencies, known);
    expect(reversed).toMatchObject({ type: "Deposit (reversed)", description: "Deposit", reversible: false });
    expect(statementLine(entry({ type: TransactionType.REVERSAL }, -1234n), "acc-a", currencies, known).reversible).toBe(false);
  });
});

describe("daily limits and times", () => {
  const currencies = new Currencies({ USD: 2 });
  test("a limit reads as what is used of it today and where it comes from; absent parts degrade to words", () => {
    const limit = (init: MessageInitShape<typeof DailyLimitSchema>) => create(DailyLimitSchema, init);
    expect(dailyLimitText(limit({ limit: { currency: "USD", minorUnits: 100_000n }, used: { currency: "USD", minorUnits: 2_500n }, source: DailyLimitSource.DEFAULT }), currencies)).toBe("25.00 USD of 1,000.00 USD used today (bank default)");
    expect(dailyLimitText(limit({ unlimited: true, used: { currency: "USD", minorUnits: 0n }, source: DailyLimitSource.ACCOUNT }), currencies)).toBe("No limit; 0.00 USD used today (set for this account)");
    expect(dailyLimitText(limit({}), currencies)).toBe("Not reported");
    expect(dailyLimitText(undefined, currencies)).toBe("Not reported");
  });

  test("datetime-local values are local times; anything else is refused", () => {
    expect(localTimeMs("")).toBeUndefined();
    expect(localTimeMs("2026-11-26T14:03:07")).toBe(new Date(2026, 10, 26, 14, 3, 7).getTime());
    expect(localTimeMs("2026-11-26T14:03")).toBe(new Date(2026, 10, 26, 14, 3).getTime());
    expect(localTimeMs("yesterday")).toBe("invalid");
    expect(localTimeMs("2026-13-40T99:99")).toBe("invalid");
  });
});
