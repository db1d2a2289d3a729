import RE2 from 're2';
import type { RawGuardrail } from './raw.ts';
import type { ContentCheck } from './types.ts';

/** A compiled content guardrail: one RE2 program, run on raw bytes where it is told to look. */
export interface CompiledGuardrail {
  readonly name: string;
  readonly targets: readonly string[];
  readonly inPath: boolean;
  readonly inQuery: boolean;
  readonly inHeaders: boolean;
  readonly inBody: boolean;
  readonly pattern: RE2;
}

/**
 * Compiles a guardrail once, at load. RE2 (linear time) because the pattern runs on what callers
 * send, bodies included. Without `in`, every place is checked.
 */
export function compileGuardrail(raw: RawGuardrail, report: (pointer: string, message: string) => void): CompiledGuardrail | null {
  let pattern: RE2;
  try {
    pattern = new RE2(raw.pattern, raw.ignoreCase ? 'iu' : 'u');
  } catch (err) {
    report('/pattern', `invalid RE2 pattern: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
  const places = new Set(raw.in ?? ['path', 'query', 'headers', 'body']);
  return Object.freeze({
    name: raw.name,
    targets: Object.freeze([...new Set(raw.targets)]),
    inPath: places.has('path'),
    inQuery: places.has('query'),
    inHeaders: places.has('headers'),
    inBody: places.has('body'),
    pattern,
  });
}

/**
 * The first guardrail the content trips, or null. Path and query are checked as sent and
 * percent-decoded (`+` as a space in the query), so encoding a statement does not slip it past;
 * headers are checked as `name: value` lines.
 */
export function firstViolation(guardrails: readonly CompiledGuardrail[], content: ContentCheck): string | null {
  let decodedPath: string | undefined;
  let decodedQuery: string | undefined;
  for (const g of guardrails) {
    if (g.inPath) {
      decodedPath ??= percentDecoded(content.path, false);
      if (g.pattern.test(content.path) || g.pattern.test(decodedPath)) return g.name;
    }
    if (g.inQuery && content.query !== '') {
      decodedQuery ??= percentDecoded(content.query, true);
      if (g.pattern.test(content.query) || g.pattern.test(decodedQuery)) return g.name;
    }
    if (g.inHeaders) {
      for (const [name, value] of Object.entries(content.headers)) {
        if (g.pattern.test(`${name}: ${value}`)) return g.name;
      }
    }
    if (g.inBody && content.body !== undefined && content.body.length > 0 && g.pattern.test(content.body)) return g.name;
  }
  return null;
}

/** Percent-decodes what decodes; a malformed escape is kept as written rather than failing open. */
function percentDecoded(text: string, plusIsSpace: boolean): string {
  const input = plusIsSpace ? text.replace(/\+/g, ' ') : text;
  return input.replace(/(%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}
