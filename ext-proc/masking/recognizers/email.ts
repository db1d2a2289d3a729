import { defineRecognizer } from './recognizer.ts';

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';

/**
 * Email addresses as they appear in bodies (not the full RFC 5322 grammar: quoted local parts
 * and IP-literal domains are left out). The domain needs a dot and an alphabetic TLD. Unbounded
 * repetitions keep RE2's automaton small; the length limits (64 local, 254 total) are checked
 * by the validator instead of counted repetitions.
 */
export const email = defineRecognizer({
  id: 'email',
  description: 'email address',
  source: String.raw`\b[A-Za-z0-9][A-Za-z0-9._%+-]*@${LABEL}(?:\.${LABEL})*\.[A-Za-z]{2,24}\b`,
  maxLength: 256,
  alphabet: '[A-Za-z0-9._%+@-]',
  validate(value) {
    const at = value.indexOf(0x40);
    return at <= 64 && value.length <= 254 ? value.length : 0;
  },
  canonical: (value) => Buffer.from(value.toString('latin1').toLowerCase(), 'latin1'),
});
