// An internal service (notifications, bookkeeping, fraud scoring) that follows one account's money
// as it moves: AccountService.WatchAccount over gRPC (@connectrpc/connect-node, the generated code
// in gen/). It calls as a service account with ROLE_AUDITOR (staff may watch any account; an
// auditor is enough): it signs an assertion with its own key (examples/service-key.ts), exchanges
// it for an access token (IssueServiceToken), verifies the token offline against the JWKS, and
// prints one line per statement entry:
//
//   <time, ISO 8601>\t<amount, signed minor units>\t<balance after, minor units>\t<currency>\t<counterparty number or ->\t<transaction id>
//
// After each printed line it saves the entry's cursor in the state file (--state), and a restart
// resumes after it: nothing is printed twice, nothing is skipped. (A crash between printing a line
// and saving its cursor prints that line again after the restart: consumers that must not count a
// movement twice key on the transaction id.) Streams end for ordinary reasons: the server drains
// (UNAVAILABLE), the deadline passes (DEADLINE_EXCEEDED), the reader fell behind (RESOURCE_EXHAUSTED
// WATCH_TOO_SLOW), the network fails, or the connection goes silent; each is followed by a
// reconnect from the last cursor with a doubling, jittered back-off. A closed account's stream says
// so (WatchAccountResponse.account, status CLOSED) and ends with OK: nothing can move any more, so
// the watch ends (exit 0). SIGINT or SIGTERM stops it cleanly (exit 0).
//
//   npx tsx examples/watch-account.ts --base-url http://127.0.0.1:8080 --service-account <id> \
//     --key-file service.key.jwk --account <account id> --state ./watch-state.json
import * as fs from "node:fs";
import * as path from "node:path";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampDate, timestampMs } from "@bufbuild/protobuf/wkt";
import { AccountStatus } from "../gen/bank/v1/account_pb";
import { AccountService, type WatchAccountResponse } from "../gen/bank/v1/account_service_pb";
import { AuthService } from "../gen/bank/v1/auth_service_pb";
import { ErrorInfoSchema } from "../gen/bank/v1/error_info_pb";
import type { StatementEntry } from "../gen/bank/v1/transaction_pb";
import { TransactionService } from "../gen/bank/v1/transaction_service_pb";
import { fetchJwks, parseServiceArgs, verifyAccessToken, type VerifyOptions } from "./verify-token";
import { loadServiceKey, signAssertion, type ServiceCredentials } from "./service-key";

/** The example's limits, each with its reason. */
export const watchLimits = {
  /** First reconnect after a stream ends (jittered down to half), doubling for each stream in a
   * row that delivered nothing... */
  backoffMsBase: 500,
  /** ...up to this: a restarting server is bridged without hammering it. */
  backoffMsMax: 30_000,
  /** Streams in a row that deliver nothing before giving up (exit 1, for a supervisor to see):
   * about ten minutes of back-off. */
  failuresMax: 20,
  /** The server sends a heartbeat every 5 s; this long without a message is a dead connection. */
  silenceMsMax: 20_000,
  /** Each stream's deadline, asked for explicitly (the server's default is also an hour): then
   * the stream ends with DEADLINE_EXCEEDED and the next one resumes from the cursor. */
  streamTimeoutMs: 60 * 60_000,
  /** Unary calls (sign-in, statement pages). */
  callTimeoutMs: 10_000,
  /** The access token is renewed when it has less than this left before a stream starts. */
  tokenRenewLeadMs: 60_000,
  /** Statement pages read when the watch starts from the beginning of the statement (an account
   * without entries when first watched): 100 pages of 500 entries. */
  statementPagesMax: 100,
  statementPageSize: 500,
} as const;

export interface WatchOptions extends VerifyOptions {
  accountId: string;
  /** Where the last printed entry's cursor is kept; without it, each start is from now. */
  statePath?: string;
  /** Stops the watch (SIGINT/SIGTERM on the command line). */
  signal?: AbortSignal;
  /** Where movements go (stdout on the command line) and what happens goes (stderr). */
  print?: (line: string) => void;
  log?: (line: string) => void;
  limits?: Partial<typeof watchLimits>;
}

