// The auth interceptor: authenticates the bearer token and enforces the `bank.v1.access`
// option of the called method. Only bank.v1 methods are governed (health and reflection stay
// open); among them, a method without the option is refused (deny by default).
import { getOption, hasOption, type DescMethod } from "@bufbuild/protobuf";
import { HEADER } from "./headers";
import type { Interceptor } from "@connectrpc/connect";
import { access, type Access } from "../../gen/bank/v1/access_pb";
import { Role } from "../roles";
import { roleFromProto } from "../services/mapping/roles";
import type { AuditAggregator } from "../audit/aggregate";
import { auditBase, recordAudit } from "../audit/recorder";
import { callInfoKey } from "./context";
import type { CallInfo, Principal } from "../call-info";
import type { Database } from "../db/database";
import { DomainError, permissionDenied, unauthenticated } from "../errors";
import type { Logger } from "../logger";
import type { Authenticator } from "../auth/authenticator";

const GOVERNED_PACKAGE_PREFIX = "bank.v1.";

export type AccessDecision = "allow" | "unauthenticated" | "role_not_allowed" | "undeclared" | "enrolment_required" | "not_a_user";

/** The service whose signed-in methods are a person's own (sessions, password, second factor):
 * a service account's token is refused there, whatever its roles (issue 27). */
const USER_ONLY_SERVICE = "bank.v1.AuthService";

const rules = new WeakMap<DescMethod, Access | null>();

/** The access rule of a method, or undefined when it declares none. Read from the descriptor
 * once per method: decoding the option on every call showed in the transfer profile. */
export function accessRule(method: DescMethod): Access | undefined {
  let rule = rules.get(method);
  if (rule === undefined) {
    rule = hasOption(method, access) ? getOption(method, access) : null;
    rules.set(method, rule);
  }
  return rule ?? undefined;
}

export function isGoverned(method: DescMethod): boolean {
  return method.parent.typeName.startsWith(GOVERNED_PACKAGE_PREFIX);
}

/** Who may call: pure, so that every branch is unit-tested. */
export function decideAccess(rule: Access | undefined, principal: Principal | undefined, serviceName = ""): AccessDecision {
  if (!rule) return "undeclared";
  if (rule.public) return "allow";
  if (!principal) return "unauthenticated";
  if (principal.subjectType === "service" && serviceName === USER_ONLY_SERVICE) return "not_a_user";
  // An enrolment-only token (staff without a second factor yet) reaches only the methods that
  // say so in the proto (EnrollTotp, ConfirmTotp, GetCurrentUser, Logout).
  if (principal.enrolmentOnly && !rule.secondFactorEnrolment) return "enrolment_required";
  const allowed = rule.roles.map(roleFromProto);
  return allowed.some((r) => r !== undefined && principal.roles.includes(r)) ? "allow" : "role_not_allowed";
}

/** The token of an `authorization: Bearer <token>` header; undefined when there is no header,
 * "" when the header is not a bearer token. */
export function bearerToken(header: Headers): string | undefined {
  const value = header.get(HEADER.authorization);
  if (value === null) return undefined;
  const match = /^Bearer +([^\s]+)\s*$/i.exec(value);
  return match?.[1] ?? "";
}

export interface AuthInterceptorDeps {
  authenticator: Authenticator;
  db: Database;
  logger: Logger;
  /** Refused tokens are audited through it: one event per key and window (issue 15, W8). */
  refusals: AuditAggregator;
  /** Staff reads of customers' accounts: one event per staff member, account and window. */
  staffReads: AuditAggregator;
}

