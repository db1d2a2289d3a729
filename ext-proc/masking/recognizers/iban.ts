import { defineRecognizer } from './recognizer.ts';
import { isAsciiAlnum, keepBytes } from './bytes.ts';
import { ibanChecksumValid } from './iban-checksum.ts';
import { IBAN_LENGTHS } from './iban-lengths.ts';

/**
 * IBANs: country code, two check digits, 11-30 BBAN characters, optionally in groups separated
 * by single spaces; uppercase only, as printed. The pattern is greedy, so in
 * `GB82 WEST 1234 5698 7654 32 TO JOHN` it takes `TO JOHN` as well; the validator trims the
 * match to the country's length (it must end at a space or the end of the match) before the
 * mod-97 check.
 */
export const iban = defineRecognizer({
  id: 'iban',
  description: 'IBAN (mod-97 checked)',
  source: String.raw`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b`,
  maxLength: 64,
  alphabet: '[A-Z0-9 ]',
  validate(value) {
    const chars: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < value.length; i++) {
      if (value[i] === 0x20) continue;
      chars.push(value[i]!);
      ends.push(i + 1);
    }
    const check = (chars[2]! - 0x30) * 10 + (chars[3]! - 0x30);
    if (check < 2 || check > 98) return 0;
    const expected = IBAN_LENGTHS[value.toString('latin1', 0, 2)];
    const length = expected ?? chars.length;
    if (chars.length < length || length < 15 || length > 34) return 0;
    const end = ends[length - 1]!;
    if (end < value.length && value[end] !== 0x20) return 0;
    return ibanChecksumValid(chars.slice(0, length)) ? end : 0;
  },
  canonical: (value) => keepBytes(value, isAsciiAlnum),
});
