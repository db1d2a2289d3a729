/**
 * COPY text format (PostgreSQL's default): fields separated by a tab, `\N` for NULL, and
 * backslash escapes for the bytes that would break the line (`\t`, `\n`, `\r`, `\\`, also `\b`,
 * `\f`, `\v`, octal `\NNN` and hex `\xHH`, as COPY FROM reads them). One CopyData is one row.
 */
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const NULL_FIELD = Buffer.from('\\N', 'latin1');

/** `\b \t \n \v \f \r` by the letter after the backslash. */
const SIMPLE: Readonly<Record<number, number>> = { 0x62: 8, 0x66: 12, 0x6e: LF, 0x72: CR, 0x74: TAB, 0x76: 11 };
const LETTER_OF: Readonly<Record<number, string>> = { 8: 'b', 12: 'f', [LF]: 'n', [CR]: 'r', [TAB]: 't', 11: 'v', [BACKSLASH]: '\\' };

/** One row split into raw fields (escapes still in), and the line end (`\n`, `\r\n` or none). */
export function splitTextRow(row: Buffer): { fields: Buffer[]; terminator: Buffer } {
  let end = row.length;
  // A raw CR or LF is never data (data has them escaped), so a trailing one ends the line.
  if (end > 0 && row[end - 1] === LF) end--;
  if (end > 0 && row[end - 1] === CR) end--;
  const fields: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < end; i++) {
    const byte = row[i]!;
    if (byte === BACKSLASH) i++;
    else if (byte === TAB) {
      fields.push(row.subarray(start, i));
      start = i + 1;
    }
  }
  fields.push(row.subarray(start, end));
  return { fields, terminator: row.subarray(end) };
}

export function isNullField(raw: Buffer): boolean {
  return raw.equals(NULL_FIELD);
}

/** The field's value with its escapes decoded; the same Buffer when it has none. */
export function decodeTextField(raw: Buffer): Buffer {
  if (!raw.includes(BACKSLASH)) return raw;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (byte !== BACKSLASH || i + 1 === raw.length) {
      out.push(byte);
      continue;
    }
    const next = raw[++i]!;
    if (SIMPLE[next] !== undefined) out.push(SIMPLE[next]);
    else if (next >= 0x30 && next <= 0x37) {
      let value = next - 0x30;
      for (let k = 0; k < 2 && i + 1 < raw.length && raw[i + 1]! >= 0x30 && raw[i + 1]! <= 0x37; k++) value = value * 8 + (raw[++i]! - 0x30);
      out.push(value & 0xff);
    } else if (next === 0x78 && i + 1 < raw.length && isHex(raw[i + 1]!)) {
      let value = hexValue(raw[++i]!);
      if (i + 1 < raw.length && isHex(raw[i + 1]!)) value = value * 16 + hexValue(raw[++i]!);
      out.push(value);
    } else out.push(next);
  }
  return Buffer.from(out);
}

/** A value written as a text-format field: every byte that could end the field or line escaped. */
export function encodeTextField(value: Buffer): Buffer {
  let needs = false;
  for (const byte of value) if (LETTER_OF[byte] !== undefined) needs = true;
  if (!needs) return value;
  const pieces: string[] = [];
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const letter = LETTER_OF[value[i]!];
    if (letter === undefined) continue;
    pieces.push(value.subarray(from, i).toString('latin1'), `\\${letter}`);
    from = i + 1;
  }
  pieces.push(value.subarray(from).toString('latin1'));
  return Buffer.from(pieces.join(''), 'latin1');
}

function isHex(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

function hexValue(byte: number): number {
  return byte <= 0x39 ? byte - 0x30 : (byte | 0x20) - 0x57;
}
