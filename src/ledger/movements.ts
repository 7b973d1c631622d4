// Deposits, withdrawals and transfers. Deposits and withdrawals post against the currency's
// settlement account (the outside world), so every transaction's entries sum to zero.
import { invalidArgument, failedPrecondition } from "../errors";
import { limits } from "../limits";
import { accessAccount, accountNotFound } from "./access";
import { audit } from "./audit";
import { moneyDetails, runMoneyCommand } from "./commands";
import type { Ledger } from "./ledger";
import { lockAccounts, lockAndPost, post, type LockedAccounts } from "./posting";
import type { AccountView, Actor, Amount, TransactionView } from "./types";
import { parseAccountNumberInput, parseAmount, parseId, parseRequestId, parseText } from "./validate";

export interface MoneyInput {
  currency: string;
  minorUnits: bigint;
}

export interface MoveInput {
  requestId: string;
  accountId: string;
  amount: MoneyInput | undefined;
  description: string;
}

interface ParsedMove {
  requestId: string;
  accountId: string;
  amount: Amount;
  description: string;
}

function parseMove(ledger: Ledger, input: MoveInput): ParsedMove {
  return {
    requestId: parseRequestId(input.requestId),
    accountId: parseId(input.accountId, "account_id"),
    amount: parseAmount(ledger.currencies, input.amount),
    description: parseText(input.description, "description", limits.descriptionCharsMax),
  };
}

/** Deposit: money from outside the bank into an account (owner, teller, admin). */
export async function deposit(ledger: Ledger, actor: Actor, input: MoveInput): Promise<TransactionView> {
  return settle(ledger, actor, parseMove(ledger, input), "DEPOSIT");
}

/** Withdraw: money from an account to outside the bank, within the available balance. */
export async function withdraw(ledger: Ledger, actor: Actor, input: MoveInput): Promise<TransactionView> {
  return settle(ledger, actor, parseMove(ledger, input), "WITHDRAWAL");
}

async function settle(ledger: Ledger, actor: Actor, m: ParsedMove, type: "DEPOSIT" | "WITHDRAWAL"): Promise<TransactionView> {
  const action = type === "DEPOSIT" ? "transaction.deposit" : "transaction.withdraw";
  const sign = type === "DEPOSIT" ? 1n : -1n;
  return runMoneyCommand(ledger, actor, {
    method: type === "DEPOSIT" ? "TransactionService/Deposit" : "TransactionService/Withdraw",
    action,
    requestId: m.requestId,
    payload: { account_id: m.accountId, currency: m.amount.currency, minor_units: m.amount.minor, description: m.description },
    targetId: m.accountId,
    failureDetails: moneyDetails(m.amount.minor, m.amount.currency),
    work: async (tx, nowMs) => {
      const settlementId = ledger.settlementId(m.amount.currency);
      // The legs are known before the lock: lock and write in one round trip, then authorize.
      const t = await lockAndPost(tx, {
        transaction: {
          type, status: "POSTED", currency: m.amount.currency, amount: m.amount.minor,
          fromAccountId: type === "DEPOSIT" ? null : m.accountId,
          toAccountId: type === "DEPOSIT" ? m.accountId : null,
          description: m.description, requestId: m.requestId, initiatedBy: actor.userId,
        },
        legs: [
          { accountId: m.accountId, amount: sign * m.amount.minor, held: 0n },
          { accountId: settlementId, amount: -sign * m.amount.minor, held: 0n },
        ],
      }, nowMs, (locked) => accessAccount(actor, locked.get(m.accountId), "operate"));
      await audit(tx, actor, { action, targetId: t.id, details: moneyDetails(t.amount, t.currency, { account_id: m.accountId }) }, nowMs);
      return t;
    },
  });
}

export interface TransferInput {
  requestId: string;
  fromAccountId: string;
  /** Exactly one of toAccountId and toAccountNumber is set. */
  toAccountId: string;
  /** Digits, with or without spaces. */
  toAccountNumber: string;
  amount: MoneyInput | undefined;
  description: string;
}

/** Transfer: from an account the caller may operate to any active customer account of the same currency. */
export async function transfer(ledger: Ledger, actor: Actor, input: TransferInput): Promise<TransactionView> {
  const requestId = parseRequestId(input.requestId);
  const fromId = parseId(input.fromAccountId, "from_account_id");
  if ((input.toAccountId === "") === (input.toAccountNumber === "")) {
    throw invalidArgument("TARGET_REQUIRED", "Give exactly one of to_account_id and to_account_number.", { field: "target" });
  }
  const toId = input.toAccountId === "" ? undefined : parseId(input.toAccountId, "to_account_id");
  const toNumber = input.toAccountNumber === "" ? undefined : parseAccountNumberInput(input.toAccountNumber);
  const amount = parseAmount(ledger.currencies, input.amount);
  const description = parseText(input.description, "description", limits.descriptionCharsMax);
  if (toId === fromId) throw sameAccount();
  const targetField = toId ? "to_account_id" : "to_account_number";
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/Transfer",
    action: "transaction.transfer",
    requestId,
    payload: { from_account_id: fromId, to_account_id: toId ?? null, to_account_number: toNumber ?? null, currency: amount.currency, minor_units: amount.minor, description },
    targetId: fromId,
    failureDetails: moneyDetails(amount.minor, amount.currency, { to_account_id: toId ?? null }),
    work: async (tx, nowMs) => {
      const transferTo = (targetId: string) => ({
        transaction: {
          type: "TRANSFER" as const, status: "POSTED" as const, currency: amount.currency, amount: amount.minor,
          fromAccountId: fromId, toAccountId: targetId, description, requestId, initiatedBy: actor.userId,
        },
        legs: [
          { accountId: fromId, amount: -amount.minor, held: 0n },
          { accountId: targetId, amount: amount.minor, held: 0n },
        ],
      });
      const authorize = (locked: LockedAccounts, target: AccountView | undefined) => {
        const source = accessAccount(actor, locked.get(fromId), "operate", "from_account_id");
        // Any customer may pay any customer account; settlement accounts are not payees.
        if (!target || target.kind !== "CUSTOMER") throw accountNotFound(targetField);
        if (target.id === source.id) throw sameAccount();
      };
      let t: TransactionView;
      if (toId) {
        // The legs are known before the lock: lock and write in one round trip, then authorize.
        t = await lockAndPost(tx, transferTo(toId), nowMs, (locked) => authorize(locked, locked.get(toId)));
      } else {
        // By number: the target's id is known only once the lock has read it.
        const locked = await lockAccounts(tx, [fromId], [toNumber!]);
        const target = [...locked.values()].find((a) => a.number === toNumber);
        authorize(locked, target);
        t = await post(tx, locked, transferTo(target!.id), nowMs);
      }
      await audit(tx, actor, { action: "transaction.transfer", targetId: t.id, details: moneyDetails(t.amount, t.currency, { from_account_id: fromId, to_account_id: t.toAccountId }) }, nowMs);
      return t;
    },
  });
}

function sameAccount() {
  return failedPrecondition("SAME_ACCOUNT", "The source and target accounts are the same.", { field: "to_account_id" });
}
