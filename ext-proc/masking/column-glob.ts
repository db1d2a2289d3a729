/**
 * Column-name globs for `columns:` rules: `*` is any run of characters (also none), `?` exactly
 * one, everything else itself; case-insensitive. `[`, `]`, `{`, `}` and `\` are refused rather
 * than read literally, so classes or escapes can be added later without changing what an
 * existing rule matches.
 */
export const MAX_GLOB_CHARS = 128;
const RESERVED = /[[\]{}\\]/;
const CONTROL = /[\x00-\x1f\x7f]/;

/** Why `glob` is not a valid column glob, or null. */
export function globProblem(glob: unknown): string | null {
  if (typeof glob !== 'string' || glob === '') return 'must be a non-empty string';
  if (glob.length > MAX_GLOB_CHARS) return `at most ${MAX_GLOB_CHARS} characters`;
  if (CONTROL.test(glob)) return 'must not contain control characters';
  if (RESERVED.test(glob)) return 'only * and ? are wildcards; [ ] { } and \\ are reserved';
  return null;
}

/**
 * A matcher for a valid glob. Two-pointer wildcard matching (backtracking only to the last `*`),
 * so a glob of many stars costs O(name × glob) at worst, never exponential; names are compared
 * by code point after lower-casing.
 */
export function globMatcher(glob: string): (name: string) => boolean {
  const pattern = [...glob.toLowerCase()];
  if (pattern.every((c) => c === '*')) return () => true;
  return (name: string) => matchGlob(pattern, [...name.toLowerCase()]);
}

function matchGlob(p: readonly string[], s: readonly string[]): boolean {
  let i = 0;
  let j = 0;
  let star = -1;
  let resume = 0;
  while (j < s.length) {
    if (i < p.length && (p[i] === '?' || (p[i] !== '*' && p[i] === s[j]))) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      resume = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++resume;
    } else return false;
  }
  while (i < p.length && p[i] === '*') i++;
  return i === p.length;
}
