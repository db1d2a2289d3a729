import { defineRecognizer } from './recognizer.ts';
import { octetsValid } from './ipv4-octets.ts';

/** Dotted-quad IPv4 addresses; every octet must be at most 255. */
export const ipv4 = defineRecognizer({
  id: 'ipv4',
  description: 'IPv4 address',
  source: String.raw`\b(?:\d{1,3}\.){3}\d{1,3}\b`,
  maxLength: 15,
  alphabet: '[0-9.]',
  validate: (value) => (octetsValid(value, 0, value.length) ? value.length : 0),
});
