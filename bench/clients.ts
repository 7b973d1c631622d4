// gRPC clients over HTTP/2 (@connectrpc/connect-node) for the seeding's API calls (Register,
// Login, CreateAccount/Deposit with --seed api, read-backs), one HTTP/2 connection per transport.
// The measured load is wrk's (bench/wrk.ts), not these clients'.
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AuthService } from "../gen/bank/v1/auth_service_pb";
import { AccountService } from "../gen/bank/v1/account_service_pb";
import { TransactionService } from "../gen/bank/v1/transaction_service_pb";
import { Health } from "../gen/grpc/health/v1/health_pb";

export interface Clients {
  auth: Client<typeof AuthService>;
  accounts: Client<typeof AccountService>;
  transactions: Client<typeof TransactionService>;
  health: Client<typeof Health>;
}

/** One set of clients per connection; `close(clients)` ends their connections. */
export function connectClients(baseUrl: string, connections: number): Clients[] {
  const result: Clients[] = [];
  for (let i = 0; i < connections; i++) {
    const sessionManager = new Http2SessionManager(baseUrl);
    const transport = createGrpcTransport({ baseUrl, sessionManager });
    sessions.set(result, [...(sessions.get(result) ?? []), sessionManager]);
    result.push({
      auth: createClient(AuthService, transport),
      accounts: createClient(AccountService, transport),
      transactions: createClient(TransactionService, transport),
      health: createClient(Health, transport),
    });
  }
  return result;
}

const sessions = new WeakMap<Clients[], Http2SessionManager[]>();

export function closeClients(clients: Clients[]): void {
  for (const manager of sessions.get(clients) ?? []) manager.abort();
}

export function bearer(token: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** Runs `fn(i)` for i in [0, count) with at most `concurrency` calls in flight. */
export async function runPool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
