/**
 * COPY CSV format as PostgreSQL writes it: `,` between fields, `"` quotes a field and is doubled
 * inside one, an unquoted empty field is NULL and an empty string is `""`. A quoted field may
 * hold commas, quotes and line breaks; one CopyData is still one row.
 */
const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const END_MARKER = Buffer.from('\\.', 'latin1');

export interface CsvField {
  /** The bytes on the wire, quotes included. */
  readonly raw: Buffer;
  /** The value, quotes removed; null for NULL. */
  readonly value: Buffer | null;
  readonly quoted: boolean;
}

/** One row split into fields, and the line end outside quotes (`\n`, `\r\n` or none). */
export function splitCsvRow(row: Buffer): { fields: CsvField[]; terminator: Buffer } {
  const fields: CsvField[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    if (row[i] === QUOTE) {
      const parts: Buffer[] = [];
      let from = ++i;
      for (; i < row.length; i++) {
        if (row[i] !== QUOTE) continue;
        parts.push(row.subarray(from, i));
        if (row[i + 1] === QUOTE) {
          from = ++i;
          continue;
        }
        from = -1;
        i++;
        break;
      }
      // An unterminated quote runs to the end of the row: the whole rest is its value.
      if (from >= 0) parts.push(row.subarray(from, i));
      // PostgreSQL never writes bytes between a closing quote and the comma; if some are there,
      // they are kept as part of the value rather than dropped.
      const tail = i;
      while (i < row.length && row[i] !== COMMA && !atLineEnd(row, i)) i++;
      parts.push(row.subarray(tail, i));
      fields.push({ raw: row.subarray(start, i), value: Buffer.concat(parts), quoted: true });
    } else {
      while (i < row.length && row[i] !== COMMA && !atLineEnd(row, i)) i++;
      const raw = row.subarray(start, i);
      fields.push({ raw, value: raw.length === 0 ? null : raw, quoted: false });
    }
    if (i < row.length && row[i] === COMMA) {
      i++;
      continue;
    }
    return { fields, terminator: row.subarray(i) };
  }
}

/** Whether a line end (`\n` or `\r\n`, outside quotes) starts at `i` and ends the row. */
function atLineEnd(row: Buffer, i: number): boolean {
  return (row[i] === LF && i === row.length - 1) || (row[i] === CR && row[i + 1] === LF && i === row.length - 2);
}

/**
 * A value written as a CSV field: quoted when it was, when it is empty (unquoted empty is NULL),
 * when it holds a comma, quote or line break, or is `\.` (the end-of-data marker), as PostgreSQL
 * does.
 */
export function encodeCsvField(value: Buffer, wasQuoted: boolean): Buffer {
  const quote = wasQuoted || value.length === 0 || value.equals(END_MARKER) || value.some((b) => b === COMMA || b === QUOTE || b === LF || b === CR);
  if (!quote) return value;
  const pieces: Buffer[] = [Buffer.from('"')];
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== QUOTE) continue;
    pieces.push(value.subarray(from, i + 1), Buffer.from('"'));
    from = i + 1;
  }
  pieces.push(value.subarray(from), Buffer.from('"'));
  return Buffer.concat(pieces);
}
