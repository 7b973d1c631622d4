// bank.v1.TransactionService: a thin adapter. Each handler maps the request to one ledger
// function and the result to the response; the money rules live in src/ledger.
import type { ServiceImpl } from "@connectrpc/connect";
import { TransactionService } from "../../gen/bank/v1/transaction_service_pb";
import type { Ledger } from "../ledger/ledger";
import { batchTransfer, captureHold, createHold, deposit, releaseHold, reverseTransaction, transfer, withdraw } from "../ledger/commands";
import { getTransaction, listTransactions } from "../ledger/reads";
import { actorOf, batchResultMessage, optionalMs, statementEntryMessage, transactionMessage, transferInput } from "./mapping/ledger";

export function transactionService(ledger: Ledger): ServiceImpl<typeof TransactionService> {
  return {
    async deposit(req, ctx) {
      const t = await deposit(ledger, actorOf(ctx), { requestId: req.requestId, accountId: req.accountId, amount: req.amount, description: req.description });
      return { transaction: transactionMessage(t) };
    },
    async withdraw(req, ctx) {
      const t = await withdraw(ledger, actorOf(ctx), { requestId: req.requestId, accountId: req.accountId, amount: req.amount, description: req.description });
      return { transaction: transactionMessage(t) };
    },
    async transfer(req, ctx) {
      return { transaction: transactionMessage(await transfer(ledger, actorOf(ctx), transferInput(req))) };
    },
    async batchTransfer(req, ctx) {
      const results = await batchTransfer(ledger, actorOf(ctx), { requestId: req.requestId, atomic: req.atomic, transfers: req.transfers.map(transferInput) });
      return { results: results.map(batchResultMessage) };
    },
    async getTransaction(req, ctx) {
      return { transaction: transactionMessage(await getTransaction(ledger, actorOf(ctx), req.transactionId)) };
    },
    async listTransactions(req, ctx) {
      const page = await listTransactions(ledger, actorOf(ctx), {
        accountId: req.accountId,
        startTimeMs: optionalMs(req.startTime),
        endTimeMs: optionalMs(req.endTime),
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { entries: page.items.map(statementEntryMessage), nextPageToken: page.nextPageToken };
    },
    async createHold(req, ctx) {
      const t = await createHold(ledger, actorOf(ctx), {
        requestId: req.requestId,
        accountId: req.accountId,
        amount: req.amount,
        description: req.description,
        expireTimeMs: optionalMs(req.expireTime),
      });
      return { transaction: transactionMessage(t) };
    },
    async captureHold(req, ctx) {
      const t = await captureHold(ledger, actorOf(ctx), { requestId: req.requestId, holdId: req.holdId, amount: req.amount, toAccountId: req.toAccountId });
      return { transaction: transactionMessage(t) };
    },
    async releaseHold(req, ctx) {
      return { transaction: transactionMessage(await releaseHold(ledger, actorOf(ctx), { requestId: req.requestId, holdId: req.holdId })) };
    },
    async reverseTransaction(req, ctx) {
      const t = await reverseTransaction(ledger, actorOf(ctx), { requestId: req.requestId, transactionId: req.transactionId, reason: req.reason, force: req.force });
      return { transaction: transactionMessage(t) };
    },
  };
}
