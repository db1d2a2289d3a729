import { defineRecognizer } from './recognizer.ts';
import { octetsValid } from './ipv4-octets.ts';

const H = '[0-9A-Fa-f]{1,4}';
const V4 = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;

/**
 * IPv6 addresses: the full form, the compressed form (`::` once), and both with an embedded
 * IPv4 tail. RE2 alternation is leftmost-first, not longest, so each alternative ends at a
 * boundary (`\b` after a group, `\B` after a bare trailing `::`) to stop `2001:db8::1` from
 * matching only `2001:db8::`, and `Add::new` (C++/Rust paths) from matching at all. Group
 * counts across `::` cannot be expressed in the pattern; the validator checks them.
 */
export const ipv6 = defineRecognizer({
  id: 'ipv6',
  description: 'IPv6 address',
  source: [
    String.raw`\b${H}(?::${H}){7}\b`,
    String.raw`\b${H}(?::${H}){5}:${V4}\b`,
    String.raw`\b${H}(?::${H}){0,6}::(?:(?:${H}:){0,5}(?:${V4}|${H})\b|\B)`,
    String.raw`\B::(?:${H}:){0,5}(?:${V4}|${H})\b`,
  ].join('|'),
  maxLength: 80,
  alphabet: '[0-9A-Fa-f:.]',
  validate(value) {
    const text = value.toString('latin1');
    const halves = text.split('::');
    if (halves.length > 2) return 0;
    let groups = 0;
    for (const half of halves) {
      if (half === '') continue;
      for (const group of half.split(':')) {
        if (group.includes('.')) {
          if (!octetsValid(Buffer.from(group, 'latin1'), 0, group.length)) return 0;
          groups += 2;
        } else groups++;
      }
    }
    const ok = halves.length === 2 ? groups <= 7 : groups === 8;
    return ok ? value.length : 0;
  },
  canonical: (value) => Buffer.from(value.toString('latin1').toLowerCase(), 'latin1'),
});
