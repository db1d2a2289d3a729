import { defineRecognizer } from './recognizer.ts';
import { isDigit, keepBytes } from './bytes.ts';
import { luhnValid } from './luhn.ts';

/**
 * Payment card numbers: 13-19 digits, optionally grouped with spaces or dashes. The first digit
 * must be 2-6 (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay/Maestro 6): that
 * leaves out 13-digit millisecond timestamps and most numeric ids, which would otherwise pass
 * Luhn one time in ten. `\b` on both sides keeps longer digit runs from matching inside.
 */
export const card = defineRecognizer({
  id: 'card',
  description: 'payment card number (Luhn-checked)',
  source: String.raw`\b[2-6](?:[ -]?\d){12,18}\b`,
  maxLength: 40,
  alphabet: '[0-9 -]',
  validate: (value) => (luhnValid(value) ? value.length : 0),
  canonical: (value) => keepBytes(value, isDigit),
});
