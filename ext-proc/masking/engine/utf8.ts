/**
 * Byte-level UTF-8 helpers. The masker never decodes text: it only needs to avoid cutting a
 * character in half when it emits or truncates, and to step over a character when a candidate
 * is rejected. Invalid bytes are treated as one-byte characters, deterministically.
 */

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** The start of the character after the one at `pos` (at most 4 bytes on, never past the end). */
export function nextCharStart(text: Buffer, pos: number): number {
  const limit = Math.min(text.length, pos + 4);
  let i = pos + 1;
  while (i < limit && isContinuation(text[i]!)) i++;
  return i;
}

/**
 * `pos` moved back to the first byte of the character it falls inside, never below `floor`.
 * A stray continuation byte with no lead before it is left where it is.
 */
export function charStartAtOrBefore(text: Buffer, pos: number, floor: number): number {
  if (pos >= text.length || !isContinuation(text[pos]!)) return pos;
  let i = pos;
  while (i > floor && i > pos - 3 && isContinuation(text[i]!)) i--;
  const lead = text[i]!;
  if (isContinuation(lead)) return pos;
  const width = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + width > pos ? i : pos;
}
