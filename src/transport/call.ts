// What the transport (rpc-adapter.ts) knows about a call and hands to the interceptors through
// Connect's context values: the request id it answers with (so that its own answers and the
// observe interceptor's log line carry the same one), the client's address, whether the client
// went away, and whether the interceptors saw the call at all (answers connect-es gives before
// any interceptor runs are logged and counted by the transport instead).
import { createContextKey } from "@connectrpc/connect";

export interface TransportCall {
  requestId: string;
  /** The socket's remote address. */
  remoteAddress: string;
  /** Set by the observe interceptor when the call reaches it. */
  observed: boolean;
  /** True once the client closed the stream or connection before the answer was complete. */
  clientGone: boolean;
}

export const transportCallKey = createContextKey<TransportCall | undefined>(undefined, { description: "bankd transport call" });
