import { inRanges, MAPPED_TO_NOTHING, NON_ASCII_SPACE, PROHIBITED, RAND_AL_CAT } from './saslprep-tables.ts';

// RFC 3454 A.1 (unassigned in Unicode 3.2) and D.2 (bidi class L) need the Unicode 3.2 database,
// which JavaScript does not expose (no Age or Bidi_Class property escapes). Approximations:
// unassigned = unassigned in the runtime's Unicode; L = a letter, spacing mark or letter number
// outside the right-to-left scripts. PostgreSQL has the exact tables, so a password that mixes
// right-to-left and left-to-right text, or uses a code point assigned after Unicode 3.2 together
// with a character SASLprep maps, may be prepared differently; every other password matches.
const UNASSIGNED = /\p{Cn}/u;
const LEFT_TO_RIGHT = /[\p{L}\p{Mc}\p{Nl}]/u;
const RIGHT_TO_LEFT_SCRIPT = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}]/u;

const isLeftToRight = (char: string, codePoint: number) =>
  LEFT_TO_RIGHT.test(char) && !RIGHT_TO_LEFT_SCRIPT.test(char) && !inRanges(codePoint, RAND_AL_CAT);

/**
 * SASLprep (RFC 4013) as PostgreSQL applies it to SCRAM passwords: map non-ASCII spaces to
 * U+0020, drop the characters "commonly mapped to nothing", normalise to NFKC. Returns undefined
 * for a string SASLprep refuses (prohibited or unassigned code points, broken bidi rule, nothing
 * left after mapping); the caller then uses the raw password, as PostgreSQL does on both ends, so
 * such a login still works.
 */
export function saslprep(input: string): string | undefined {
  // Pure ASCII needs no processing; PostgreSQL returns it unchanged, control characters included.
  if (/^[\x00-\x7f]*$/.test(input)) return input;

  let mapped = '';
  for (const char of input) {
    const codePoint = char.codePointAt(0)!;
    if (inRanges(codePoint, NON_ASCII_SPACE)) mapped += ' ';
    else if (!inRanges(codePoint, MAPPED_TO_NOTHING)) mapped += char;
  }
  // PostgreSQL refuses a password that maps to nothing.
  if (mapped === '') return undefined;

  // The RFC checks the normalised output; PostgreSQL (server and libpq alike) checks the mapped
  // code points before normalisation. What matters is agreeing with the server, so do the same.
  const chars = [...mapped];
  let hasRandAL = false;
  let hasL = false;
  for (const char of chars) {
    const codePoint = char.codePointAt(0)!;
    if (inRanges(codePoint, PROHIBITED) || UNASSIGNED.test(char)) return undefined;
    if (inRanges(codePoint, RAND_AL_CAT)) hasRandAL = true;
    else if (isLeftToRight(char, codePoint)) hasL = true;
  }
  if (hasRandAL) {
    // RFC 3454 section 6: right-to-left text holds no left-to-right character and starts and ends
    // with a right-to-left one.
    const first = chars[0]!.codePointAt(0)!;
    const last = chars[chars.length - 1]!.codePointAt(0)!;
    if (hasL || !inRanges(first, RAND_AL_CAT) || !inRanges(last, RAND_AL_CAT)) return undefined;
  }
  return mapped.normalize('NFKC');
}
