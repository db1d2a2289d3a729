import type { RecognizerId } from '../types.ts';
import { pinRe2Program } from '../engine/re2-backend.ts';

/** A built-in detector: an RE2 pattern plus the checks a regex cannot express. */
export interface Recognizer {
  readonly id: RecognizerId;
  readonly description: string;
  /** RE2 syntax; compiled once when the module loads. */
  readonly source: string;
  /** The longest match the pattern can produce in practice, in bytes. */
  readonly maxLength: number;
  /**
   * Every byte a match can contain, as a character class over ASCII (engine/breakers.ts): any
   * other byte ends a match, so a stream settles there without waiting for maxLength more bytes.
   * Omitted when a match can contain any byte.
   */
  readonly alphabet?: string;
  /** Literals every match starts with (enables the indexOf path), if any. */
  readonly prefixes?: readonly string[];
  /** Accepted length of a raw match (a prefix of it), or 0 to reject: checksums, ranges. */
  readonly validate?: (value: Buffer) => number;
  /** The form that is hashed, so `4111-1111-...` and `4111 1111 ...` hash alike. */
  readonly canonical?: (value: Buffer) => Buffer;
}

/** Freezes a recognizer and compiles its pattern now, so a bad built-in fails at import. */
export function defineRecognizer(recognizer: Recognizer): Recognizer {
  pinRe2Program(recognizer.source);
  return Object.freeze(recognizer);
}
