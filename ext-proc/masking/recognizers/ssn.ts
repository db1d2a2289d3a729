import { defineRecognizer } from './recognizer.ts';
import { isDigit, keepBytes } from './bytes.ts';

const d = (value: Buffer, i: number): number => value[i]! - 0x30;

/**
 * US Social Security numbers in the written forms `123-45-6789` and `123 45 6789`. Nine bare
 * digits are left alone: too many other numbers look like that. Never-issued numbers are
 * rejected: area 000, 666 or 900-999; group 00; serial 0000.
 */
export const ssn = defineRecognizer({
  id: 'ssn',
  description: 'US social security number',
  source: String.raw`\b\d{3}-\d{2}-\d{4}\b|\b\d{3} \d{2} \d{4}\b`,
  maxLength: 11,
  alphabet: '[0-9 -]',
  validate(value) {
    const area = d(value, 0) * 100 + d(value, 1) * 10 + d(value, 2);
    const group = d(value, 4) * 10 + d(value, 5);
    const serial = d(value, 7) * 1000 + d(value, 8) * 100 + d(value, 9) * 10 + d(value, 10);
    if (area === 0 || area === 666 || area >= 900 || group === 0 || serial === 0) return 0;
    return value.length;
  },
  canonical: (value) => keepBytes(value, isDigit),
});
