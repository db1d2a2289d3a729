import { defineRecognizer } from './recognizer.ts';
import { isDigit, keepBytes } from './bytes.ts';

/**
 * Phone numbers in three written forms, chosen so bare digit runs (ids, amounts, timestamps)
 * and dates do not match:
 * - international: `+` and 8-15 digits, with optional single separators and a `(0)` or area
 *   code in parentheses: `+1 415 555 0100`, `+44 (0)20 7946 0958`, `+14155550100`;
 * - North American: `(415) 555-0100`, `415-555-0100`, `415.555.0100` (separators required;
 *   area code and exchange must start with 2-9);
 * - national with a trunk 0 and space/dash groups: `020 7946 0958`, `01 23 45 67 89`,
 *   `07700 900123` (9-12 digits).
 * `\B` before `+` or `(` means the previous byte is not a word character.
 */
export const phone = defineRecognizer({
  id: 'phone',
  description: 'phone number (international, North American, national with trunk 0)',
  source: [
    String.raw`\B\+\d(?:[ .-]?(?:\(\d{1,4}\)|\d)){6,14}\b`,
    String.raw`(?:\B\(\d{3}\)[ .-]?|\b\d{3}[ .-])\d{3}[ .-]\d{4}\b`,
    String.raw`\b0[1-9]\d{0,3}(?:[ -]\d{2,8}){1,4}\b`,
  ].join('|'),
  maxLength: 100,
  alphabet: '[0-9 .()+-]',
  validate(value) {
    // Digit runs, counted without allocating: this runs once per phone-shaped match.
    let digits = 0;
    let runs = 0;
    let runShape = 0; // run lengths packed base 16: 3,3,4 -> 0x334
    let run = 0;
    let first = 0;
    let fourth = 0;
    for (const byte of value) {
      if (isDigit(byte)) {
        digits++;
        if (digits === 1) first = byte;
        if (digits === 4) fourth = byte;
        run++;
      } else if (run > 0) {
        runs++;
        runShape = runShape * 16 + Math.min(run, 15);
        run = 0;
      }
    }
    if (run > 0) {
      runs++;
      runShape = runShape * 16 + Math.min(run, 15);
    }
    if (value[0] === 0x2b) return digits >= 8 && digits <= 16 ? value.length : 0;
    // North American: (ddd) ddd-dddd or ddd-ddd-dddd; area code and exchange start with 2-9.
    if (runs === 3 && runShape === 0x334 && first >= 0x32 && fourth >= 0x32) return value.length;
    return value[0] === 0x30 && digits >= 9 && digits <= 12 ? value.length : 0;
  },
  canonical: (value) => keepBytes(value, (b) => isDigit(b) || b === 0x2b),
});
