import type { Candidate, CompiledPattern } from './compiled-pattern.ts';
import { resolveMatch } from './resolve-match.ts';
import { nextCharStart } from './utf8.ts';

/**
 * searchZone's contract for a pattern with literal prefixes: candidates come from
 * Buffer.indexOf and each is checked with one anchored match (over the whole window, since the
 * match itself may be long). `ranges` (absolute [start, end) pairs, in order) limits where prefixes are looked
 * for: the blocks where the prefilter saw one; null means the whole window. `settledEnd` is the
 * first start whose outcome could still depend on bytes not received yet.
 */
export function searchLiteral(
  pattern: CompiledPattern,
  index: number,
  text: Buffer,
  base: number,
  from: number,
  settledEnd: number,
  final: boolean,
  ranges: readonly number[] | null,
  out: Candidate[],
  execCalls: number[],
): number {
  const prefixes = pattern.prefixes!;
  const windowEnd = base + text.length;
  let pos = from;
  const count = ranges === null ? 1 : ranges.length / 2;
  for (let r = 0; r < count; r++) {
    const a = ranges === null ? base : ranges[2 * r]!;
    const b = ranges === null ? windowEnd : ranges[2 * r + 1]!;
    if (b <= pos) continue;
    const view = b === windowEnd ? text : text.subarray(0, b - base);
    for (;;) {
      const start = Math.max(pos, a) - base;
      let hit = -1;
      for (const prefix of prefixes) {
        const at = view.indexOf(prefix, start);
        if (at >= 0 && (hit < 0 || at < hit)) hit = at;
      }
      if (hit < 0) break;
      if (base + hit >= settledEnd) return base + hit;
      execCalls[index]!++;
      const rawEnd = pattern.program.matchAt(text, hit);
      const end = rawEnd < 0 ? -1 : resolveMatch(pattern, text, hit, rawEnd);
      if (end < 0) {
        pos = base + nextCharStart(text, hit);
        continue;
      }
      out.push({ start: base + hit, end: base + end, pattern: index });
      pos = base + end;
    }
  }
  if (final) return windowEnd;
  // A prefix may be cut by the window end: only a tail that is the start of a prefix must stay.
  return Math.max(pos, base + cutPrefixStart(text, prefixes));
}

/** Where the earliest window tail that begins some prefix (but is shorter than it) starts; text.length if none. */
function cutPrefixStart(text: Buffer, prefixes: readonly Buffer[]): number {
  let earliest = text.length;
  for (const prefix of prefixes) {
    for (let len = Math.min(prefix.length - 1, text.length); len > 0; len--) {
      const at = text.length - len;
      if (at >= earliest) continue;
      if (text.compare(prefix, 0, len, at, text.length) === 0) {
        earliest = at;
        break;
      }
    }
  }
  return earliest;
}
