// An internal service calling bankd with @connectrpc/connect-node's gRPC transport (HTTP/2,
// cleartext with prior knowledge for http:// URLs) and the generated code in gen/: sign in as a
// service user, verify the access token offline against the JWKS, then make a transfer with a
// request_id, retrying on UNAVAILABLE with the same request_id.
//
//   BANK_PASSWORD=... npx tsx examples/connect-node-caller.ts --email payments@example.com \
//     --from <source account id> --to-number <target account number> --amount-minor 1234
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { JWTPayload } from "jose";
import { AuthService } from "../gen/bank/v1/auth_service_pb";
import { TransactionService } from "../gen/bank/v1/transaction_service_pb";
import { CLI_USAGE, fetchJwks, parseCliArgs, retryUnavailable, verifyAccessToken, type Credentials, type TransferAccounts, type VerifyOptions } from "./verify-token";

export type { Credentials, TransferAccounts };

export interface CallerOptions extends VerifyOptions {
  /** Extra client interceptors (the test uses one to lose a response). */
  interceptors?: Interceptor[];
  /** Retries after UNAVAILABLE; bounded so that an outage fails the caller instead of hanging it. */
  retriesMax?: number;
  backoffMsBase?: number;
  /** Deadline of each call. */
  timeoutMs?: number;
}

export interface CallerResult {
  claims: JWTPayload;
  requestId: string;
  transactionId: string;
  attempts: number;
}

export async function runConnectNodeCaller(baseUrl: string, credentials: Credentials, accounts: TransferAccounts, opts: CallerOptions = {}): Promise<CallerResult> {
  const transport = createGrpcTransport({ baseUrl, interceptors: opts.interceptors ?? [], defaultTimeoutMs: opts.timeoutMs ?? 10_000 });
  const auth = createClient(AuthService, transport);
  const transactions = createClient(TransactionService, transport);

  const login = await auth.login({ email: credentials.email, password: credentials.password, ...credentials.secondFactor });
  const claims = await verifyAccessToken(login.accessToken, await fetchJwks(baseUrl), opts);

  // One request_id for this transfer, kept across retries (AIP-155).
  const requestId = randomUUID();
  const headers = { authorization: `Bearer ${login.accessToken}` };
  const { value, attempts } = await retryUnavailable(
    () =>
      transactions.transfer(
        {
          requestId,
          fromAccountId: accounts.fromAccountId,
          target: { case: "toAccountNumber", value: accounts.toAccountNumber },
          amount: accounts.amount,
          description: accounts.description ?? "",
        },
        { headers },
      ),
    (err) => err instanceof ConnectError && err.code === Code.Unavailable,
    { retriesMax: opts.retriesMax ?? 4, backoffMsBase: opts.backoffMsBase ?? 200 },
  );
  await auth.logout({ refreshToken: login.refreshToken }, { headers }).catch(() => undefined);
  return { claims, requestId, transactionId: value.transaction?.id ?? "", attempts };
}

if (require.main === module) {
  (async () => {
    const { baseUrl, credentials, accounts } = parseCliArgs(process.argv.slice(2));
    const result = await runConnectNodeCaller(baseUrl, credentials, accounts);
    console.log(JSON.stringify({ subject: result.claims.sub, requestId: result.requestId, transactionId: result.transactionId, attempts: result.attempts }));
  })().catch((err: unknown) => {
    console.error(`connect-node-caller: ${err instanceof Error ? err.message : String(err)}\n${CLI_USAGE}`);
    process.exit(1);
  });
}
