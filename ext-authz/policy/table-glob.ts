import { compileValueGlob } from './value-glob.ts';

/**
 * Compiles a rule's `tables:` globs. A glob with a schema (`public.users`, `audit.*`) is matched
 * against the table as the statement names it; one without (`users`, `job_*`) matches that table
 * name in any schema, so `users` covers `users`, `public.users` and `other.users` alike. A deny
 * rule written without a schema therefore cannot be sidestepped by qualifying the name (or by a
 * search_path change); an allow rule with a schema only admits statements that name it.
 */
export function compileTableGlobs(globs: readonly string[]): RegExp {
  const sources = globs.map((glob) => {
    const inner = compileValueGlob(glob).source.slice(1, -1);
    return glob.includes('.') ? inner : `(?:[^.]*\\.)?${inner}`;
  });
  return new RegExp(`^(?:${sources.join('|')})$`, 'u');
}
