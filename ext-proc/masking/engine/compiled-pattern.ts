import type { PatternProgram } from './program.ts';

/** One recognizer or custom pattern, ready to run. Built once per profile, shared by streams. */
export interface CompiledPattern {
  /** Recognizer id or custom pattern name. */
  readonly name: string;
  readonly source: string;
  /** The longest match this pattern may produce, in bytes (>= 8). Longer ones are cut here. */
  readonly maxLength: number;
  /**
   * Literal byte strings every match starts with, or null. When set, the engine finds
   * candidates with Buffer.indexOf and checks each with an anchored match, instead of a scan.
   */
  readonly prefixes: readonly Buffer[] | null;
  /** 1 for each byte that can never be inside a match (engine/breakers.ts), or null. */
  readonly breakers: Uint8Array | null;
  readonly program: PatternProgram;
  /** Accepted length of a raw match (a prefix of it, for trimming), or 0 to reject it. */
  readonly validate: ((value: Buffer) => number) | null;
  /** The replacement bytes for an accepted match. */
  readonly render: (value: Buffer) => Buffer;
}

/** A match accepted for one pattern; absolute stream offsets. */
export interface Candidate {
  start: number;
  end: number;
  pattern: number;
}
