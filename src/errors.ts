// The single mapping from domain errors to Connect errors. Domain code throws DomainError (an
// expected failure with a reason); anything else is a bug or an outage and reaches the client
// as a generic INTERNAL or UNAVAILABLE, never with its message (no SQL, stack, path, secret).
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../gen/bank/v1/error_info_pb";
import { CallAbortedError, DatabaseUnavailableError, TransactionConflictError, classifyDbError } from "./db/database";

export class DomainError extends Error {
  constructor(
    readonly code: Code,
    /** UPPER_SNAKE reason, sent as ErrorInfo.reason (AIP-193). */
    readonly reason: string,
    /** A sentence for humans; never carries secrets or internals. */
    message: string,
    readonly metadata: Record<string, string> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }

  /** A serializable form, for idempotent replay of business failures. */
  toJSON(): { code: Code; reason: string; message: string; metadata: Record<string, string> } {
    return { code: this.code, reason: this.reason, message: this.message, metadata: this.metadata };
  }

  static fromJSON(json: { code: Code; reason: string; message: string; metadata?: Record<string, string> }): DomainError {
    return new DomainError(json.code, json.reason, json.message, json.metadata ?? {});
  }
}

export const invalidArgument = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError(Code.InvalidArgument, reason, message, metadata);
export const failedPrecondition = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError(Code.FailedPrecondition, reason, message, metadata);
export const notFound = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError(Code.NotFound, reason, message, metadata);
export const permissionDenied = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError(Code.PermissionDenied, reason, message, metadata);
export const unauthenticated = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError(Code.Unauthenticated, reason, message, metadata);
export const alreadyExists = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError(Code.AlreadyExists, reason, message, metadata);
export const resourceExhausted = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError(Code.ResourceExhausted, reason, message, metadata);
export const unavailable = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError(Code.Unavailable, reason, message, metadata);
export const aborted = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError(Code.Aborted, reason, message, metadata);

/** Builds a ConnectError carrying a bank.v1.ErrorInfo detail. */
export function connectError(code: Code, reason: string, message: string, metadata: Record<string, string> = {}): ConnectError {
  return new ConnectError(message, code, undefined, [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, metadata }) }]);
}

export interface MappedError {
  error: ConnectError;
  /** True when the error is not an expected outcome and must be logged with its cause. */
  unexpected: boolean;
}

/** Maps anything thrown by a handler to what the client may see. */
export function toConnectError(err: unknown, correlationId: string): MappedError {
  if (err instanceof DomainError) {
    return { error: connectError(err.code, err.reason, err.message, err.metadata), unexpected: false };
  }
  if (err instanceof ConnectError) {
    // Raised by the framework (size limits, deadlines, bad encoding) or already mapped.
    // Internal errors from the framework may carry a cause's message: replace it.
    if (err.code === Code.Internal || err.code === Code.Unknown) return { error: internal(correlationId), unexpected: true };
    if (err.findDetails(ErrorInfoSchema).length > 0) return { error: err, unexpected: false };
    return { error: connectError(err.code, frameworkReason(err.code), err.rawMessage, {}), unexpected: false };
  }
  if (err instanceof CallAbortedError) {
    // The call's deadline passed (or its client went away) before its work committed: nothing
    // was written. Connect aborts the signal with the ConnectError it answers with.
    const code = err.reason instanceof ConnectError ? err.reason.code : Code.DeadlineExceeded;
    return { error: connectError(code, code === Code.Canceled ? "CANCELED" : "DEADLINE_EXCEEDED", "The call ended before its work was done; nothing was written.", {}), unexpected: false };
  }
  if (err instanceof DatabaseUnavailableError || classifyDbError(err) === "unavailable") {
    return {
      error: connectError(Code.Unavailable, "DATABASE_UNAVAILABLE", "The service is temporarily unavailable; retry with the same request_id.", { correlation_id: correlationId }),
      unexpected: true,
    };
  }
  if (err instanceof TransactionConflictError) {
    return {
      error: connectError(Code.Aborted, "TRANSACTION_CONFLICT", "The request conflicted with concurrent requests; retry with the same request_id.", { correlation_id: correlationId }),
      unexpected: true,
    };
  }
  return { error: internal(correlationId), unexpected: true };
}

function internal(correlationId: string): ConnectError {
  return connectError(Code.Internal, "INTERNAL", `Internal error (correlation id ${correlationId}).`, { correlation_id: correlationId });
}

function frameworkReason(code: Code): string {
  switch (code) {
    case Code.ResourceExhausted:
      return "MESSAGE_TOO_LARGE";
    case Code.DeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case Code.InvalidArgument:
      return "MALFORMED_REQUEST";
    case Code.Unimplemented:
      return "NOT_IMPLEMENTED";
    case Code.Canceled:
      return "CANCELED";
    case Code.Unavailable:
      return "UNAVAILABLE";
    default:
      return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
  }
}
