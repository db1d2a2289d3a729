import type { MaskingReport } from '../types.ts';
import type { CompiledPattern } from './compiled-pattern.ts';

/**
 * Per-pattern counts (indexed like `patterns`) as a report keyed by entry name, leaving out
 * entries that masked nothing so a record lists only what actually passed. One definition for
 * the streaming masker and maskWhole, so their reports compare with deepEqual.
 */
export function maskingReport(patterns: readonly CompiledPattern[], counts: readonly number[]): MaskingReport {
  const report: Record<string, number> = {};
  patterns.forEach((p, i) => {
    if (counts[i]! > 0) report[p.name] = counts[i]!;
  });
  return Object.freeze(report);
}
