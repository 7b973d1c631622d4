// Column lists and row -> view mapping for accounts and transactions. BIGINT money is read as
// text (CAST ... AS TEXT works on both engines) and parsed with BigInt, so no precision is lost;
// PostgreSQL returns other BIGINTs (times, counters) as strings, hence Number().
import type { Row } from "../../db/database";
import type { AccountView, TransactionView, AccountKind, AccountType, AccountStatus, LimitSetting, TransactionType, TransactionStatus } from "../types";

/** Money column read as text. */
export function money(column: string, alias = column.replace(/^.*\./, "")): string {
  return `CAST(${column} AS TEXT) AS ${alias}`;
}

export function accountColumns(prefix = ""): string {
  const p = prefix === "" ? "" : `${prefix}.`;
  return [
    `${p}id`,
    `${p}number`,
    `${p}owner_id`,
    `${p}kind`,
    `${p}currency`,
    `${p}account_type`,
    `${p}status`,
    `${p}display_name`,
    money(`${p}balance`),
    money(`${p}held`),
    money(`${p}overdraft_limit`),
    `${p}entry_count`,
    `${p}version`,
    `${p}create_time`,
    `${p}update_time`,
    `${p}shard`,
    money(`${p}deposit_limit`),
    money(`${p}withdrawal_limit`),
    money(`${p}transfer_out_limit`),
    money(`${p}incoming_limit`),
    `${p}usage_day`,
    money(`${p}deposit_used`),
    money(`${p}withdrawal_used`),
    money(`${p}transfer_out_used`),
    money(`${p}incoming_used`),
  ].join(", ");
}

/** A limit column: NULL = the default, -1 = no limit, else minor units. */
function limitSetting(value: unknown): LimitSetting {
  if (value === null || value === undefined) return null;
  const minor = BigInt(String(value));
  return minor === -1n ? "unlimited" : minor;
}

/** The column value of a limit setting. */
export function limitColumn(setting: LimitSetting): string | null {
  return setting === null ? null : setting === "unlimited" ? "-1" : setting.toString();
}

export function toAccount(row: Row): AccountView {
  return {
    id: String(row.id),
    number: String(row.number),
    ownerId: row.owner_id == null ? "" : String(row.owner_id),
    kind: String(row.kind) as AccountKind,
    currency: String(row.currency),
    type: String(row.account_type) as AccountType,
    status: String(row.status) as AccountStatus,
    displayName: String(row.display_name),
    balance: BigInt(String(row.balance)),
    held: BigInt(String(row.held)),
    overdraftLimit: BigInt(String(row.overdraft_limit)),
    createTimeMs: Number(row.create_time),
    updateTimeMs: Number(row.update_time),
    version: Number(row.version),
    shard: Number(row.shard ?? 0),
    limits: { deposit: limitSetting(row.deposit_limit), withdrawal: limitSetting(row.withdrawal_limit), transferOut: limitSetting(row.transfer_out_limit), incoming: limitSetting(row.incoming_limit) },
    usage: {
      day: Number(row.usage_day ?? 0),
      deposit: BigInt(String(row.deposit_used ?? "0")),
      withdrawal: BigInt(String(row.withdrawal_used ?? "0")),
      transferOut: BigInt(String(row.transfer_out_used ?? "0")),
      incoming: BigInt(String(row.incoming_used ?? "0")),
    },
  };
}

export function transactionColumns(prefix = ""): string {
  const p = prefix === "" ? "" : `${prefix}.`;
  return [
    `${p}id`,
    `${p}tx_type`,
    `${p}status`,
    `${p}currency`,
    money(`${p}amount`),
    `${p}from_account_id`,
    `${p}to_account_id`,
    `${p}description`,
    `${p}request_id`,
    `${p}initiated_by`,
    `${p}reverses_id`,
    `${p}hold_id`,
    `${p}expire_time`,
    `${p}create_time`,
  ].join(", ");
}

export function toTransaction(row: Row): TransactionView {
  return {
    id: String(row.id),
    type: String(row.tx_type) as TransactionType,
    status: String(row.status) as TransactionStatus,
    currency: String(row.currency),
    amount: BigInt(String(row.amount)),
    fromAccountId: row.from_account_id == null ? "" : String(row.from_account_id),
    toAccountId: row.to_account_id == null ? "" : String(row.to_account_id),
    description: String(row.description),
    requestId: String(row.request_id),
    initiatedBy: String(row.initiated_by),
    reversesId: row.reverses_id == null ? "" : String(row.reverses_id),
    holdId: row.hold_id == null ? "" : String(row.hold_id),
    expireTimeMs: row.expire_time == null ? null : Number(row.expire_time),
    createTimeMs: Number(row.create_time),
  };
}
