// A strict RFC 4180 reader for the tests of the console's CSV export: records end with CRLF
// (a bare CR or LF outside quotes is an error), quoted fields may hold commas, quotes (doubled)
// and line breaks, and a quote inside an unquoted field is an error.
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let i = 0;
  while (i < text.length) {
    let value = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error("unterminated quoted field");
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
    } else {
      while (i < text.length && !",\r\n".includes(text[i]!)) {
        if (text[i] === '"') throw new Error(`quote inside an unquoted field at ${i}`);
        value += text[i++];
      }
    }
    fields.push(value);
    if (text[i] === ",") {
      i++;
      continue;
    }
    if (text.startsWith("\r\n", i)) {
      i += 2;
      records.push(fields);
      fields = [];
      continue;
    }
    throw new Error(`expected a comma or CRLF at ${i}`);
  }
  if (fields.length > 0) throw new Error("the last record has no CRLF");
  return records;
}
