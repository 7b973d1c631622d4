// An internal service calling bankd with @grpc/grpc-js and @grpc/proto-loader over the .proto
// files in proto/ (gRPC over cleartext HTTP/2): sign in as a service user, verify the access token
// offline against the JWKS, then make a transfer with a request_id, retrying on UNAVAILABLE with
// the same request_id.
//
//   BANK_PASSWORD=... npx tsx examples/grpc-js-caller.ts --email payments@example.com \
//     --from <source account id> --to-number <target account number> --amount-minor 1234 \
//     [--grpc-target 127.0.0.1:8081]
//
// With --grpc-target (bankd's gRPC port, BANK_GRPC_PORT: what internal callers should use) the
// RPCs go there; the JWKS is always fetched from --base-url (the main port serves it).
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { JWTPayload } from "jose";
import { CLI_USAGE, fetchJwks, parseCliArgs, retryUnavailable, verifyAccessToken, type Credentials, type TransferAccounts, type VerifyOptions } from "./verify-token";

export type { Credentials, TransferAccounts };

export interface CallerOptions extends VerifyOptions {
  /** Client interceptors (the test uses one to lose a response). */
  interceptors?: grpc.Interceptor[];
  retriesMax?: number;
  backoffMsBase?: number;
  timeoutMs?: number;
  /** host:port of bankd's gRPC port (BANK_GRPC_PORT); default: the main port of `baseUrl`. */
  grpcTarget?: string;
}

export interface CallerResult {
  claims: JWTPayload;
  requestId: string;
  transactionId: string;
  attempts: number;
}

/** The directory holding bank/v1/*.proto. The google/protobuf imports (timestamp, field_mask,
 * descriptor) are not in it: proto-loader resolves them from the copies protobufjs ships. */
export const PROTO_DIR = path.resolve(__dirname, "../proto");

type Unary<Req, Res> = (req: Req, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

interface LoginResponse {
  accessToken: string;
  refreshToken: string;
}
interface TransferResponse {
  transaction: { id: string } | null;
}
interface AuthClient extends grpc.Client {
  login: Unary<{ email: string; password: string; totpCode?: string; recoveryCode?: string }, LoginResponse>;
  logout: Unary<{ refreshToken: string }, object>;
}
interface TransactionClient extends grpc.Client {
  transfer: Unary<Record<string, unknown>, TransferResponse>;
}

function loadClients(target: string, opts: CallerOptions): { auth: AuthClient; transactions: TransactionClient } {
  const definition = protoLoader.loadSync(["bank/v1/auth_service.proto", "bank/v1/transaction_service.proto"], {
    includeDirs: [PROTO_DIR],
    // int64 as decimal strings: money never passes through a JS number.
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const bank = (grpc.loadPackageDefinition(definition) as unknown as { bank: { v1: Record<string, grpc.ServiceClientConstructor> } }).bank.v1;
  const channelOptions: grpc.ClientOptions = { interceptors: opts.interceptors ?? [] };
  const credentials = grpc.credentials.createInsecure();
  return {
    auth: new bank.AuthService!(target, credentials, channelOptions) as unknown as AuthClient,
    transactions: new bank.TransactionService!(target, credentials, channelOptions) as unknown as TransactionClient,
  };
}

function call<Req, Res>(method: Unary<Req, Res>, self: grpc.Client, req: Req, metadata: grpc.Metadata, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(self, req, metadata, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export async function runGrpcJsCaller(baseUrl: string, credentials: Credentials, accounts: TransferAccounts, opts: CallerOptions = {}): Promise<CallerResult> {
  const url = new URL(baseUrl);
  const { auth, transactions } = loadClients(opts.grpcTarget ?? url.host, opts);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  try {
    const login = await call(auth.login, auth, { email: credentials.email, password: credentials.password, ...credentials.secondFactor }, new grpc.Metadata(), timeoutMs);
    const claims = await verifyAccessToken(login.accessToken, await fetchJwks(baseUrl), opts);

    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${login.accessToken}`);
    // One request_id for this transfer, kept across retries (AIP-155).
    const requestId = randomUUID();
    const request = {
      requestId,
      fromAccountId: accounts.fromAccountId,
      toAccountNumber: accounts.toAccountNumber,
      amount: { currency: accounts.amount.currency, minorUnits: accounts.amount.minorUnits.toString() },
      description: accounts.description ?? "",
    };
    const { value, attempts } = await retryUnavailable(
      () => call(transactions.transfer, transactions, request, metadata, timeoutMs),
      (err) => (err as grpc.ServiceError | undefined)?.code === grpc.status.UNAVAILABLE,
      { retriesMax: opts.retriesMax ?? 4, backoffMsBase: opts.backoffMsBase ?? 200 },
    );
    await call(auth.logout, auth, { refreshToken: login.refreshToken }, metadata, timeoutMs).catch(() => undefined);
    return { claims, requestId, transactionId: value.transaction?.id ?? "", attempts };
  } finally {
    auth.close();
    transactions.close();
  }
}

if (require.main === module) {
  (async () => {
    const { baseUrl, credentials, accounts, grpcTarget } = parseCliArgs(process.argv.slice(2));
    const result = await runGrpcJsCaller(baseUrl, credentials, accounts, grpcTarget ? { grpcTarget } : {});
    console.log(JSON.stringify({ subject: result.claims.sub, requestId: result.requestId, transactionId: result.transactionId, attempts: result.attempts }));
  })().catch((err: unknown) => {
    console.error(`grpc-js-caller: ${err instanceof Error ? err.message : String(err)}\n${CLI_USAGE}`);
    process.exit(1);
  });
}
