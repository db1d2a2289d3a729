/**
 * Compiles a `matches:` pattern for claim, header and address values. Unlike path globs these
 * values are not paths, so `*` matches any run of characters, slashes included, and `?` one
 * character; everything else is literal. Example: `*@example.com`, `10.0.*`, `ci-*`.
 */
export function compileValueGlob(glob: string): RegExp {
  let source = '';
  for (const char of glob) {
    if (char === '*') source += '[\\s\\S]*';
    else if (char === '?') source += '[\\s\\S]';
    else source += char.replace(/[\\^$.|+()[\]{}/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u');
}

/** Several value globs as one anchored RegExp: a value matches when any glob does. */
export function compileValueGlobs(globs: readonly string[]): RegExp {
  if (globs.length === 1) return compileValueGlob(globs[0]!);
  return new RegExp(globs.map((glob) => `(?:${compileValueGlob(glob).source})`).join('|'), 'u');
}
