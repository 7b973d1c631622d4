// bank.v1.AccountService: a thin adapter. Each handler maps the request to one ledger function
// and the result to the response; the rules live in src/ledger.
import type { ServiceImpl } from "@connectrpc/connect";
import { AccountService } from "../../gen/bank/v1/account_service_pb";
import type { Ledger } from "../ledger/ledger";
import { closeAccount, createAccount, freezeAccount, getAccount, listAccounts, lookupAccount, unfreezeAccount, updateAccount } from "../ledger/accounts";
import { getBalance } from "../ledger/reads";
import { setAccountLimits, type LimitInput } from "../ledger/account-limits";
import type { AccountView } from "../ledger/types";
import { accountMessage, accountTypeName, actorOf, money, optionalMs, statementEntryMessage } from "./mapping/ledger";
import type { AccountWatchers } from "../ledger/watch";
import type { AccountOpening } from "../ledger/account-opening";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";

export function accountService(ledger: Ledger, watchers: AccountWatchers, opening: AccountOpening): ServiceImpl<typeof AccountService> {
  const view = (a: AccountView) => accountMessage(a, ledger.currency(a.currency).dailyLimits, ledger.now());
  return {
    async createAccount(req, ctx) {
      const account = await createAccount(ledger, actorOf(ctx), {
        requestId: req.requestId,
        currency: req.currency,
        type: accountTypeName(req.type),
        displayName: req.displayName,
        ownerId: req.ownerId,
      }, opening);
      return { account: view(account) };
    },
    async getAccount(req, ctx) {
      return { account: view(await getAccount(ledger, actorOf(ctx), req.accountId)) };
    },
    async listAccounts(req, ctx) {
      const page = await listAccounts(ledger, actorOf(ctx), { ownerId: req.ownerId, pageSize: req.pageSize, pageToken: req.pageToken });
      return { accounts: page.items.map(view), nextPageToken: page.nextPageToken };
    },
    async updateAccount(req, ctx) {
      const account = await updateAccount(ledger, actorOf(ctx), {
        accountId: req.accountId,
        displayName: req.displayName,
        overdraftLimit: req.overdraftLimit,
        updateMask: req.updateMask?.paths,
        etag: req.etag,
      });
      return { account: view(account) };
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
      return { account: view(await freezeAccount(ledger, actorOf(ctx), { accountId: req.accountId, reason: req.reason })) };
    },
    async unfreezeAccount(req, ctx) {
      return { account: view(await unfreezeAccount(ledger, actorOf(ctx), { accountId: req.accountId, reason: req.reason })) };
    },
    async closeAccount(req, ctx) {
      return { account: view(await closeAccount(ledger, actorOf(ctx), { accountId: req.accountId })) };
    },
    async lookupAccount(req, ctx) {
      return { account: view(await lookupAccount(ledger, actorOf(ctx), req.number)) };
    },
    async setAccountLimits(req, ctx) {
      const setting = (s: typeof req.deposit): LimitInput =>
        s?.setting.case === "limit" ? { limit: { currency: s.setting.value.currency, minorUnits: s.setting.value.minorUnits } }
          : s?.setting.case === "unlimited" ? { unlimited: s.setting.value }
            : s === undefined ? undefined : { unlimited: false };
      const account = await setAccountLimits(ledger, actorOf(ctx), {
        accountId: req.accountId, deposit: setting(req.deposit), withdrawal: setting(req.withdrawal), transferOut: setting(req.transferOut), incoming: setting(req.incoming), reason: req.reason, updateMask: req.updateMask?.paths,
      });
      return { account: view(account) };
    },
    async *watchAccount(req, ctx) {
      for await (const event of watchers.watch(actorOf(ctx), { accountId: req.accountId, startAfter: req.startAfter }, ctx.signal)) {
        if ("line" in event) yield { entry: statementEntryMessage(event.line), cursor: event.cursor };
        else yield { cursor: event.cursor, ...(event.account ? { account: view(event.account) } : {}) };
      }
    },
  };
}
