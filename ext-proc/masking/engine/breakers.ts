import { SluiceError } from '../../../common/errors.ts';

/**
 * A pattern's breakers: the bytes that can never occur inside one of its matches (everything
 * outside its alphabet). A match starting before the last breaker in the window must end at or
 * before it, and the breaker itself is the one byte of look-ahead `\b` needs, so the stream can
 * settle up to there at once instead of waiting for maxLength more bytes. That is what keeps
 * small events (server-sent events, NDJSON lines, chat tokens) flowing instead of held back.
 *
 * The alphabet is an RE2/JS character class over ASCII, e.g. `[0-9 -]`. Bytes >= 0x80 are never
 * breakers (a class over ASCII says nothing about UTF-8 sequences), which only costs latency.
 */
export function breakerTable(alphabet: string): Uint8Array {
  if (!/^\[.+\]$/s.test(alphabet)) {
    throw new SluiceError('ERR_MASKING_PROFILE_INVALID', `alphabet must be one character class such as "[A-Z0-9-]", got ${JSON.stringify(alphabet)}`);
  }
  let member: RegExp;
  try {
    member = new RegExp(`^${alphabet}$`, 's');
  } catch (err) {
    throw new SluiceError('ERR_MASKING_PROFILE_INVALID', `alphabet ${JSON.stringify(alphabet)} is not a character class: ${(err as Error).message}`);
  }
  const table = new Uint8Array(256);
  for (let byte = 0; byte < 0x80; byte++) table[byte] = member.test(String.fromCharCode(byte)) ? 0 : 1;
  return table;
}

/** Index of the last breaker in text[from, to), or -1. */
export function lastBreaker(text: Uint8Array, breakers: Uint8Array, from: number, to: number): number {
  for (let i = to - 1; i >= from; i--) if (breakers[text[i]!] === 1) return i;
  return -1;
}