/** One line per entry; amounts in minor units, exact. */
export function movementLine(entry: StatementEntry): string {
  const tx = entry.transaction;
  const amount = entry.amount?.minorUnits ?? 0n;
  return [
    tx?.createTime ? timestampDate(tx.createTime).toISOString() : "-",
    amount > 0n ? `+${amount}` : `${amount}`,
    `${entry.balanceAfter?.minorUnits ?? 0n}`,
    entry.amount?.currency ?? "",
    entry.counterparty?.accountNumber.replace(/ /g, "") || "-",
    tx?.id ?? "",
  ].join("\t");
}

/** Endings after which a new stream from the same cursor is the answer. Anything else (the
 * account is unknown or not visible, the cursor is not this account's, no permission) would be
 * refused again. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof ConnectError)) return true; // the network, below Connect
  return [Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted, Code.Unknown, Code.Internal, Code.Canceled, Code.Unauthenticated].includes(err.code);
}

function reasonOf(err: unknown): string {
  return err instanceof ConnectError ? (err.findDetails(ErrorInfoSchema)[0]?.reason ?? Code[err.code]) : err instanceof Error ? err.message : String(err);
}

/** The state file: which account, and the cursor of the last entry printed ("" = the beginning
 * of the statement: the account had no entries when first watched). Written atomically. */
class WatchState {
  constructor(private readonly file: string | undefined, private readonly accountId: string) {}

  load(): string | undefined {
    if (!this.file || !fs.existsSync(this.file)) return undefined;
    const saved = JSON.parse(fs.readFileSync(this.file, "utf8")) as { accountId?: unknown; cursor?: unknown };
    if (saved.accountId !== this.accountId || typeof saved.cursor !== "string") throw new Error(`${this.file} is the state of another account, or not a state file`);
    return saved.cursor;
  }

