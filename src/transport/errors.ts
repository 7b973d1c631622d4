// The single mapping from errors to Connect errors, at the edge: a DomainError's kind to its
// Connect code, a database failure to UNAVAILABLE or ABORTED, a call that ended to
// DEADLINE_EXCEEDED or CANCELED, connect-es's own errors to a reason, anything else to INTERNAL.
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../gen/bank/v1/error_info_pb";
import { CallAbortedError, DatabaseUnavailableError, TransactionConflictError, classifyDbError } from "../db/errors";
import { DomainError, type ErrorKind } from "../errors";

const CODE_OF_KIND: Record<ErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  failed_precondition: Code.FailedPrecondition,
  not_found: Code.NotFound,
  permission_denied: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  already_exists: Code.AlreadyExists,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  aborted: Code.Aborted,
};

/** The Connect code of a domain error's kind. */
export const codeOf = (err: DomainError): Code => CODE_OF_KIND[err.kind];

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
    return { error: connectError(codeOf(err), err.reason, err.message, err.metadata), unexpected: false };
  }
  if (err instanceof ConnectError) return frameworkError(err, correlationId);
  if (err instanceof CallAbortedError) {
    // The call's deadline passed, the server began to drain, or the client went away before its
    // work committed: nothing was written. The signal's reason says which.
    if (err.reason instanceof ConnectError) return frameworkError(err.reason, correlationId);
    const canceled = (err.reason as { name?: string } | undefined)?.name === "AbortError";
    const code = canceled ? Code.Canceled : Code.DeadlineExceeded;
    return { error: connectError(code, canceled ? "CANCELED" : "DEADLINE_EXCEEDED", "The call ended before its work was done; nothing was written.", {}), unexpected: false };
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

/**
 * Maps an error raised by connect-es itself (size limits, deadlines, undecodable bodies) or one
 * already mapped (it carries an ErrorInfo). connect-es reports a body that is not valid binary
 * protobuf as INTERNAL ("parse binary: ..."), a decompression failure as INTERNAL or
 * INVALID_ARGUMENT, and JSON that does not fit the message as INVALID_ARGUMENT with a message that
 * may quote the offending value (a password, say): a malformed request is the client's error
 * (docs/api.md: INVALID_ARGUMENT with a reason), and its message names at most the field.
 */
export function frameworkError(err: ConnectError, correlationId: string): MappedError {
  if (err.findDetails(ErrorInfoSchema).length > 0) return { error: err, unexpected: false };
  const raw = err.rawMessage;
  if (err.code === Code.Internal && (raw.startsWith("parse binary:") || raw === "decompression failed" || raw.startsWith("received compressed envelope"))) {
    return { error: connectError(Code.InvalidArgument, "MALFORMED_REQUEST", "The request body is not a valid encoding of this method's request message."), unexpected: false };
  }
  if (err.code === Code.Internal || err.code === Code.Unknown) return { error: internal(correlationId), unexpected: true };
  if (err.code === Code.InvalidArgument) return { error: malformed(raw), unexpected: false };
  if (raw.startsWith("protocol error:")) return { error: connectError(err.code, "MALFORMED_REQUEST", `The request is malformed: ${raw.slice(16)}.`), unexpected: false };
  return { error: connectError(err.code, frameworkReason(err.code), raw, {}), unexpected: false };
}

function malformed(raw: string): ConnectError {
  if (raw.startsWith("protocol error:") || raw === "decompression failed") {
    return connectError(Code.InvalidArgument, "MALFORMED_REQUEST", `The request is malformed: ${raw.replace(/^protocol error: /, "")}.`);
  }
  // JSON that does not fit the message (a fractional or non-numeric int64, a wrong type, an
  // unknown enum name): name the field, never echo the value.
  const field = /field ([A-Za-z0-9_.]+)/.exec(raw)?.[1];
  const message = field ? `The request body does not fit the method's request message: field ${field} has an invalid value.` : "The request body is not a valid JSON encoding of the method's request message.";
  return connectError(Code.InvalidArgument, "MALFORMED_REQUEST", message, field ? { field } : {});
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
