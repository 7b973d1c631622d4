// Clients of a running bankd as the scenarios use it: sign-up over the API, accounts and funding,
// and calls retried the way a careful client retries a money movement (AIP-155): with the SAME
// request_id, on UNAVAILABLE, on a conflict, or when the connection broke before an answer.
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import { AuthService } from "../../../gen/bank/v1/auth_service_pb";
import { AccountService } from "../../../gen/bank/v1/account_service_pb";
import { TransactionService } from "../../../gen/bank/v1/transaction_service_pb";
import { AccountType } from "../../../gen/bank/v1/account_pb";
import { ErrorInfoSchema } from "../../../gen/bank/v1/error_info_pb";
import { enrolSecondFactor, strongPassword, uniqueEmail } from "../../support/users";
import { Rng, sleep } from "./rng";

export type Protocol = "connect" | "grpc";

export function transport(baseUrl: string, opts: { protocol?: Protocol; token?: string } = {}): Transport {
  const auth: Interceptor = (next) => async (req) => {
    if (opts.token) req.header.set("authorization", `Bearer ${opts.token}`);
    return next(req);
  };
  return opts.protocol === "grpc"
    ? // Idle HTTP/2 sessions close soon, so that a finished scenario leaves no open handle.
      createGrpcTransport({ baseUrl, interceptors: [auth], idleConnectionTimeoutMs: 1_000 })
    : createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [auth] });
}

export function api<T extends DescService>(service: T, baseUrl: string, opts: { protocol?: Protocol; token?: string } = {}): Client<T> {
  return createClient(service, transport(baseUrl, opts));
}

export interface Session {
  userId: string;
  email: string;
  password: string;
  token: string;
}

/** Registers a customer over the API and signs in. */
export async function signUp(baseUrl: string, label = "sys"): Promise<Session> {
  const email = uniqueEmail(label);
  const password = strongPassword();
  const reg = await retrying(() => api(AuthService, baseUrl).register({ email, password, fullName: `System ${label}` }));
  const token = await signIn(baseUrl, email, password);
  return { userId: reg.user!.id, email, password, token };
}

export async function signIn(baseUrl: string, email: string, password: string): Promise<string> {
  const res = await retrying(() => api(AuthService, baseUrl).login({ email, password }));
  return res.accessToken;
}

/** The first sign-in of staff made by `bankd create-user`: enrolment-only, so the second factor
 * is enrolled over the API (a code computed from the secret, as an authenticator app would) and
 * the full session ConfirmTotp starts is returned (issue 27). */
export async function signInNewStaff(baseUrl: string, email: string, password: string): Promise<{ token: string; totpSecret: string }> {
  const login = await retrying(() => api(AuthService, baseUrl).login({ email, password }));
  if (!login.secondFactorEnrolmentRequired) throw new Error(`${email} is not staff without a second factor`);
  const enrolled = await enrolSecondFactor(baseUrl, login.accessToken);
  return { token: enrolled.token, totpSecret: enrolled.secret };
}

/** One session per client, client c signed in as user c % users on `urlFor(c)`. */
export async function signInClients(users: readonly Session[], clients: number, urlFor: (client: number) => string): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let c = 0; c < clients; c++) {
    const user = users[c % users.length]!;
    sessions.push({ ...user, token: await signIn(urlFor(c), user.email, user.password) });
  }
  return sessions;
}

export interface AccountRef {
  id: string;
  number: string;
  currency: string;
  ownerId: string;
}

export interface Bank {
  users: Session[];
  accounts: AccountRef[];
  /** Money deposited into the accounts, per currency. */
  totals: Map<string, bigint>;
}

/** `users` customers with `accountsPerUser` accounts each (currencies in rotation), each account
 * funded with `fundingMinor` by a deposit. */
