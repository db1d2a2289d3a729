import { SluiceError } from '../../../common/errors.ts';
import type { MaskerStats, StreamMasker } from '../types.ts';
import type { Candidate } from './compiled-pattern.ts';
import { emitKept, emitText } from './emit-kept.ts';
import type { RawWriter } from './json-unescape.ts';
import type { EnginePlan } from './engine-plan.ts';
import { searchLiteral } from './search-literal.ts';
import { searchZone } from './search-zone.ts';
import { selectMatches } from './select-matches.ts';
import { charStartAtOrBefore } from './utf8.ts';
import { lastBreaker } from './breakers.ts';
import { maskingReport } from './masking-report.ts';

const EMPTY = Buffer.alloc(0);

/**
 * Masks one body as it streams. The state is a window of unemitted input plus, per pattern, the
 * offset where its next search starts (`next`). Each push:
 *
 * 1. Every pattern finds its matches whose outcome is already certain: a match starting at s is
 *    certain once s + maxLength + 1 bytes have arrived (no match is longer than maxLength, and
 *    RE2 looks at most one byte past a match for `\b`/`$`). `next` then moves past everything
 *    certain, so it is the earliest place this pattern could still start a match.
 * 2. The smallest `next` is the frontier. Matches starting before it are final: overlaps are
 *    resolved, replacements written, and raw bytes emitted up to the frontier (moved back to a
 *    UTF-8 character start so no chunk ends inside a character).
 * 3. Only bytes from the frontier on are kept (plus one byte of context for `\b`), so the window
 *    never exceeds the longest maxLength plus a 3-byte UTF-8 tail, whatever the body size.
 *
 * The result equals maskWhole(body) for every chunking, as long as no match is longer than its
 * pattern's maxLength; the tests check every two-chunk split.
 */
export class StreamingMasker implements StreamMasker {
  private window: Buffer = EMPTY;
  /** Absolute offset of window[0]. */
  private base = 0;
  /** Absolute offset up to which output has been produced. */
  private emitted = 0;
  /** Where the last kept match ended, for overlap resolution across pushes. */
  private keptEnd = 0;
  private readonly next: number[];
  /** Certain matches not yet behind the frontier (another pattern may still overlap them). */
  private pending: Candidate[] = [];
  private ended = false;
  private readonly counters = { bytesIn: 0, bytesOut: 0, peakBufferedBytes: 0, matches: 0, prefilterCalls: 0 };
  private readonly execCalls: number[];
  /** Per pattern, values masked so far (kept matches behind the frontier). */
  private readonly masked: number[];
  /** Per pattern, settledEnd for the current round (computed once per push). */
  private readonly settled: number[];

  /**
   * `raw`: for a JSON body the window holds decoded text (json-stream-masker.ts), and output is
   * written through this writer so unmasked escapes come out as they came in.
   */
  constructor(
    private readonly plan: EnginePlan,
    private readonly raw: RawWriter | null = null,
  ) {
    this.next = plan.patterns.map(() => 0);
    this.execCalls = plan.patterns.map(() => 0);
    this.masked = plan.patterns.map(() => 0);
    this.settled = plan.patterns.map(() => 0);
  }

  push(chunk: Buffer): Buffer {
    if (this.ended) throw new SluiceError('ERR_INTERNAL', 'masker: push after end');
    if (chunk.length === 0) return EMPTY;
    this.counters.bytesIn += chunk.length;
    this.window = this.window.length === 0 ? chunk : Buffer.concat([this.window, chunk]);
    return this.round(false);
  }

  end(): Buffer {
    if (this.ended) return EMPTY;
    this.ended = true;
    return this.round(true);
  }

  /** Input bytes held back right now (stats().bufferedBytes without building the rest). */
  get bufferedBytes(): number {
    return this.window.length;
  }

  stats(): MaskerStats {
    const execCalls: Record<string, number> = {};
    this.plan.patterns.forEach((p, i) => (execCalls[p.name] = this.execCalls[i]!));
    return { ...this.counters, bufferedBytes: this.window.length, execCalls, masked: maskingReport(this.plan.patterns, this.masked) };
  }

  private round(final: boolean): Buffer {
    const { patterns } = this.plan;
    const text = this.window;
    const base = this.base;
    const windowEnd = base + text.length;
    for (let i = 0; i < patterns.length; i++) this.settled[i] = this.settledEnd(i, text, base, final);
    this.scanBlocks(text, base, final);
    this.scanLong(text, base);

    let frontier = windowEnd;
    if (!final) for (const n of this.next) frontier = Math.min(frontier, n);

    const ready: Candidate[] = [];
    const later: Candidate[] = [];
    for (const c of this.pending) (c.start < frontier ? ready : later).push(c);
    this.pending = later;
    const { kept, keptEnd } = selectMatches(ready, this.keptEnd);
    this.keptEnd = keptEnd;
    this.counters.matches += kept.length;
    if (this.plan.countMasked) for (const c of kept) this.masked[c.pattern]!++;

    const pieces: Buffer[] = [];
    let emitted = emitKept(kept, patterns, text, base, this.emitted, pieces, this.raw);
    const cut = final ? windowEnd : charStartAtOrBefore(text, frontier - base, emitted - base) + base;
    if (cut > emitted) {
      emitText(text, base, emitted, cut, pieces, this.raw);
      emitted = cut;
    }
    this.emitted = emitted;

    // Keep one byte before the frontier: the next search needs it as context for `\b`.
    const keepFrom = final ? windowEnd : Math.max(base, Math.min(frontier - 1, emitted));
    // Copy what is kept: a subarray would pin the whole pushed chunk (or the caller's buffer).
    this.window = keepFrom === windowEnd ? EMPTY : Buffer.from(text.subarray(keepFrom - base));
    this.base = keepFrom;
    this.counters.peakBufferedBytes = Math.max(this.counters.peakBufferedBytes, this.window.length);

    const out = pieces.length === 0 ? EMPTY : Buffer.concat(pieces);
    this.counters.bytesOut += out.length;
    return out;
  }

