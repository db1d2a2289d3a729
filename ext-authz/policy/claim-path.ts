import type { ClaimPath } from './compiled.ts';

/** Splits a dotted claim path once, at load time. */
export function compileClaimPath(text: string): ClaimPath {
  const segments = text.split('.');
  const candidates = segments.map((_, start) => {
    const keys: string[] = [];
    for (let end = segments.length; end > start; end--) keys.push(segments.slice(start, end).join('.'));
    return Object.freeze(keys);
  });
  return Object.freeze({ text, segments: Object.freeze(segments), candidates: Object.freeze(candidates) });
}

/**
 * Reads a claim by dotted path. Claim names may themselves contain dots — Kubernetes service
 * account tokens carry `{"kubernetes.io": {"namespace": ...}}` — so at each level the longest
 * key that exists wins, falling back to shorter ones: `kubernetes.io.namespace` finds that
 * token's namespace as well as a flat `kubernetes.io.namespace` claim. Only own properties of
 * plain objects are followed, so `__proto__` or `constructor` never resolve to anything.
 * Returns undefined when absent; JSON null counts as absent.
 */
export function resolveClaim(claims: object, path: ClaimPath): unknown {
  if (path.segments.length === 1) {
    const value = Object.hasOwn(claims, path.text) ? (claims as Record<string, unknown>)[path.text] : undefined;
    return value === null ? undefined : value;
  }
  return resolveFrom(claims, path, 0);
}

function resolveFrom(node: unknown, path: ClaimPath, start: number): unknown {
  if (start === path.segments.length) return node === null ? undefined : node;
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
  const keys = path.candidates[start]!;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    if (!Object.hasOwn(node, key)) continue;
    const found = resolveFrom((node as Record<string, unknown>)[key], path, path.segments.length - k);
    if (found !== undefined) return found;
  }
  return undefined;
}
