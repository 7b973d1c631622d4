// What the views share: the clients, the person's permissions, the money-safe retries, the
// directory of people, and a few ways to move between views.
import type { Account } from "../../gen/bank/v1/account_pb";
import type { User } from "../../gen/bank/v1/user_pb";
import type { Permissions } from "./access";
import type { Api } from "./api";
import type { Directory } from "./directory";
import type { DetailDrawer } from "./drawer";
import type { Currencies } from "./format";
import type { SafeRetries } from "./safe-retry";

export type ViewId = "accounts-view" | "users-view" | "audit-view" | "sessions-view" | "password-view";

export interface ConsoleContext {
  readonly api: Api;
  readonly currencies: Currencies;
  readonly retries: SafeRetries;
  readonly directory: Directory;
  /** The side panel that shows every field of a table row (staff tables). */
  readonly drawer: DetailDrawer;
  /** The signed-in person. */
  readonly user: User | undefined;
  /** The signed-in person's permissions, from the roles of the current access token. */
  readonly perms: Permissions;
  /** Shows one account (accounts view) with its forms and statement. */
  selectAccount(account: Account): Promise<void>;
  /** Shows the accounts of one person (accounts view), with a form to open one for them. */
  showAccountsOf(user: User): Promise<void>;
  /** Something about the shown account changed: read it, its statement and the list again. */
  accountChanged(): Promise<void>;
}
