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
