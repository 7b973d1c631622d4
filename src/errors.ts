// Domain errors: an expected failure with a kind, a reason and a sentence. Domain code throws
// DomainError; anything else is a bug or an outage and reaches the client as a generic INTERNAL
// or UNAVAILABLE, never with its message (no SQL, stack, path, secret). This module imports
// nothing: the kinds are mapped to wire codes only at the edge (src/transport/errors.ts).

/** What went wrong, in the domain's words: the canonical status codes' names (gRPC's, which
 * Connect shares), so that the edge maps them one to one. */
export type ErrorKind =
  | "invalid_argument"
  | "failed_precondition"
  | "not_found"
  | "permission_denied"
  | "unauthenticated"
  | "already_exists"
  | "resource_exhausted"
  | "unavailable"
  | "aborted";

/** Each kind's canonical status number and name: the form stored with an idempotent outcome
 * (DomainError.toJSON, replayed by later retries) and in audit details (`code`). Both are the
 * gRPC standard's, so what is stored does not depend on any library's enum. */
const CANONICAL: Record<ErrorKind, { status: number; name: string }> = {
  invalid_argument: { status: 3, name: "InvalidArgument" },
  failed_precondition: { status: 9, name: "FailedPrecondition" },
  not_found: { status: 5, name: "NotFound" },
  permission_denied: { status: 7, name: "PermissionDenied" },
  unauthenticated: { status: 16, name: "Unauthenticated" },
  already_exists: { status: 6, name: "AlreadyExists" },
  resource_exhausted: { status: 8, name: "ResourceExhausted" },
  unavailable: { status: 14, name: "Unavailable" },
  aborted: { status: 10, name: "Aborted" },
};

const KIND_OF_STATUS = new Map(Object.entries(CANONICAL).map(([kind, c]) => [c.status, kind as ErrorKind]));

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** UPPER_SNAKE reason, sent as ErrorInfo.reason (AIP-193). */
    readonly reason: string,
    /** A sentence for humans; never carries secrets or internals. */
    message: string,
    readonly metadata: Record<string, string> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }

  /** The kind's canonical name ("FailedPrecondition"), as audit details record it. */
  get codeName(): string {
    return CANONICAL[this.kind].name;
  }

  /** A serializable form, for idempotent replay of business failures (`code`: the canonical
   * status number, as stored since the first release). */
  toJSON(): { code: number; reason: string; message: string; metadata: Record<string, string> } {
    return { code: CANONICAL[this.kind].status, reason: this.reason, message: this.message, metadata: this.metadata };
  }

  static fromJSON(json: { code: number; reason: string; message: string; metadata?: Record<string, string> }): DomainError {
    const kind = KIND_OF_STATUS.get(json.code);
    if (kind === undefined) throw new Error(`stored outcome has an unknown status code ${json.code}`);
    return new DomainError(kind, json.reason, json.message, json.metadata ?? {});
  }
}

export const invalidArgument = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError("invalid_argument", reason, message, metadata);
export const failedPrecondition = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError("failed_precondition", reason, message, metadata);
export const notFound = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError("not_found", reason, message, metadata);
export const permissionDenied = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError("permission_denied", reason, message, metadata);
export const unauthenticated = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError("unauthenticated", reason, message, metadata);
export const alreadyExists = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError("already_exists", reason, message, metadata);
export const resourceExhausted = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError("resource_exhausted", reason, message, metadata);
export const unavailable = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError("unavailable", reason, message, metadata);
export const aborted = (reason: string, message: string, metadata?: Record<string, string>) =>
  new DomainError("aborted", reason, message, metadata);