  save(cursor: string): void {
    if (!this.file) return;
    const temporary = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${process.pid}.tmp`);
    fs.writeFileSync(temporary, JSON.stringify({ accountId: this.accountId, cursor }) + "\n");
    fs.renameSync(temporary, this.file);
  }
}

/** A service account's token: IssueServiceToken with a fresh assertion at the start, and again
 * before a stream starts with a token about to expire, or after the server refused it. (Service
 * tokens are not refreshed: a new assertion is the service's proof, every few minutes.) */
class ServiceSession {
  private accessToken = "";
  private expireMs = 0;
  private readonly auth: Client<typeof AuthService>;

  constructor(private readonly baseUrl: string, private readonly credentials: ServiceCredentials, transport: Transport, private readonly opts: VerifyOptions, private readonly lim: typeof watchLimits) {
    this.auth = createClient(AuthService, transport);
  }

  async login(): Promise<void> {
    const key = await loadServiceKey(this.credentials.keyFile);
    const assertion = await signAssertion(key, this.credentials.serviceAccountId, this.opts.issuer ?? "bankd");
    const res = await this.auth.issueServiceToken({ assertion }, { timeoutMs: this.lim.callTimeoutMs });
    await verifyAccessToken(res.accessToken, await fetchJwks(this.baseUrl), this.opts);
    this.accessToken = res.accessToken;
    this.expireMs = res.expireTime ? timestampMs(res.expireTime) : 0;
  }

  /** The authorization header of a call about to start. */
  async headers(): Promise<Record<string, string>> {
    if (this.expireMs - Date.now() < this.lim.tokenRenewLeadMs) await this.renew();
    return { authorization: `Bearer ${this.accessToken}` };
  }

  /** The server refused the token (revoked, expired): get a new one at the next call. */
  forget(): void {
    this.expireMs = 0;
  }

  /** Nothing to end: the token dies within minutes, and the session with it. */
  async logout(): Promise<void> {}

  private async renew(): Promise<void> {
    await this.login();
  }
}

/** Watches until `signal` fires (resolves) or the watch cannot go on (rejects). */
export async function watchAccount(baseUrl: string, credentials: ServiceCredentials, opts: WatchOptions): Promise<{ printed: number; cursor: string }> {
  const watcher = new AccountWatcher(baseUrl, credentials, opts);
  return watcher.run();
}

class AccountWatcher {
  private readonly lim: typeof watchLimits;
  private readonly transport: Transport;
  private readonly session: ServiceSession;
  private readonly accounts: Client<typeof AccountService>;
  private readonly transactions: Client<typeof TransactionService>;
  private readonly state: WatchState;
  private readonly stop: AbortSignal;
  private readonly print: (line: string) => void;
  private readonly log: (line: string) => void;
  private cursor = "";
  private printed = 0;
  /** A stream said the account is closed. */
  private closed = false;

  constructor(baseUrl: string, credentials: ServiceCredentials, private readonly opts: WatchOptions) {
    this.lim = { ...watchLimits, ...opts.limits };
    this.transport = createGrpcTransport({ baseUrl });
    this.session = new ServiceSession(baseUrl, credentials, this.transport, opts, this.lim);
    this.accounts = createClient(AccountService, this.transport);
    this.transactions = createClient(TransactionService, this.transport);
    this.state = new WatchState(opts.statePath, opts.accountId);
    this.stop = opts.signal ?? new AbortController().signal;
    this.print = opts.print ?? ((line) => process.stdout.write(line + "\n"));
    this.log = opts.log ?? ((line) => process.stderr.write(line + "\n"));
  }

  async run(): Promise<{ printed: number; cursor: string }> {
    await this.session.login();
    try {
      this.cursor = this.state.load() ?? (await this.newestCursor());
      this.state.save(this.cursor);
      await this.loop();
    } finally {
      await this.session.logout();
    }
    return { printed: this.printed, cursor: this.cursor };
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stop.aborted) {
      const { delivered, error } = await this.stream();
      if (this.stop.aborted) return;
      if (this.closed && error === undefined) {
        this.log(`watch-account: ${this.opts.accountId} is closed; nothing more will move`);
        return;
      }
      if (delivered) failures = 0;
      if (!isRetryable(error)) throw new Error(`the watch was refused: ${reasonOf(error)}${reasonOf(error) === "CURSOR_INVALID" ? " (the state file's cursor is not one of this account's; remove the file to start from now)" : ""}`);
      if (error instanceof ConnectError && error.code === Code.Unauthenticated) this.session.forget();
      if (++failures > this.lim.failuresMax) throw new Error(`gave up after ${this.lim.failuresMax} attempts in a row without a message: ${reasonOf(error)}`);
      const ceiling = Math.min(this.lim.backoffMsMax, this.lim.backoffMsBase * 2 ** Math.min(failures - 1, 30));
      const delayMs = Math.round(ceiling / 2 + (ceiling / 2) * Math.random());
      this.log(`watch-account: stream ended (${error === undefined ? "by the server" : reasonOf(error)}); reconnecting in ${delayMs} ms after ${this.cursor === "" ? "the beginning" : "the last cursor"}`);
      await sleep(delayMs, this.stop);
    }
  }

  /** One stream from the cursor, read to its end. */
  private async stream(): Promise<{ delivered: boolean; error?: unknown }> {
    const silent = new AbortController();
    let silence: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(silence);
      silence = setTimeout(() => silent.abort(), this.lim.silenceMsMax);
    };
    const fromBeginning = this.cursor === "";
    let catchUp: Set<string> | undefined;
    let delivered = false;
    try {
      const headers = await this.session.headers();
      const signal = AbortSignal.any([this.stop, silent.signal]);
      arm();
      this.log(`watch-account: watching ${this.opts.accountId} after ${fromBeginning ? "the beginning" : "cursor " + this.cursor.slice(0, 16) + "…"}`);
      for await (const res of this.accounts.watchAccount({ accountId: this.opts.accountId, startAfter: this.cursor }, { headers, signal, timeoutMs: this.lim.streamTimeoutMs })) {
        arm();
        delivered = true;
        // Started from the beginning: what was committed before the stream began is read from
        // the statement once the stream is known to be open (its first message).
        if (fromBeginning && !catchUp) catchUp = await this.printStatement(headers);
        this.take(res, catchUp);
      }
      return { delivered };
    } catch (error) {
      return { delivered, error };
    } finally {
      clearTimeout(silence);
    }
  }

  /** Prints an entry unless the statement read already did; keeps the cursor. */
  private take(res: WatchAccountResponse, catchUp: Set<string> | undefined): void {
    if (res.account?.status === AccountStatus.CLOSED) this.closed = true;
    if (res.entry) {
      if (catchUp?.has(res.entry.cursor)) return;
      // Past what the statement read printed: the stream's cursors are the newest from here on.
      catchUp?.clear();
      this.emit(res.entry);
    } else if (res.cursor !== "" && !catchUp?.size) {
      this.cursor = res.cursor;
    }
  }

  private emit(entry: StatementEntry): void {
    this.print(movementLine(entry));
    this.printed++;
    this.cursor = entry.cursor;
    this.state.save(this.cursor);
  }

  /** The newest entry's cursor, or "" (the beginning) for an account without entries. */
  private async newestCursor(): Promise<string> {
    const res = await this.transactions.listTransactions({ accountId: this.opts.accountId, pageSize: 1 }, { headers: await this.session.headers(), timeoutMs: this.lim.callTimeoutMs });
    return res.entries[0]?.cursor ?? "";
  }

  /** Prints the whole statement, oldest first (every entry is new: nothing was printed yet), and
   * answers the cursors printed. */
  private async printStatement(headers: Record<string, string>): Promise<Set<string>> {
    const entries: StatementEntry[] = [];
    let pageToken = "";
    for (let page = 0; ; page++) {
      if (page >= this.lim.statementPagesMax) throw new ConnectError(`the statement is longer than ${this.lim.statementPagesMax} pages`, Code.ResourceExhausted);
      const res = await this.transactions.listTransactions({ accountId: this.opts.accountId, pageSize: this.lim.statementPageSize, pageToken }, { headers, timeoutMs: this.lim.callTimeoutMs });
      entries.push(...res.entries);
      pageToken = res.nextPageToken;
      if (pageToken === "") break;
    }
    const printed = new Set<string>();
    for (const entry of entries.reverse()) {
      this.emit(entry);
      printed.add(entry.cursor);
    }
    return printed;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

export const WATCH_USAGE =
  "usage: npx tsx examples/watch-account.ts --base-url http://127.0.0.1:8080 --service-account SERVICE_ACCOUNT_ID --key-file service.key.jwk --account ACCOUNT_ID [--state FILE]";

if (require.main === module) {
  const stop = new AbortController();
  for (const name of ["SIGINT", "SIGTERM"] as const) process.once(name, () => stop.abort());
  (async () => {
    const { baseUrl, credentials, need, flag } = parseServiceArgs(process.argv.slice(2));
    const result = await watchAccount(baseUrl, credentials, { accountId: need("account"), statePath: flag("state"), signal: stop.signal });
    process.stderr.write(`watch-account: stopped after ${result.printed} movements\n`);
    // The HTTP/2 session would keep the process up for its idle timeout; the work is done.
    process.exit(0);
  })().catch((err: unknown) => {
    const why = err instanceof ConnectError ? `${Code[err.code]} ${reasonOf(err)}: ${err.rawMessage}` : err instanceof Error ? err.message : String(err);
    console.error(`watch-account: ${why}\n${WATCH_USAGE}`);
    process.exit(1);
  });
}
