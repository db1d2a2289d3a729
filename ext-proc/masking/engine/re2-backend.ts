import RE2 from 're2';
import type { MatchBackend, MatchSpan, PatternProgram, SetProgram } from './program.ts';

/**
 * RE2 on Buffers. node-re2's string API converts the whole string to UTF-8 on every exec, which
 * turns an exec loop quadratic; on a Buffer it matches in place and reports byte offsets.
 *
 * exec() is avoided on the hot path: building its result (array, copied Buffer, index, input,
 * groups) costs ~1.7 us per match, five times the matching itself. search() returns just the
 * start and an anchored test() just the end (in lastIndex), ~0.3 us each.
 */
class Re2Program implements PatternProgram {
  // Three compiled forms so no flag is toggled per call: plain for search(), `y` for anchored
  // test() from lastIndex, `g` for the exec() fallback.
  private readonly searcher: RE2;
  private readonly anchored: RE2;
  private readonly unanchored: RE2;

  constructor(source: string) {
    this.searcher = new RE2(source);
    this.anchored = new RE2(source, 'y');
    this.unanchored = new RE2(source, 'g');
  }

  find(text: Buffer, from: number, end: number): MatchSpan | null {
    if (from >= end) return from === end ? this.findExec(text, from, end) : null;
    // search() always starts at offset 0 of what it is given, so it gets the window from one
    // byte before `from`: that byte is the context `\b` needs. A match starting on that byte
    // itself would hide the one we want; then fall back to exec with lastIndex.
    const lead = from === 0 ? 0 : 1;
    const at = this.searcher.search(text.subarray(from - lead, end));
    if (at < 0) return null;
    if (at === 0 && lead === 1) return this.findExec(text, from, end);
    const start = from - lead + at;
    const view = end === text.length ? text : text.subarray(0, end);
    this.anchored.lastIndex = start;
    // Leftmost-first: the anchored match at the leftmost start is the unanchored match.
    if (!this.anchored.test(view)) return this.findExec(text, from, end);
    return { start, end: this.anchored.lastIndex };
  }

  matchAt(text: Buffer, at: number): number {
    this.anchored.lastIndex = at;
    return this.anchored.test(text) ? this.anchored.lastIndex : -1;
  }

  private findExec(text: Buffer, from: number, end: number): MatchSpan | null {
    const view = end === text.length ? text : text.subarray(0, end);
    this.unanchored.lastIndex = from;
    const m = this.unanchored.exec(view);
    if (m === null) return null;
    return { start: m.index, end: m.index + m[0].length };
  }
}

class Re2SetProgram implements SetProgram {
  private readonly set: InstanceType<typeof RE2.Set>;

  constructor(sources: readonly string[]) {
    this.set = new RE2.Set(sources, 'u');
  }

  match(text: Buffer, from: number, to: number): number[] {
    return this.set.match(from === 0 && to === text.length ? text : text.subarray(from, to));
  }
}

// Programs are stateless between calls (lastIndex is set before every exec, and JS runs one
// exec at a time), so one compiled program can serve every profile and stream. Built-in
// recognizers pin theirs when their module loads; custom patterns compile per profile, so a
// reload that drops a pattern also drops its program.
const pinned = new Map<string, Re2Program>();

/** Compiles a built-in pattern once, at module load; throws if the source is not valid RE2. */
export function pinRe2Program(source: string): void {
  if (!pinned.has(source)) pinned.set(source, new Re2Program(source));
}

export const re2Backend: MatchBackend = {
  name: 'RE2',
  program(source) {
    return pinned.get(source) ?? new Re2Program(source);
  },
  set(sources) {
    return new Re2SetProgram(sources);
  },
};
