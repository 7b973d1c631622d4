// Header names bankd reads or writes, spelled once (lower case, as HTTP/2 and fetch's Headers
// carry them).
export const HEADER = {
  /** The call's correlation id: taken from the client when well formed, always returned. */
  requestId: "x-request-id",
  /** `Bearer <access token>` on RPCs; `Bearer <metrics token>` on GET /metrics. */
  authorization: "authorization",
  userAgent: "user-agent",
  /** The client address behind a proxy we trust (config.trustProxy). */
  forwardedFor: "x-forwarded-for",
  /** Deadlines as the protocols carry them (call-timeout.ts). */
  grpcTimeout: "grpc-timeout",
  connectTimeoutMs: "connect-timeout-ms",
  /** gRPC status trailers (wire-errors.ts). */
  grpcStatus: "grpc-status",
  grpcMessage: "grpc-message",
} as const;
