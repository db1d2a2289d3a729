import picomatch from 'picomatch';

/**
 * Compiles a rule's path globs into one anchored RegExp, once at load time. `*` matches one path
 * segment and `**` any number of them (`/api/**` also matches `/api` itself); braces and
 * character classes work as in picomatch. Dot segments (`.`, `..`) never match, and segments
 * starting with a dot (`/.well-known`) do. Paths are compared as sent: no percent-decoding, case
 * sensitive. What they match is exactly the path Envoy forwards upstream: Envoy normalizes it
 * before ext_authz, and the authorizer refuses any still-ambiguous path first (path-safety.ts).
 */
export function compilePathGlobs(globs: readonly string[]): RegExp {
  const sources = globs.map((glob) => picomatch.makeRe(glob, { dot: true, windows: false }).source);
  return new RegExp(sources.length === 1 ? sources[0]! : sources.map((s) => `(?:${s})`).join('|'));
}