export async function setupBank(baseUrl: string, opts: { users: number; accountsPerUser: number; currencies: string[]; fundingMinor: bigint; label: string }): Promise<Bank> {
  const users: Session[] = [];
  for (let u = 0; u < opts.users; u++) users.push(await signUp(baseUrl, `${opts.label}-u${u}`));
  const accounts: AccountRef[] = [];
  const totals = new Map<string, bigint>();
  for (const [u, user] of users.entries()) {
    const accountsApi = api(AccountService, baseUrl, { token: user.token });
    const moneyApi = api(TransactionService, baseUrl, { token: user.token });
    for (let a = 0; a < opts.accountsPerUser; a++) {
      const currency = opts.currencies[a % opts.currencies.length]!;
      const requestId = `${opts.label}-open-u${u}-a${a}`;
      const res = await retrying(() => accountsApi.createAccount({ requestId, currency, type: AccountType.CHECKING, displayName: `acct ${u}.${a}` }));
      const account = res.account!;
      accounts.push({ id: account.id, number: account.number, currency, ownerId: user.userId });
      await retrying(() =>
        moneyApi.deposit({ requestId: `${opts.label}-fund-u${u}-a${a}`, accountId: account.id, amount: { currency, minorUnits: opts.fundingMinor }, description: "funding" }),
      );
      totals.set(currency, (totals.get(currency) ?? 0n) + opts.fundingMinor);
    }
  }
  return { users, accounts, totals };
}

export interface ErrorView {
  code: Code;
  codeName: string;
  reason?: string;
  message: string;
  metadata: Record<string, string>;
  /** True when the error came from bankd (it carries a bank.v1.ErrorInfo), false when the
   * client made it (a broken connection, a refused connection, a local deadline). */
  fromServer: boolean;
}

export function viewError(err: unknown): ErrorView {
  const ce = ConnectError.from(err);
  const info = ce.findDetails(ErrorInfoSchema)[0];
  return { code: ce.code, codeName: Code[ce.code], reason: info?.reason, message: ce.rawMessage, metadata: { ...(info?.metadata ?? {}) }, fromServer: info !== undefined };
}

/** Whether a careful client retries (with the same request_id): bankd said UNAVAILABLE or
 * ABORTED (a conflict that persisted), or no answer came back at all (the connection broke or
 * was refused). Every other answer from bankd is final. */
export function isRetryable(e: ErrorView): boolean {
  if (e.fromServer) return e.code === Code.Unavailable || e.code === Code.Aborted;
  return ![Code.InvalidArgument, Code.ResourceExhausted, Code.Unimplemented, Code.DeadlineExceeded, Code.PermissionDenied, Code.Unauthenticated].includes(e.code);
}

export interface RetryStats {
  attempts: number;
  retries: number;
  /** Errors seen, by "CODE reason" (reason "client" when no answer came from bankd). */
  errors: Record<string, number>;
  /** The first message seen for each key of `errors` (to check that it is generic). */
  messages: Record<string, string>;
}

export function newRetryStats(): RetryStats {
  return { attempts: 0, retries: 0, errors: {}, messages: {} };
}

export type Attempted<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; acked: true; error: ErrorView; attempts: number }
  | { ok: false; acked: false; error: ErrorView; attempts: number };

/** Calls `fn(attempt)` until bankd gives a final answer or `maxAttempts` is reached. A final
 * error is an acknowledged outcome; running out of attempts leaves the operation unacknowledged. */
export async function attempt<T>(fn: (attempt: number) => Promise<T>, opts: { maxAttempts?: number; rng?: Rng; stats?: RetryStats; backoffMsMax?: number } = {}): Promise<Attempted<T>> {
  const maxAttempts = opts.maxAttempts ?? 60;
  let last: ErrorView | undefined;
  for (let n = 1; n <= maxAttempts; n++) {
    if (opts.stats) {
      opts.stats.attempts++;
      if (n > 1) opts.stats.retries++;
    }
    try {
      return { ok: true, value: await fn(n), attempts: n };
    } catch (err) {
      last = viewError(err);
      if (opts.stats) {
        const key = `${last.codeName} ${last.fromServer ? last.reason : "client"}`;
        opts.stats.errors[key] = (opts.stats.errors[key] ?? 0) + 1;
        opts.stats.messages[key] ??= last.message;
      }
      if (!isRetryable(last)) return { ok: false, acked: true, error: last, attempts: n };
      const cap = Math.min(opts.backoffMsMax ?? 400, 10 * 2 ** Math.min(n, 8));
      await sleep(cap / 2 + (opts.rng ? opts.rng.next() : Math.random()) * (cap / 2));
    }
  }
  return { ok: false, acked: false, error: last!, attempts: maxAttempts };
}

/** For setup steps: retries like a client, throws on anything final. */
export async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const res = await attempt(fn, { maxAttempts: 40 });
  if (res.ok) return res.value;
  throw new Error(`setup call failed: ${res.error.codeName} ${res.error.reason ?? ""} ${res.error.message}`);
}
