import type { Candidate, CompiledPattern } from './compiled-pattern.ts';
import { resolveMatch } from './resolve-match.ts';
import { nextCharStart } from './utf8.ts';

/**
 * Finds the matches of one pattern that start in [from, zoneEnd), searching the window `text`
 * (which starts at absolute offset `base`) only up to `viewEnd`. The caller guarantees that the
 * zone is "exact": every start in it is far enough from `viewEnd` that no byte past the view
 * can change what matches there. Returns where this pattern's next search starts.
 */
export function searchZone(
  pattern: CompiledPattern,
  index: number,
  text: Buffer,
  base: number,
  from: number,
  zoneEnd: number,
  viewEnd: number,
  out: Candidate[],
  execCalls: number[],
): number {
  const windowEnd = base + text.length;
  let pos = from;
  while (pos < zoneEnd) {
    execCalls[index]!++;
    let m = pattern.program.find(text, pos - base, viewEnd - base);
    if (m === null || base + m.start >= zoneEnd) return zoneEnd;
    if (m.end - m.start > pattern.maxLength && base + m.end === viewEnd && viewEnd < windowEnd) {
      // Too long and touching the cut: possibly an artifact of the shortened view (`\b` or `$`
      // at its end). Ask again over the whole window before treating it as over-long.
      execCalls[index]!++;
      m = pattern.program.find(text, pos - base, text.length);
      if (m === null || base + m.start >= zoneEnd) return zoneEnd;
    }
    const end = resolveMatch(pattern, text, m.start, m.end);
    if (end < 0) {
      pos = base + nextCharStart(text, m.start);
      continue;
    }
    out.push({ start: base + m.start, end: base + end, pattern: index });
    pos = base + end;
  }
  return pos;
}
