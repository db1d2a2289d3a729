import type { CompiledPattern } from './compiled-pattern.ts';
import { charStartAtOrBefore } from './utf8.ts';

/**
 * Decides what a raw regex match becomes: the end of the accepted match (relative to `text`),
 * or -1 to reject it. Shared by the streaming and the one-shot path so both apply exactly the
 * same rules.
 *
 * A match longer than the pattern's maxLength breaks the streaming contract (the engine cannot
 * have held it all back), so it is cut at maxLength and masked without validation: failing
 * closed leaks less than letting an oversized secret through.
 */
export function resolveMatch(pattern: CompiledPattern, text: Buffer, start: number, end: number): number {
  if (end === start) return -1;
  if (end - start > pattern.maxLength) return charStartAtOrBefore(text, start + pattern.maxLength, start + 1);
  if (pattern.validate === null) return end;
  const accepted = pattern.validate(text.subarray(start, end));
  return accepted > 0 ? start + Math.min(accepted, end - start) : -1;
}
