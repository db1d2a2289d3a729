import { globMatcher, globProblem } from './column-glob.ts';
import { parseStrategy } from './parse-strategy.ts';
import type { ProfileIssue } from './profile-error.ts';
import type { ColumnRule } from './types.ts';

// Like recognizers and patterns: a profile is a policy, not a schema dump.
const MAX_RULES = 256;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates and compiles a profile's `columns:` list. Problems are appended to `issues` under
 * `columns[i].<field>`; rules with problems are left out (the caller throws if there are any).
 * A rule's values are counted, and by default marked, as `column:<glob>`.
 */
export function compileColumns(raw: unknown, hashKey: Uint8Array | undefined, issues: ProfileIssue[]): ColumnRule[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.push({ field: 'columns', message: 'must be a list' });
    return [];
  }
  if (raw.length > MAX_RULES) {
    issues.push({ field: 'columns', message: `at most ${MAX_RULES} entries` });
    return [];
  }
  const rules: ColumnRule[] = [];
  const seen = new Set<string>();
  raw.forEach((entry, i) => {
    const field = `columns[${i}]`;
    if (!isRecord(entry)) return issues.push({ field, message: 'must be an object' });
    for (const key of Object.keys(entry)) {
      if (key !== 'name' && key !== 'strategy') issues.push({ field: `${field}.${key}`, message: 'unknown field' });
    }
    const problem = globProblem(entry.name);
    if (problem !== null) return issues.push({ field: `${field}.name`, message: `not a valid column glob: ${problem}` });
    const glob = entry.name as string;
    const key = glob.toLowerCase();
    if (seen.has(key)) return issues.push({ field: `${field}.name`, message: `"${glob}" is listed twice` });
    seen.add(key);
    const name = `column:${glob}`;
    const strategy = parseStrategy(entry.strategy, `${field}.strategy`, name, hashKey, issues);
    if (strategy === null) return;
    const matches = globMatcher(glob);
    // The whole value is the canonical form: there is no recognizer to normalise it.
    rules.push(Object.freeze({ glob, name, strategy: strategy.label, matches, render: (v: Buffer) => strategy.render(v, v) }));
  });
  return rules;
}
