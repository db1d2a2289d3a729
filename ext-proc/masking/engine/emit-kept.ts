import type { Candidate, CompiledPattern } from './compiled-pattern.ts';

/**
 * Appends raw bytes up to each kept match and the match's replacement to `pieces`. `text`
 * starts at absolute offset `base`; `emitted` is the absolute offset already written out.
 * Returns the new `emitted`.
 */
export function emitKept(
  kept: readonly Candidate[],
  patterns: readonly CompiledPattern[],
  text: Buffer,
  base: number,
  emitted: number,
  pieces: Buffer[],
): number {
  let at = emitted;
  for (const c of kept) {
    if (c.start > at) pieces.push(text.subarray(at - base, c.start - base));
    pieces.push(patterns[c.pattern]!.render(text.subarray(c.start - base, c.end - base)));
    at = c.end;
  }
  return at;
}
