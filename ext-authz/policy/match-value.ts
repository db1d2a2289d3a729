import type { ClaimScalar } from './raw.ts';

/*
 * Value tests shared by subject `claims:` and `when:` conditions. A list-valued claim (say
 * `roles: [a, b]`) passes when any element passes, the same way `groups:` works.
 */

export function valueIn(value: unknown, allowed: ReadonlySet<ClaimScalar>): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (allowed.has(value[i] as ClaimScalar)) return true;
    return false;
  }
  return allowed.has(value as ClaimScalar);
}

export function valueMatches(value: unknown, pattern: RegExp): boolean {
  if (typeof value === 'string') return pattern.test(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      if (typeof element === 'string' && pattern.test(element)) return true;
    }
  }
  return false;
}
