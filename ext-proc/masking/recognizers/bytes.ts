/** Byte tests shared by validators; they run on raw match bytes and never decode. */

export function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

export function isAsciiAlnum(byte: number): boolean {
  return isDigit(byte) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
}

/** The bytes of `value` that pass `keep`, as a new Buffer. */
export function keepBytes(value: Buffer, keep: (byte: number) => boolean): Buffer {
  const out: number[] = [];
  for (const byte of value) if (keep(byte)) out.push(byte);
  return Buffer.from(out);
}
