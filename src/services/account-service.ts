// bank.v1.AccountService: a thin adapter. Each handler maps the request to one ledger function
// and the result to the response; the rules live in src/ledger.
import type { ServiceImpl } from "@connectrpc/connect";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import type { Ledger } from "../ledger/ledger";
import { closeAccount, createAccount, freezeAccount, getAccount, listAccounts, lookupAccount, unfreezeAccount, updateAccount } from "../ledger/accounts";
import { Code, ConnectError } from "@connectrpc/connect";
import { getBalance } from "../ledger/reads";
import { accountMessage, accountTypeName, actorOf, money, optionalMs } from "../ledger/wire";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";

export function accountService(ledger: Ledger): ServiceImpl<typeof AccountService> {
  return {
    async createAccount(req, ctx) {
      const account = await createAccount(ledger, actorOf(ctx), {
        requestId: req.requestId,
        currency: req.currency,
        type: accountTypeName(req.type),
        displayName: req.displayName,
        ownerId: req.ownerId,
      });
      return { account: accountMessage(account) };
    },
    async getAccount(req, ctx) {
      return { account: accountMessage(await getAccount(ledger, actorOf(ctx), req.accountId)) };
    },
    async listAccounts(req, ctx) {
      const page = await listAccounts(ledger, actorOf(ctx), { ownerId: req.ownerId, pageSize: req.pageSize, pageToken: req.pageToken });
      return { accounts: page.items.map(accountMessage), nextPageToken: page.nextPageToken };
    },
    async updateAccount(req, ctx) {
      const account = await updateAccount(ledger, actorOf(ctx), {
        accountId: req.accountId,
        displayName: req.displayName,
        overdraftLimit: req.overdraftLimit,
        updateMask: req.updateMask?.paths,
        etag: req.etag,
      });
      return { account: accountMessage(account) };
    },
    async getBalance(req, ctx) {
      const b = await getBalance(ledger, actorOf(ctx), { accountId: req.accountId, asOfMs: optionalMs(req.asOf) });
      return {
        ledgerBalance: money(b.currency, b.ledger),
        availableBalance: money(b.currency, b.available),
        held: money(b.currency, b.held),
        asOf: timestampFromMs(b.asOfMs),
      };
    },
    async freezeAccount(req, ctx) {
      return { account: accountMessage(await freezeAccount(ledger, actorOf(ctx), { accountId: req.accountId, reason: req.reason })) };
    },
    async unfreezeAccount(req, ctx) {
      return { account: accountMessage(await unfreezeAccount(ledger, actorOf(ctx), { accountId: req.accountId, reason: req.reason })) };
    },
    async closeAccount(req, ctx) {
      return { account: accountMessage(await closeAccount(ledger, actorOf(ctx), { accountId: req.accountId })) };
    },
    async lookupAccount(req, ctx) {
      return { account: accountMessage(await lookupAccount(ledger, actorOf(ctx), req.number)) };
    },
    setAccountLimits() {
      throw new ConnectError("SetAccountLimits is not implemented yet", Code.Unimplemented);
    },
    // eslint-disable-next-line require-yield
    async *watchAccount() {
      throw new ConnectError("WatchAccount is not implemented yet", Code.Unimplemented);
    },
  };
}