  /**
   * Short and literal patterns: RE2.Set over overlapping blocks, then exec loops (or prefix
   * lookups) only in the blocks where the set saw the pattern (or its prefix).
   */
  private scanBlocks(text: Buffer, base: number, final: boolean): void {
    const { patterns, short, literal, blockSet, blockBytes, overlapBytes } = this.plan;
    const windowEnd = base + text.length;
    if (blockSet === null) {
      for (const i of literal) this.literal(i, text, base, final, null);
      for (const i of short) this.scanWhole(i, text, base);
      return;
    }
    // Literal patterns always take part: every push may bring a new prefix.
    let origin = Infinity;
    for (const i of short) if (this.next[i]! < this.settled[i]!) origin = Math.min(origin, this.next[i]!);
    for (const i of literal) origin = Math.min(origin, this.next[i]!);
    if (origin === Infinity) return;

    // Blocks start one byte before the earliest search so that byte is context inside block 0.
    // Every match of length <= overlap - 2, with its context bytes, lies wholly inside some
    // block: the set sees it there, and that block's exec zone contains its start.
    origin = Math.max(base, origin - 1);
    const stride = blockBytes - overlapBytes;
    const flagged: number[][] = [];
    for (let j = 0; j < short.length + literal.length; j++) flagged.push([]);
    for (let a = origin, k = 0; ; a += stride, k++) {
      const b = Math.min(a + blockBytes, windowEnd);
      this.counters.prefilterCalls++;
      for (const j of blockSet.match(text, a - base, b - base)) flagged[j]!.push(k);
      if (b === windowEnd) break;
    }
    short.forEach((i, j) => {
      const p = patterns[i]!;
      const settledEnd = this.settled[i]!;
      let pos = this.next[i]!;
      if (pos >= settledEnd) return;
      for (const k of flagged[j]!) {
        const a = origin + k * stride;
        const b = Math.min(a + blockBytes, windowEnd);
        // Inside a block that ends before the window does, a start is exact only if the block
        // holds the longest possible match from it plus one byte of look-ahead.
        const zoneEnd = b === windowEnd ? settledEnd : Math.min(settledEnd, b - p.maxLength - 1);
        if (zoneEnd <= pos) continue;
        pos = searchZone(p, i, text, base, Math.max(pos, a), zoneEnd, b, this.pending, this.execCalls);
      }
      this.next[i] = Math.max(pos, settledEnd);
    });
    literal.forEach((i, j) => {
      const ranges: number[] = [];
      for (const k of flagged[short.length + j]!) ranges.push(origin + k * stride, Math.min(origin + k * stride + blockBytes, windowEnd));
      this.literal(i, text, base, final, ranges);
    });
  }

  private literal(i: number, text: Buffer, base: number, final: boolean, ranges: number[] | null): void {
    const p = this.plan.patterns[i]!;
    const settledEnd = this.settled[i]!;
    this.next[i] = searchLiteral(p, i, text, base, this.next[i]!, settledEnd, final, ranges, this.pending, this.execCalls);
  }

  /** Long patterns: one RE2.Set call over the window decides which run at all. */
  private scanLong(text: Buffer, base: number): void {
    const { long, longSet } = this.plan;
    let origin = Infinity;
    for (const i of long) {
      if (this.next[i]! < this.settled[i]!) origin = Math.min(origin, this.next[i]!);
    }
    if (origin === Infinity) return;
    let hits: number[] | null = null;
    if (longSet !== null) {
      this.counters.prefilterCalls++;
      hits = longSet.match(text, Math.max(base, origin - 1) - base, text.length);
    }
    long.forEach((i, j) => {
      if (hits === null || hits.includes(j)) this.scanWhole(i, text, base);
      else this.next[i] = Math.max(this.next[i]!, this.settled[i]!);
    });
  }

  /**
   * Where pattern i's certain region ends: match starts before it can no longer change. At the
   * end of the body, everything; otherwise maxLength (+1 look-ahead) before the window end, or
   * just past the last breaker byte when that is later (a match cannot reach across it).
   */
  private settledEnd(i: number, text: Buffer, base: number, final: boolean): number {
    const windowEnd = base + text.length;
    if (final) return windowEnd;
    const p = this.plan.patterns[i]!;
    const byLength = windowEnd - p.maxLength;
    if (p.breakers === null) return byLength;
    const at = lastBreaker(text, p.breakers, Math.max(0, byLength - base), text.length);
    return at === -1 ? byLength : Math.max(byLength, base + at + 1);
  }

  private scanWhole(i: number, text: Buffer, base: number): void {
    const p = this.plan.patterns[i]!;
    const windowEnd = base + text.length;
    const settledEnd = this.settled[i]!;
    if (this.next[i]! >= settledEnd) return;
    const pos = searchZone(p, i, text, base, this.next[i]!, settledEnd, windowEnd, this.pending, this.execCalls);
    this.next[i] = Math.max(pos, settledEnd);
  }
}
