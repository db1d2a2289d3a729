import type { JWTPayload } from 'jose';

const NO_GROUPS: readonly string[] = Object.freeze([]);

/**
 * Compiles `groupsClaim` into a reader, once per issuer rather than per request.
 *
 * The name is first tried as a whole claim, because namespaced claims are URLs full of dots
 * ("https://example.com/groups"); only then is it walked as a dotted path ("realm_access.roles").
 * A string is one group; an array must hold only strings. Anything else yields no groups rather
 * than a partial list: a half-understood claim must not grant half the access.
 */
export function compileGroupsReader(claim: string): (payload: JWTPayload) => readonly string[] {
  const path = claim.split('.');
  return (payload) => toGroups(Object.hasOwn(payload, claim) ? payload[claim] : walk(payload, path));
}

function walk(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const segment of path) {
    // Own properties only: a path like "__proto__.x" or "constructor" must not reach prototypes.
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, segment)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function toGroups(value: unknown): readonly string[] {
  if (typeof value === 'string') return Object.freeze([value]);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return Object.freeze([...(value as string[])]);
  }
  return NO_GROUPS;
}
