import type { Candidate, CompiledPattern } from './compiled-pattern.ts';
import { emitKept, emitText } from './emit-kept.ts';
import { JsonUnescaper, RawWriter } from './json-unescape.ts';
import { resolveMatch } from './resolve-match.ts';
import { selectMatches } from './select-matches.ts';
import { nextCharStart } from './utf8.ts';
import { maskingReport } from './masking-report.ts';
import type { MaskingReport } from '../types.ts';

/**
 * The one-shot definition of masking, deliberately plain: every pattern runs its exec loop over
 * the whole input (no prefilter, no literal shortcut, no window), then overlaps are resolved and
 * matches replaced. The streaming masker must produce exactly this, and count exactly these
 * masked values, for any chunking. With `json`, matching runs on the body as a JSON reader
 * decodes its strings, and output keeps the raw escapes outside replacements (json-unescape.ts).
 */
export function maskWhole(patterns: readonly CompiledPattern[], body: Buffer, json = false): { body: Buffer; masked: MaskingReport } {
  let input = body;
  let raw: RawWriter | null = null;
  if (json) {
    const unescaper = new JsonUnescaper();
    input = Buffer.concat([unescaper.push(body), unescaper.end()]);
    raw = new RawWriter(unescaper.segments);
  }
  const candidates: Candidate[] = [];
  patterns.forEach((_, index) => findAll(patterns, index, input, candidates));
  const { body: out, masked } = replaceCandidates(patterns, input, candidates, raw);
  return { body: out, masked };
}

/** Pattern `index`'s exec loop over all of `input`: every accepted match, appended to `out`. */
export function findAll(patterns: readonly CompiledPattern[], index: number, input: Buffer, out: Candidate[]): void {
  const pattern = patterns[index]!;
  let pos = 0;
  while (pos < input.length) {
    const m = pattern.program.find(input, pos, input.length);
    if (m === null) break;
    const end = resolveMatch(pattern, input, m.start, m.end);
    if (end < 0) {
      pos = nextCharStart(input, m.start);
      continue;
    }
    out.push({ start: m.start, end, pattern: index });
    pos = end;
  }
}

/**
 * Resolves overlaps among all candidates of one whole input and writes it out with the kept
 * ones replaced. `kept` is how many replacements were made. Sorts `candidates` in place.
 */
export function replaceCandidates(
  patterns: readonly CompiledPattern[],
  input: Buffer,
  candidates: Candidate[],
  raw: RawWriter | null,
): { body: Buffer; masked: MaskingReport; kept: number } {
  const { kept } = selectMatches(candidates, 0);
  const counts = patterns.map(() => 0);
  for (const c of kept) counts[c.pattern]!++;
  const pieces: Buffer[] = [];
  const emitted = emitKept(kept, patterns, input, 0, 0, pieces, raw);
  if (emitted < input.length) emitText(input, 0, emitted, input.length, pieces, raw);
  return { body: Buffer.concat(pieces), masked: maskingReport(patterns, counts), kept: kept.length };
}