export function authInterceptor(deps: AuthInterceptorDeps): Interceptor {
  return (next) => async (req) => {
    if (!isGoverned(req.method)) return next(req);
    const info = req.contextValues.get(callInfoKey);
    if (!info) throw new Error("call info missing: the observe interceptor must run first");
    const rule = accessRule(req.method);
    info.principal = await principalOf(deps, info, bearerToken(req.header), rule?.public === true);
    const principal = info.principal;
    if (principal) info.checkSession = () => deps.authenticator.checkSession(principal);
    const decision = decideAccess(rule, info.principal, req.method.parent.typeName);
    if (decision === "unauthenticated") throw unauthenticated("TOKEN_MISSING", "This method needs an access token (authorization: Bearer ...).");
    if (decision !== "allow") {
      await auditDenial(deps, info, decision);
      throw DENIALS[decision]();
    }
    if (req.stream) {
      // A server stream (WatchAccount): connect-es hands its one request over as a stream, and a
      // refusal comes out of the response stream. Audited like a unary call (issue 26): a probe
      // when it fails with NOT_FOUND, a staff read once its first message is out.
      let request: unknown;
      const source = req.message;
      const res = await next({
        ...req,
        message: (async function* () {
          for await (const m of source) {
            request = m;
            yield m;
          }
        })(),
      });
      if (!res.stream) return res;
      return { ...res, message: audited(res.message, () => noteStaffRead(deps, info, req.method, request, undefined), (err) => noteProbe(deps, info, err, request)) };
    }
    try {
      const res = await next(req);
      if (!res.stream) noteStaffRead(deps, info, req.method, req.message, res.message);
      return res;
    } catch (err) {
      noteProbe(deps, info, err, req.message);
      throw err;
    }
  };
}

/** `source`, calling `started` once its first message is out and `failed` with its error. */
async function* audited<T>(source: AsyncIterable<T>, started: () => void, failed: (err: unknown) => void): AsyncGenerator<T> {
  let first = true;
  try {
    for await (const message of source) {
      if (first) {
        first = false;
        started();
      }
      yield message;
    }
  } catch (err) {
    failed(err);
    throw err;
  }
}

function noteProbe(deps: AuthInterceptorDeps, info: CallInfo, err: unknown, message: unknown): void {
  if (info.principal && err instanceof DomainError && PROBE_REASONS.has(err.reason)) auditProbe(deps, info, err, message);
}

type ReadMessage = { accountId?: unknown; transactionId?: unknown; ownerId?: unknown; account?: { id?: unknown; ownerId?: unknown } };

/** The reads of a customer's data that staff make, and what each read is about: an account id
 * (a transaction id for GetTransaction, an owner id for ListAccounts of one owner). */
const STAFF_READS: Record<string, (req: ReadMessage, res: ReadMessage | undefined) => unknown> = {
  "bank.v1.AccountService.GetAccount": (req) => req.accountId,
  "bank.v1.AccountService.GetBalance": (req) => req.accountId,
  "bank.v1.AccountService.LookupAccount": (_req, res) => res?.account?.id,
  "bank.v1.AccountService.WatchAccount": (req) => req.accountId,
  "bank.v1.AccountService.ListAccounts": (req) => req.ownerId,
  "bank.v1.TransactionService.ListTransactions": (req) => req.accountId,
  "bank.v1.TransactionService.GetTransaction": (req) => req.transactionId,
};

const STAFF_ROLES = new Set<Role>([Role.TELLER, Role.AUDITOR, Role.ADMIN]);

/** A staff member's read of a customer's data (issue 26, item 8): counted per staff member and
 * target, one `account.staff_read` event per window (limits.staffReadAuditWindowMs) with the
 * count. Reads of the staff member's own account are not counted where the answer shows it. */
function noteStaffRead(deps: AuthInterceptorDeps, info: CallInfo, method: DescMethod, request: unknown, response: unknown): void {
  const principal = info.principal;
  const targetOf = STAFF_READS[`${method.parent.typeName}.${method.name}`];
  if (!principal || !targetOf || !principal.roles.some((r) => STAFF_ROLES.has(r))) return;
  const res = response as ReadMessage | undefined;
  if (res?.account?.ownerId === principal.userId) return;
  const target = targetOf((request ?? {}) as ReadMessage, res);
  if (typeof target !== "string" || target === "") return;
  deps.staffReads.note(`account.staff_read:${principal.userId}:${target}`, {
    ...auditBase(info),
    action: "account.staff_read",
    targetId: target.slice(0, 64),
    outcome: "SUCCESS",
    details: { method: info.procedure },
  });
}

/** Refusals that answer "no such thing (for you)": what a caller probing for other users'
 * accounts, transactions and holds, or for account numbers, gets (W8). Sessions are audited
 * where they are refused (auth/self-service.ts). */
const PROBE_REASONS = new Set(["ACCOUNT_NOT_FOUND", "TRANSACTION_NOT_FOUND", "HOLD_NOT_FOUND", "PAYEE_UNAVAILABLE"]);
/** The request fields that name the object asked for, in the order they are looked at. */
const TARGET_FIELDS = ["accountId", "transactionId", "holdId", "fromAccountId", "number"] as const;

