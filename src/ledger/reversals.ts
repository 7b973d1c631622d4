// Reversals (admin): a REVERSAL posts the exact opposite of a posted transaction's entries and
// marks it REVERSED. At most once: the original's row is locked and its status checked, and
// transactions.reverses_id is UNIQUE as the last line of defence. A reversal respects the floor
// of every account it debits unless the admin passes force.
import { failedPrecondition, notFound } from "../errors";
import { limits } from "../limits";
import { requireAdmin } from "./access";
import { audit } from "./audit";
import { moneyDetails, runMoneyCommand } from "./commands";
import type { Ledger } from "./ledger";
import { lockAccounts, post } from "./posting";
import { toTransaction, transactionColumns } from "./rows";
import type { Actor, TransactionView } from "./types";
import { parseId, parseRequestId, parseText } from "./validate";

export interface ReverseInput {
  requestId: string;
  transactionId: string;
  reason: string;
  force: boolean;
}

const REVERSIBLE = new Set(["DEPOSIT", "WITHDRAWAL", "TRANSFER", "CAPTURE"]);

export async function reverseTransaction(ledger: Ledger, actor: Actor, input: ReverseInput): Promise<TransactionView> {
  requireAdmin(actor);
  const requestId = parseRequestId(input.requestId);
  const transactionId = parseId(input.transactionId, "transaction_id");
  const reason = parseText(input.reason, "reason", limits.reasonCharsMax, true);
  return runMoneyCommand(ledger, actor, {
    method: "TransactionService/ReverseTransaction",
    action: "transaction.reverse",
    requestId,
    payload: { transaction_id: transactionId, reason, force: input.force },
    targetId: transactionId,
    failureDetails: { force: input.force },
    work: async (tx, nowMs) => {
      const row = await tx.one(`SELECT ${transactionColumns()} FROM transactions WHERE id = ?${tx.engine.lockRows}`, [transactionId]);
      if (!row) throw notFound("TRANSACTION_NOT_FOUND", "No such transaction.", { field: "transaction_id" });
      const original = toTransaction(row);
      if (original.status === "REVERSED") throw failedPrecondition("ALREADY_REVERSED", "The transaction was already reversed.", { transaction_id: original.id });
      if (!REVERSIBLE.has(original.type) || original.status !== "POSTED") {
        throw failedPrecondition("NOT_REVERSIBLE", `A ${original.type.toLowerCase()} cannot be reversed; only posted deposits, withdrawals, transfers and captures can.`, { transaction_id: original.id });
      }
      const entries = await tx.all<{ account_id: string; amount: string }>(
        `SELECT account_id, CAST(amount AS TEXT) AS amount FROM entries WHERE transaction_id = ? AND amount <> 0 ORDER BY id`, [original.id],
      );
      const locked = await lockAccounts(tx, entries.map((e) => e.account_id));
      const t = await post(tx, locked, {
        transaction: {
          type: "REVERSAL", status: "POSTED", currency: original.currency, amount: original.amount,
          fromAccountId: original.toAccountId || null, toAccountId: original.fromAccountId || null,
          description: reason, requestId, initiatedBy: actor.userId, reversesId: original.id,
        },
        legs: entries.map((e) => ({ accountId: e.account_id, amount: -BigInt(e.amount), held: 0n })),
        force: input.force,
      }, nowMs);
      await tx.run(`UPDATE transactions SET status = 'REVERSED', update_time = ? WHERE id = ?`, [t.createTimeMs, original.id]);
      await audit(tx, actor, { action: "transaction.reverse", targetId: t.id, details: moneyDetails(t.amount, t.currency, { reverses_id: original.id, reason, force: input.force }) }, nowMs);
      return t;
    },
  });
}
