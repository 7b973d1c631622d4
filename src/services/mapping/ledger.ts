// Ledger domain <-> bank.v1 mapping (src/services/mapping/: one file per area), shared by the
// account and transaction services, and the Actor of
// a call. Enum values are mapped by name both ways, never by number.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code, type HandlerContext } from "@connectrpc/connect";
import { callInfo } from "../../transport/context";
import { unauthenticated } from "../../errors";
import { AccountStatus, AccountType, DailyLimitSource, type AccountSchema, type DailyLimitSchema } from "../../../gen/bank/v1/account_pb";
import type { DailyLimitDefaults } from "../../config";
import { effectiveLimit, limitDay, resetTimeMs } from "../../ledger/daily-limits";
import type { MoneySchema } from "../../../gen/bank/v1/money_pb";
import { TransactionStatus, TransactionType, type StatementEntrySchema, type TransactionSchema } from "../../../gen/bank/v1/transaction_pb";
import type { BatchTransferResultSchema, TransferRequest } from "../../../gen/bank/v1/transaction_service_pb";
import type { BatchItemResult, TransferInput } from "../../ledger/commands";
import { formatAccountNumber } from "../../ledger/account-number";
import { etagOf } from "../../ledger/accounts";
import type { AccountView, Actor, Direction, StatementLine, TransactionView } from "../../ledger/types";
import { availableOf } from "../../ledger/types";

/** The signed-in caller; the auth interceptor has verified the token and the method's roles. */
export function actorOf(ctx: HandlerContext): Actor {
  const info = callInfo(ctx);
  if (!info.principal) throw unauthenticated("UNAUTHENTICATED", "Sign in first: send an access token as a bearer token.");
  const actor: Actor = { userId: info.principal.userId, roles: info.principal.roles, clientAddress: info.clientAddress, callId: info.requestId, signal: ctx.signal, checkSession: info.checkSession };
  if (info.principal.scope) actor.scope = info.principal.scope;
  return actor;
}

/** A Transfer request, or one transfer of a BatchTransfer, as the ledger takes it: the target by
 * id or by account number (the other left empty). */
export function transferInput(t: Pick<TransferRequest, "requestId" | "fromAccountId" | "target" | "amount" | "description">): TransferInput {
  return {
    requestId: t.requestId,
    fromAccountId: t.fromAccountId,
    toAccountId: t.target.case === "toAccountId" ? t.target.value : "",
    toAccountNumber: t.target.case === "toAccountNumber" ? t.target.value : "",
    amount: t.amount,
    description: t.description,
  };
}

export function money(currency: string, minor: bigint): MessageInitShape<typeof MoneySchema> {
  return { currency, minorUnits: minor };
}

export function optionalMs(ts: Timestamp | undefined): number | undefined {
  return ts === undefined ? undefined : timestampMs(ts);
}

/** The wire form of an account, with its effective daily limits at `nowMs` (`defaults`: the
 * currency's configured defaults). */
export function accountMessage(a: AccountView, defaults: DailyLimitDefaults, nowMs: number): MessageInitShape<typeof AccountSchema> {
  const limit = (direction: Direction): MessageInitShape<typeof DailyLimitSchema> => {
    const e = effectiveLimit(a, defaults, direction, nowMs);
    return {
      limit: e.limit === "unlimited" ? undefined : money(a.currency, e.limit),
      unlimited: e.limit === "unlimited",
      used: money(a.currency, e.used),
      source: e.source === "DEFAULT" ? DailyLimitSource.DEFAULT : DailyLimitSource.ACCOUNT,
    };
  };
  return {
    limits: a.kind === "CUSTOMER"
      ? { deposit: limit("deposit"), withdrawal: limit("withdrawal"), transferOut: limit("transferOut"), incoming: limit("incoming"), resetTime: timestampFromMs(resetTimeMs(limitDay(a.usage, nowMs))) }
      : undefined,
    id: a.id,
    number: formatAccountNumber(a.number),
    ownerId: a.ownerId,
    currency: a.currency,
    type: AccountType[a.type],
    status: AccountStatus[a.status],
    displayName: a.displayName,
    ledgerBalance: money(a.currency, a.balance),
    availableBalance: money(a.currency, availableOf(a)),
    held: money(a.currency, a.held),
    overdraftLimit: money(a.currency, a.overdraftLimit),
    createTime: timestampFromMs(a.createTimeMs),
    updateTime: timestampFromMs(a.updateTimeMs),
    etag: etagOf(a),
  };
}

/** The proto enum name (without prefix) of a request's account type, or "" when unset. */
export function accountTypeName(type: AccountType): string {
  return type === AccountType.UNSPECIFIED ? "" : (AccountType[type] ?? "");
}

export function transactionMessage(t: TransactionView): MessageInitShape<typeof TransactionSchema> {
  return {
    id: t.id,
    type: TransactionType[t.type],
    status: TransactionStatus[t.status],
    amount: money(t.currency, t.amount),
    fromAccountId: t.fromAccountId,
    toAccountId: t.toAccountId,
    description: t.description,
    requestId: t.requestId,
    initiatedBy: t.initiatedBy,
    reversesId: t.reversesId,
    holdId: t.holdId,
    createTime: timestampFromMs(t.createTimeMs),
    expireTime: t.expireTimeMs === null ? undefined : timestampFromMs(t.expireTimeMs),
  };
}

export function statementEntryMessage(line: StatementLine): MessageInitShape<typeof StatementEntrySchema> {
  return {
    transaction: transactionMessage(line.transaction),
    amount: money(line.transaction.currency, line.amount),
    balanceAfter: money(line.transaction.currency, line.balanceAfter),
    cursor: line.cursor,
    counterparty: line.counterparty ? { accountNumber: formatAccountNumber(line.counterparty.number), name: line.counterparty.name } : undefined,
  };
}

/** The Connect protocol's name of a code: Code.FailedPrecondition -> "failed_precondition". */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

export function batchResultMessage(r: BatchItemResult): MessageInitShape<typeof BatchTransferResultSchema> {
  if ("transaction" in r) return { result: { case: "transaction", value: transactionMessage(r.transaction) } };
  return {
    result: {
      case: "error",
      value: { code: codeName(r.error.code), message: r.error.message, errorInfo: { reason: r.error.reason, metadata: r.error.metadata ?? {} } },
    },
  };
}
