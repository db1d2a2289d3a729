import type { CompiledPattern } from './compiled-pattern.ts';
import type { MatchBackend, SetProgram } from './program.ts';

/**
 * How a profile's patterns are scanned. Three kinds, because one prefilter does not fit all:
 *
 * - literal: built-ins whose matches all begin with a known literal (`eyJ`, `-----BEGIN`).
 *   Buffer.indexOf finds the few places worth an anchored match; no scan at all otherwise, and
 *   the stream is not held back for them unless a prefix was actually seen.
 * - short (maxLength <= overlap - 2): an RE2.Set runs over overlapping blocks of the window and
 *   each pattern's exec loop visits only the blocks where the set saw it match. Sprinkled PII
 *   flags most patterns somewhere in a 64 KiB chunk, so a per-chunk yes/no would still run
 *   nearly every pattern over every byte; per block it runs them over a few KiB.
 * - long (everything else, typically custom patterns with a large maxLength): one RE2.Set call
 *   over the whole window decides whether the pattern runs at all, since a long match could
 *   straddle any block boundary.
 */
export interface EnginePlan {
  readonly patterns: readonly CompiledPattern[];
  readonly literal: readonly number[];
  readonly short: readonly number[];
  readonly long: readonly number[];
  /**
   * The block prefilter: the `short` patterns in that order, then one entry per `literal`
   * pattern that matches its prefixes (so a block without `eyJ` costs the jwt pattern nothing,
   * not even an indexOf). null when prefiltering is off.
   */
  readonly blockSet: SetProgram | null;
  /** Over `long`, in that order; null when prefiltering is off. */
  readonly longSet: SetProgram | null;
  readonly blockBytes: number;
  readonly overlapBytes: number;
  /** The longest maxLength: the most a stream ever holds back (plus a UTF-8 tail). */
  readonly windowBytes: number;
  /** Whether streams count masked values per entry (off only in the benchmark baseline). */
  readonly countMasked: boolean;
}

export interface PlanOptions {
  /** Turn the RE2.Set prefilter off (benchmark baseline). Default on. */
  prefilter?: boolean;
  blockBytes?: number;
  overlapBytes?: number;
  /**
   * Count masked values per entry (`stats().masked`). Default on; bench/masking.ts turns it off
   * to measure what counting costs. Production never does: the report is part of the audit record.
   */
  countMasked?: boolean;
}

// Measured on PII-dense JSON and on match-free text (bench/masking.ts): smaller blocks shrink
// the exec loops' share, larger ones the fixed cost per RE2.Set call; 4 KiB balances the two.
// The 512-byte overlap covers every built-in scanned this way (the longest, email, is 256).
const DEFAULT_BLOCK = 4096;
const DEFAULT_OVERLAP = 512;

export function planEngine(patterns: readonly CompiledPattern[], backend: MatchBackend, options: PlanOptions = {}): EnginePlan {
  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK;
  const overlapBytes = options.overlapBytes ?? DEFAULT_OVERLAP;
  const prefilter = options.prefilter ?? true;
  if (!(overlapBytes >= 16 && blockBytes > overlapBytes)) throw new Error('blockBytes must exceed overlapBytes (>= 16)');
  const literal: number[] = [];
  const short: number[] = [];
  const long: number[] = [];
  patterns.forEach((p, i) => {
    if (p.prefixes !== null) literal.push(i);
    else if (p.maxLength + 2 <= overlapBytes) short.push(i);
    else long.push(i);
  });
  for (const i of literal) {
    for (const prefix of patterns[i]!.prefixes!) {
      if (prefix.length + 2 > overlapBytes) throw new Error(`prefix of ${patterns[i]!.name} is longer than the block overlap`);
    }
  }
  const blockSources = [
    ...short.map((i) => patterns[i]!.source),
    ...literal.map((i) => patterns[i]!.prefixes!.map((p) => escapeLiteral(p.toString('latin1'))).join('|')),
  ];
  return Object.freeze({
    patterns,
    literal,
    short,
    long,
    blockSet: prefilter && blockSources.length > 0 ? backend.set(blockSources) : null,
    longSet: prefilter && long.length > 0 ? backend.set(long.map((i) => patterns[i]!.source)) : null,
    blockBytes,
    overlapBytes,
    windowBytes: patterns.reduce((max, p) => Math.max(max, p.maxLength), 0),
    countMasked: options.countMasked ?? true,
  });
}

/** Built-in prefixes are ASCII, so a latin1 string of them is the same bytes as the pattern. */
function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}-]/g, '\\$&');
}
