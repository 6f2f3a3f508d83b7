/** One CSV field as RFC 4180 writes it: quoted (inner quotes doubled) when it holds a comma, quote, CR or LF. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * Parses RFC 4180 CSV text into rows of fields: quoted fields may hold commas, doubled quotes and
 * line breaks; rows end with LF or CRLF; a final line break adds no empty row. Throws a RangeError
 * naming the line of an unterminated quoted field.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  let line = 1;
  let quotedFrom = 0;
  let isQuoted = false;
  const endRow = () => {
    row.push(field);
    rows.push(row);
    row = [];
    field = "";
  };
  while (i < text.length) {
    const c = text[i]!;
    if (isQuoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        isQuoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === "") {
      isQuoted = true;
      quotedFrom = line;
    } else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || (c === "\r" && text[i + 1] === "\n")) {
      endRow();
      line++;
      if (c === "\r") i++;
    } else field += c;
    i++;
  }
  if (isQuoted) throw new RangeError(`unterminated quoted field starting on line ${quotedFrom}`);
  if (field !== "" || row.length > 0) endRow();
  return rows;
}
