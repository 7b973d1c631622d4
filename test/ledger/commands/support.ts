// In-memory helpers of the command unit tests: locked accounts and transaction rows as the store
// would hand them to a batch, a BatchState over them (no database), actors and the parse context.
import type { Currency, DailyLimitDefaults } from "../../../src/config";
import { DomainError } from "../../../src/errors";
import { BatchState, type LockedAccount } from "../../../src/ledger/engine/batch-state";
import type { CommandContext } from "../../../src/ledger/commands/frame";
import type { AccountStatus, Actor, TransactionView } from "../../../src/ledger/types";
import { Role } from "../../../src/roles";
import { uuidv7 } from "../../../src/util/ids";

export const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
export const DAY_MS = 86_400_000;

const UNLIMITED: DailyLimitDefaults = { deposit: 10n ** 15n, withdrawal: 10n ** 15n, transferOut: 10n ** 15n, incoming: 10n ** 15n };
const USD: Currency = { code: "USD", exponent: 2, dailyLimits: UNLIMITED };
const EUR: Currency = { code: "EUR", exponent: 2, dailyLimits: UNLIMITED };

export const actor = (userId: string, ...roles: Role[]): Actor => ({ userId, roles, clientAddress: "127.0.0.1", callId: "call" });
export const alice = actor("alice", Role.CUSTOMER);
export const bob = actor("bob", Role.CUSTOMER);
export const teller = actor("teller", Role.TELLER);
export const admin = actor("admin", Role.ADMIN);

let numbers = 0;
/** A locked account, as the store reads it (14 digits of number, one per account). */
export function account(over: Partial<LockedAccount> & { ownerId: string }): LockedAccount {
  numbers++;
  return {
    id: uuidv7(NOW - DAY_MS),
    number: String(10_000_000_000_000 + numbers),
    kind: "CUSTOMER",
    currency: "USD",
    type: "CHECKING",
    status: "ACTIVE" as AccountStatus,
    displayName: "",
    balance: 0n,
    held: 0n,
    overdraftLimit: 0n,
    createTimeMs: NOW - DAY_MS,
    updateTimeMs: NOW - DAY_MS,
    version: 1,
    shard: 0,
    limits: { deposit: null, withdrawal: null, transferOut: null, incoming: null },
    usage: { day: 0, deposit: 0n, withdrawal: 0n, transferOut: 0n, incoming: 0n },
    entryCount: 0,
    ...over,
  };
}

export const settlement = (currency = "USD"): LockedAccount => account({ ownerId: "", kind: "SETTLEMENT", currency });

/** A transaction row as the store locks it. */
export function row(over: Partial<TransactionView> & Pick<TransactionView, "type" | "status" | "amount">): TransactionView {
  return {
    id: uuidv7(NOW - 1000),
    currency: "USD",
    fromAccountId: "",
    toAccountId: "",
    description: "",
    requestId: "earlier",
    initiatedBy: "someone",
    reversesId: "",
    holdId: "",
    createTimeMs: NOW - 1000,
    expireTimeMs: null,
    ...over,
  };
}

/** A batch over locked rows, at NOW, with the default daily limits `limits` (unlimited unless given). */
export function batchOver(
  accounts: readonly LockedAccount[],
  opts: { transactions?: readonly TransactionView[]; entries?: Record<string, { accountId: string; amount: bigint }[]>; limits?: Partial<DailyLimitDefaults>; nowMs?: number } = {},
): BatchState {
  const defaults = { ...UNLIMITED, ...opts.limits };
  return new BatchState(
    new Map(accounts.map((a) => [a.id, a])),
    new Map((opts.transactions ?? []).map((t) => [t.id, t])),
    new Map(Object.entries(opts.entries ?? {})),
    opts.nowMs ?? NOW,
    () => defaults,
  );
}

/** What parsing needs: USD and EUR, one settlement shard per currency, the clock at NOW. */
export function context(settlements: Record<string, string> = {}): CommandContext {
  return {
    currencies: new Map([["USD", USD], ["EUR", EUR]]),
    settlementId: (currency) => settlements[currency] ?? `no settlement for ${currency}`,
    now: () => NOW,
  };
}

export const usd = (minorUnits: number | bigint) => ({ currency: "USD", minorUnits: BigInt(minorUnits) });

/** The DomainError `fn` throws (fails the test when it throws nothing or something else). */
export function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error("expected a DomainError, nothing was thrown");
}

/** An account's balance, held and entry count as the batch has them now. */
export function state(batch: BatchState, id: string): { balance: bigint; held: bigint; entries: number } {
  const a = batch.account(id)!;
  return { balance: a.balance, held: a.held, entries: a.entryCount };
}
