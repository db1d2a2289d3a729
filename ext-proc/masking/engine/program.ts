/**
 * What the engine needs from a regex implementation. Production uses RE2 (re2-backend.ts); the
 * benchmark plugs in JavaScript RegExp to compare. Offsets are byte offsets into `text`.
 */

export interface MatchSpan {
  start: number;
  end: number;
}

export interface PatternProgram {
  /**
   * The leftmost match starting at or after `from`, searching `text[0, end)`. Bytes before
   * `from` are context (for `\b`, `^`), exactly as in a search over the whole text.
   */
  find(text: Buffer, from: number, end: number): MatchSpan | null;
  /** The end of the match anchored at `at`, or -1. */
  matchAt(text: Buffer, at: number): number;
}

/** Which patterns have at least one match inside `text[from, to)`, as indexes into the set. */
export interface SetProgram {
  match(text: Buffer, from: number, to: number): number[];
}

export interface MatchBackend {
  readonly name: string;
  /** Throws (SyntaxError) on a pattern the backend cannot compile. */
  program(source: string): PatternProgram;
  /** null when the backend has no multi-pattern prefilter. */
  set(sources: readonly string[]): SetProgram | null;
}