/** What a refusal was about: the field the error names when the request has it (a payee's
 * number or id in Transfer's `target`, CaptureHold's to_account_id), else the first of
 * TARGET_FIELDS the request sets. A probe by number so records the number, not the prober's own
 * source account (issue 26). */
function probeTarget(err: DomainError, message: unknown): string | undefined {
  const fields = (message ?? {}) as Record<string, unknown> & { target?: { case?: unknown; value?: unknown } };
  const named = err.metadata.field;
  if (named === "target" || named === "to_account_number" || named === "to_account_id") {
    const value = named === "to_account_id" && typeof fields.toAccountId === "string" && fields.toAccountId !== "" ? fields.toAccountId : fields.target?.value;
    if (typeof value === "string" && value !== "") return value;
  }
  return TARGET_FIELDS.map((f) => fields[f]).find((v): v is string => typeof v === "string" && v !== "");
}

/** Aggregated per caller and reason: a customer walking ids costs one event per window, with
 * the count and (up to a bound) the distinct ids or numbers asked for. */
function auditProbe(deps: AuthInterceptorDeps, info: CallInfo, err: DomainError, message: unknown): void {
  const reason = err.reason;
  const target = probeTarget(err, message) ?? info.procedure;
  deps.refusals.note(`access.not_found:${reason}:${info.principal!.userId}`, {
    ...auditBase(info),
    action: "access.not_found",
    targetId: target.slice(0, 64),
    outcome: "DENIED",
    details: { reason, method: info.procedure },
  });
}

/** On a public method a bad token is ignored (the call needs none); elsewhere it is refused,
 * and the refusal (a forged, malformed, expired or revoked token) audited. */
async function principalOf(deps: AuthInterceptorDeps, info: CallInfo, token: string | undefined, isPublic: boolean): Promise<Principal | undefined> {
  if (token === undefined) return undefined;
  if (isPublic) return deps.authenticator.authenticate(token).catch(() => undefined);
  try {
    if (token === "") throw unauthenticated("TOKEN_INVALID", "The authorization header must be \"Bearer <access token>\".");
    return await deps.authenticator.authenticate(token);
  } catch (err) {
    if (err instanceof DomainError) auditTokenRefusal(deps, info, err.reason);
    throw err;
  }
}

/** Aggregated per reason, client address and method: a client replaying a dead token, or an
 * attacker trying forged ones, costs one event per window, not one per call. */
function auditTokenRefusal(deps: AuthInterceptorDeps, info: CallInfo, reason: string): void {
  deps.refusals.note(`auth.token_refused:${reason}:${info.clientAddress}:${info.procedure}`, {
    ...auditBase(info),
    action: "auth.token_refused",
    targetId: info.procedure,
    outcome: "DENIED",
    details: { reason },
  });
}

const DENIALS: Record<Exclude<AccessDecision, "allow" | "unauthenticated">, () => DomainError> = {
  undeclared: () => permissionDenied("METHOD_NOT_DECLARED", "This method declares no access rule, so nobody may call it."),
  role_not_allowed: () => permissionDenied("ROLE_NOT_ALLOWED", "Your roles do not allow this method."),
  not_a_user: () => permissionDenied("NOT_A_USER", "A service account's token cannot call the methods of a signed-in person (sessions, password, second factor)."),
  enrolment_required: () =>
    permissionDenied("SECOND_FACTOR_ENROLMENT_REQUIRED", "Staff must enrol a second factor first: this token is good only for EnrollTotp, ConfirmTotp, GetCurrentUser and Logout."),
};

/** Each refusal is audited in its own small transaction; a failure to record it is logged and
 * never turns the refusal into an allow. */
async function auditDenial(deps: AuthInterceptorDeps, info: CallInfo, decision: keyof typeof DENIALS): Promise<void> {
  const reason = DENIALS[decision]().reason;
  try {
    await deps.db.transaction((tx) =>
      recordAudit(tx, { ...auditBase(info), action: "auth.permission_denied", targetId: info.procedure, outcome: "DENIED", details: { reason } }),
    );
  } catch (err) {
    deps.logger.error({ err, procedure: info.procedure }, "could not audit a permission denial");
  }
}
