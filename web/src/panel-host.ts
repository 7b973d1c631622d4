// What the account panel's parts see of each other, as interfaces: the forms see the panel they
// belong to, the panel sees the accounts list it was opened from. The parts import these, not
// each other's classes, so that imports run one way (no circle: npm run lint checks web/src).
import type { Account } from "../../gen/bank/v1/account_pb";
import type { Transaction } from "../../gen/bank/v1/transaction_pb";
import type { KnownAccounts } from "./statement-lines";

/** The open account, as its forms use it (web/src/account-panel.ts implements it). */
export interface PanelHost {
  /** The account shown; undefined before one is opened. */
  readonly account: Account | undefined;
  /** The account's pending holds, newest first. */
  readonly holds: Transaction[];
  /** The account's display name and number, for messages. */
  readonly name: string;
  /** Shows `account` as it now is (after a change a form made), or reads it again. */
  replaced(account: Account | undefined): Promise<void>;
}

/** The accounts list the panel was opened from (web/src/accounts-view.ts implements it); it also
 * names the accounts a statement line refers to. */
export interface AccountsHost extends KnownAccounts {
  /** An account changed (a form, a live status): the list shows it as it now is. */
  updated(account: Account): void;
}
