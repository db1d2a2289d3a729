import type { Strategy } from './strategy.ts';

const STAR = 0x2a;

function isAsciiAlnum(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
}

/**
 * Letters and digits become `*` except the last `n`; ASCII punctuation and spaces stay where
 * they are, so grouping survives (`**** **** **** 1234`, `***-**-6789`). A non-ASCII character
 * counts as one character and becomes one `*`, so the output stays valid UTF-8. At most half
 * the characters are ever kept: keep-last-4 on a 6-character value shows 3.
 */
export function keepLastStrategy(n: number): Strategy {
  return Object.freeze({
    label: `keep-last-${n}`,
    render(value: Buffer): Buffer {
      // Character starts of the maskable characters, found without decoding.
      const starts: number[] = [];
      for (let i = 0; i < value.length; i++) {
        const byte = value[i]!;
        if (byte < 0x80 ? isAsciiAlnum(byte) : (byte & 0xc0) !== 0x80) starts.push(i);
      }
      const keep = Math.min(n, Math.floor(starts.length / 2));
      const keepFrom = keep === 0 ? value.length : starts[starts.length - keep]!;
      const out: number[] = [];
      for (let i = 0; i < keepFrom; i++) {
        const byte = value[i]!;
        if (byte < 0x80) out.push(isAsciiAlnum(byte) ? STAR : byte);
        else if ((byte & 0xc0) !== 0x80) out.push(STAR);
      }
      return Buffer.concat([Buffer.from(out), value.subarray(keepFrom)]);
    },
  });
}
