import type { Candidate, CompiledPattern } from './compiled-pattern.ts';
import type { RawWriter } from './json-unescape.ts';

/**
 * Appends raw bytes up to each kept match and the match's replacement to `pieces`. `text`
 * starts at absolute offset `base`; `emitted` is the absolute offset already written out.
 * Returns the new `emitted`. With a `raw` writer (JSON bodies, json-unescape.ts) `text` is the
 * decoded stream and the writer puts the raw escapes back around the replacements.
 */
export function emitKept(
  kept: readonly Candidate[],
  patterns: readonly CompiledPattern[],
  text: Buffer,
  base: number,
  emitted: number,
  pieces: Buffer[],
  raw: RawWriter | null = null,
): number {
  let at = emitted;
  for (const c of kept) {
    const rendered = patterns[c.pattern]!.render(text.subarray(c.start - base, c.end - base));
    if (raw !== null) raw.replace(text, base, c.start, c.end, rendered, pieces);
    else {
      if (c.start > at) pieces.push(text.subarray(at - base, c.start - base));
      pieces.push(rendered);
    }
    at = c.end;
  }
  return at;
}

/** Appends the unmasked text from `emitted` up to `to` (absolute offsets). */
export function emitText(text: Buffer, base: number, emitted: number, to: number, pieces: Buffer[], raw: RawWriter | null): void {
  if (raw !== null) raw.copy(text, base, to, pieces);
  else pieces.push(text.subarray(emitted - base, to - base));
}
