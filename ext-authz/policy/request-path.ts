/**
 * `.`/`..` segments, their percent-encoded forms, and empty segments (`//`). An upstream may
 * resolve `/public/../admin` to `/admin` after Sluice matched the literal text, which would let a
 * request slip past a deny rule written for `/admin/**`; such paths are refused outright.
 */
const NOT_NORMALIZED = /\/\/|(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/**
 * The path policies match against: the query string (if the caller left one) is dropped; the
 * rest is used as sent, not decoded. Returns null for a path that is not normalized. Envoy's
 * `normalize_path` and `merge_slashes`, then the authorizer's shape phase
 * (protocols/http/path-safety.ts, which refuses every ambiguous path before policy runs), make
 * that unreachable in the gateway; this stays as the backstop for direct callers (`policy explain`).
 */
export function requestPath(raw: string): string | null {
  const query = raw.indexOf('?');
  const path = query === -1 ? raw : raw.slice(0, query);
  return NOT_NORMALIZED.test(path) ? null : path;
}
