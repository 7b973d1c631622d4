// RFC 4180 CSV: one record a line, each line ended by CRLF; a field holding a comma, a double
// quote, CR or LF is put in double quotes, with its quotes doubled. Pure, so the rules are tested
// without a browser.

/** One field, quoted when it must be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A field of free text (a description, a name) that a spreadsheet must not run as a formula
 * (CSV injection, OWASP): text starting with =, +, -, @, a tab or a CR gets a leading single
 * quote, which spreadsheets show as text. Only free text is guarded: amounts and balances are
 * written as they are ("-12.50" must stay a number for whoever sums the column), and the other
 * fields (times, ids, enum names, account numbers) never start with these characters. */
export function csvText(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** A whole document: each record on its own CRLF-ended line. */
export function csvDocument(records: readonly (readonly string[])[]): string {
  return records.map((fields) => fields.map(csvField).join(",") + "\r\n").join("");
}
