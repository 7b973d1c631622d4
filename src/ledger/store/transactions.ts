// The reads of transactions and entries: one transaction with its parties' owners, an account's
// statement (entries joined to their transactions and counterparties), the entries WatchAccount
// streams, and balances at a past instant. Statements and past balances come from the
// append-only entries (balance_after). Select lists from columns.ts (the entities' columns).
import type { Row, Tx } from "../../db/database";
import { transactionColumns } from "./columns";

/** A transaction (transactionColumns) with its parties' owners and, for a reversal, the reversed
 * transaction's description. */
export function transactionWithParties(tx: Tx, id: string): Promise<Row | undefined> {
  return tx.one(
    `SELECT ${transactionColumns("t")}, fa.owner_id AS from_owner, ta.owner_id AS to_owner, ot.description AS reversed_description
       FROM transactions t
       LEFT JOIN accounts fa ON fa.id = t.from_account_id
       LEFT JOIN accounts ta ON ta.id = t.to_account_id
       LEFT JOIN transactions ot ON ot.id = t.reverses_id
      WHERE t.id = ?`,
    [id],
  );
}

/** A statement line's columns: the transaction, the entry, and the other customer account of a
 * transfer, capture or reversal (the one that is not this entry's) with its owner's name. */
export const STATEMENT_COLUMNS = `${transactionColumns("t")}, e.account_id AS entry_account_id, e.seq AS entry_seq,
  CAST(e.amount AS TEXT) AS entry_amount, CAST(e.balance_after AS TEXT) AS entry_balance_after,
  ca.number AS counterparty_number, ca.kind AS counterparty_kind, cu.full_name AS counterparty_name,
  ca.owner_id AS counterparty_owner, ot.description AS reversed_description`;

export const STATEMENT_FROM = `FROM entries e JOIN transactions t ON t.id = e.transaction_id
  LEFT JOIN accounts ca ON t.tx_type IN ('TRANSFER', 'CAPTURE', 'REVERSAL')
        AND ca.id = CASE WHEN t.from_account_id = e.account_id THEN t.to_account_id ELSE t.from_account_id END
  LEFT JOIN users cu ON cu.id = ca.owner_id
  LEFT JOIN transactions ot ON t.tx_type = 'REVERSAL' AND ot.id = t.reverses_id`;

/** An account's statement lines (STATEMENT_COLUMNS), newest first: start <= create_time < end,
 * below the seq `beforeSeq`, at most `limit`. */
export function statementRows(tx: Tx, q: { accountId: string; start?: number; end?: number; beforeSeq?: number; limit: number }): Promise<Row[]> {
  const where = ["e.account_id = ?"];
  const params: unknown[] = [q.accountId];
  if (q.start !== undefined) (where.push("e.create_time >= ?"), params.push(q.start));
  if (q.end !== undefined) (where.push("e.create_time < ?"), params.push(q.end));
  if (q.beforeSeq !== undefined) (where.push("e.seq < ?"), params.push(q.beforeSeq));
  return tx.all(`SELECT ${STATEMENT_COLUMNS} ${STATEMENT_FROM} WHERE ${where.join(" AND ")} ORDER BY e.seq DESC LIMIT ?`, [...params, q.limit]);
}

/** WatchAccount: each watcher's next statement lines (seq after_seq + 1 .. upto_seq of its
 * account), `watcher_id` per row, in watcher then seq order, at most `limit` rows. */
export function watchedStatementRows(tx: Tx, wanted: readonly { w: number; account_id: string; after_seq: number; upto_seq: number }[], limit: number): Promise<Row[]> {
  const r = tx.engine.jsonRows("r", [{ name: "w", type: "bigint" }, { name: "account_id", type: "text" }, { name: "after_seq", type: "bigint" }, { name: "upto_seq", type: "bigint" }]);
  return tx.all<Row>(
    `SELECT r.w AS watcher_id, ${STATEMENT_COLUMNS} ${STATEMENT_FROM}
       JOIN ${r} ON e.account_id = r.account_id AND e.seq > r.after_seq AND e.seq <= r.upto_seq
      ORDER BY r.w, e.seq LIMIT ?`,
    [JSON.stringify(wanted), limit],
  );
}

/** The account's ledger balance (balance_after of its last entry at or before `asOf`; 0 before
 * any) and held total (the holds pending at `asOf`) at a past instant. */
export async function balancesAt(tx: Tx, accountId: string, asOf: number): Promise<{ balance: bigint; held: bigint }> {
  const last = await tx.one<{ balance_after: string }>(
    `SELECT CAST(balance_after AS TEXT) AS balance_after FROM entries WHERE account_id = ? AND create_time <= ? ORDER BY create_time DESC, seq DESC LIMIT 1`,
    [accountId, asOf],
  );
  const held = await tx.one<{ held: string | null }>(
    `SELECT CAST(SUM(t.amount) AS TEXT) AS held FROM entries e JOIN transactions t ON t.id = e.transaction_id
      WHERE e.account_id = ? AND e.create_time <= ? AND t.tx_type = 'HOLD' AND (t.status = 'PENDING' OR t.update_time > ?)`,
    [accountId, asOf, asOf],
  );
  return { balance: BigInt(last?.balance_after ?? "0"), held: BigInt(held?.held ?? "0") };
}
