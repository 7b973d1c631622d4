// A statement as a CSV file: one line per statement entry, exactly as ListTransactions returns
// them (newest first), for a spreadsheet or an accounting import. Amounts and balances are plain
// decimal strings in major units ("-12.50", never grouped, never localised, never through a
// float: bigint minor units and the currency's exponent), times ISO 8601 in UTC, types and
// statuses by their enum names. Pure, so the rules are tested without a browser.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { StatementEntry } from "../../gen/bank/v1/transaction_pb";
import { TransactionStatus, TransactionType } from "../../gen/bank/v1/transaction_pb";
import { csvDocument, csvText } from "./csv";
import { decimalString } from "./money";

export const STATEMENT_CSV_HEADER = [
  "time", "transaction_id", "type", "status", "description", "amount", "currency", "balance_after", "transaction_amount",
  "counterparty_account_number", "counterparty_name",
] as const;

/** "2026-12-06T20:34:45.123456Z": UTC, with 0, 3, 6 or 9 digits of fraction as the time has
 * them (as protobuf's JSON mapping writes a Timestamp). */
export function isoTime(ts: Timestamp | undefined): string {
  if (!ts) return "";
  const whole = new Date(Number(ts.seconds) * 1000).toISOString().slice(0, 19);
  const nanos = ts.nanos;
  const fraction = nanos === 0 ? "" : nanos % 1_000_000 === 0 ? `.${String(nanos / 1_000_000).padStart(3, "0")}` : nanos % 1000 === 0 ? `.${String(nanos / 1000).padStart(6, "0")}` : `.${String(nanos).padStart(9, "0")}`;
  return `${whole}${fraction}Z`;
}

function enumName(names: Record<number, string>, value: number): string {
  return names[value] ?? String(value);
}

/** The CSV text of `entries` (newest first, as read), with a header line. `exponentOf` gives a
 * currency's minor units (2 for USD, 0 for JPY). */
export function statementCsv(entries: readonly StatementEntry[], exponentOf: (currency: string) => number): string {
  const amount = (m: { currency: string; minorUnits: bigint } | undefined) => (m ? decimalString(m.minorUnits, exponentOf(m.currency)) : "");
  const records = entries.map((entry) => {
    const tx = entry.transaction;
    return [
      isoTime(tx?.createTime),
      tx?.id ?? "",
      tx ? enumName(TransactionType, tx.type) : "",
      tx ? enumName(TransactionStatus, tx.status) : "",
      csvText(tx?.description ?? ""),
      amount(entry.amount),
      entry.amount?.currency ?? entry.balanceAfter?.currency ?? "",
      amount(entry.balanceAfter),
      amount(tx?.amount),
      csvText(entry.counterparty?.accountNumber ?? ""),
      csvText(entry.counterparty?.name ?? ""),
    ];
  });
  return csvDocument([STATEMENT_CSV_HEADER, ...records]);
}

/** One page of a statement read. */
export interface StatementPage {
  entries: StatementEntry[];
  nextPageToken: string;
}

/** Reads every page of a statement, `pageSizeMax` entries a call, up to `rowsMax` entries (the
 * newest); `capped` says there were more. One more entry than the cap is asked for, so a
 * statement of exactly `rowsMax` lines is not taken for a capped one. */
export async function readWholeStatement(
  list: (pageToken: string, pageSize: number) => Promise<StatementPage>,
  rowsMax: number,
  pageSizeMax: number,
): Promise<{ entries: StatementEntry[]; capped: boolean }> {
  const entries: StatementEntry[] = [];
  let pageToken = "";
  do {
    const page = await list(pageToken, Math.min(pageSizeMax, rowsMax + 1 - entries.length));
    entries.push(...page.entries);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && entries.length <= rowsMax);
  const capped = entries.length > rowsMax;
  return { entries: capped ? entries.slice(0, rowsMax) : entries, capped };
}
