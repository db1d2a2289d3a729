/**
 * The masking profile as a policy author writes it (usually YAML), and the compiled objects the
 * ext-proc service uses per body. Specs arrive as `unknown` and are checked field by field by
 * compileProfile; these types describe the shape that passes.
 */

export type RecognizerId =
  | 'card'
  | 'iban'
  | 'email'
  | 'phone'
  | 'ssn'
  | 'ipv4'
  | 'ipv6'
  | 'jwt'
  | 'private-key'
  | 'cloud-key';

/**
 * How a match is replaced. Strings are shorthands: `redact`, `hash`, `keep-last-4`.
 * - redact: a fixed marker, `[REDACTED:<name>]` unless `marker` is given.
 * - keep-last: letters and digits become `*` except the last `n`; separators stay, so
 *   `4111 1111 1111 1234` becomes `**** **** **** 1234`.
 * - hash: `[H:<hex>]`, an HMAC-SHA256 of the value under the deployment key, truncated to
 *   `length` hex digits (default 8), identical across streams so auditors can correlate.
 */
export type StrategySpec =
  | 'redact'
  | 'hash'
  | `keep-last-${number}`
  | { type: 'redact'; marker?: string }
  | { type: 'keep-last'; n: number }
  | { type: 'hash'; length?: number };

export interface RecognizerEntrySpec {
  use: RecognizerId;
  strategy: StrategySpec;
  /** Longest match in bytes; defaults to the recognizer's own (see README). */
  maxLength?: number;
}

export interface PatternEntrySpec {
  /** `[a-z0-9][a-z0-9._-]*`, unique within the profile; appears in the redaction marker. */
  name: string;
  /** RE2 syntax. Matched against raw body bytes as UTF-8. */
  pattern: string;
  strategy: StrategySpec;
  /** Longest match in bytes; defaults to the profile's maxMatchBytes. */
  maxLength?: number;
}

/**
 * A database result column masked whole, whatever its value looks like (PostgreSQL results and
 * COPY OUT; HTTP bodies have no columns and ignore these rules).
 */
export interface ColumnRuleSpec {
  /** Glob over the column name, case-insensitive: `*` any run of characters, `?` one. */
  name: string;
  strategy: StrategySpec;
}

export interface MaskingProfileSpec {
  name: string;
  recognizers?: RecognizerEntrySpec[];
  patterns?: PatternEntrySpec[];
  /** Result columns masked whole; the first rule whose glob matches a column applies. */
  columns?: ColumnRuleSpec[];
  /** Default maxLength of custom patterns, in bytes (default 4096). */
  maxMatchBytes?: number;
  /** What to do with bodies the masker cannot read (images, octet-stream, UTF-16 text). */
  binary?: 'pass' | 'refuse';
  /** Mask request bodies on their way upstream too (default false: responses only). */
  requestBodies?: boolean;
}

export interface CompileOptions {
  /** Per-deployment HMAC key for the `hash` strategy, at least 16 bytes. Never part of a policy file. */
  hashKey?: Uint8Array;
}

/**
 * How many values each entry masked, by recognizer id or custom pattern name; entries that masked
 * nothing are absent. Counts only, never the values: this is what an audit record may carry. A
 * match cut short by an overlapping one counts for both entries, since each masked something.
 */
export type MaskingReport = Readonly<Record<string, number>>;

/** Counters for one stream: for metrics, and for tests that check bounds and the prefilter. */
export interface MaskerStats {
  bytesIn: number;
  bytesOut: number;
  /** Input bytes held back right now (not yet emitted or needed as context). */
  bufferedBytes: number;
  peakBufferedBytes: number;
  /** Matches replaced so far. */
  matches: number;
  /** RE2.Set calls made by the prefilter. */
  prefilterCalls: number;
  /** Full-pattern exec calls, by recognizer or pattern name. */
  execCalls: Record<string, number>;
  /** Values masked so far (emitted, or final and about to be), per entry. */
  masked: MaskingReport;
}

/** Masks one body. Not reusable: open a new one per stream. */
export interface StreamMasker {
  /** Takes the next body chunk; returns the bytes that are final and safe to forward now. */
  push(chunk: Buffer): Buffer;
  /** Ends the body; returns everything still held back, masked. */
  end(): Buffer;
  stats(): MaskerStats;
}

export interface MaskingEntryInfo {
  readonly name: string;
  readonly kind: 'recognizer' | 'pattern';
  readonly strategy: string;
  readonly maxLength: number;
}

/** How one body is read. */
export interface OpenOptions {
  /**
   * The body is JSON: match string contents as a JSON reader decodes them (`\u0040` is `@`),
   * keep escapes as they are outside what is masked, write replacements as valid JSON text.
   */
  json?: boolean;
}

/** A compiled column rule. */
export interface ColumnRule {
  /** The glob as written. */
  readonly glob: string;
  /** `column:<glob>`: the key this rule's masked values are counted under. */
  readonly name: string;
  readonly strategy: string;
  /** Whether a column of this name is masked by the rule (case-insensitive). */
  matches(columnName: string): boolean;
  /** The replacement for one whole value of a matching column. */
  render(value: Buffer): Buffer;
}

/** One whole value, masked by the profile's recognizers and patterns (not its column rules). */
export interface ValueMaskResult {
  /** The input itself when nothing changed. */
  readonly out: Buffer;
  /** Values masked, per recognizer or pattern name (as MaskingReport). */
  readonly matches: MaskingReport;
  readonly changed: boolean;
}

/** A compiled, immutable profile. Cheap to `open()` per stream. */
export interface MaskingProfile {
  readonly name: string;
  /** The longest match any entry may produce: the bound on what a stream holds back. */
  readonly windowBytes: number;
  readonly binary: 'pass' | 'refuse';
  readonly requestBodies: boolean;
  readonly entries: readonly MaskingEntryInfo[];
  /** Column rules in the order written; empty when the profile has none. */
  readonly columns: readonly ColumnRule[];
  open(options?: OpenOptions): StreamMasker;
  /** The one-shot result for a whole body: the reference the streaming masker must equal. */
  maskWhole(input: Buffer, options?: OpenOptions): Buffer;
  /** maskWhole with its masking report, the reference for a stream's `stats().masked`. */
  maskWholeReport(input: Buffer, options?: OpenOptions): { body: Buffer; masked: MaskingReport };
  /**
   * Masks one whole, bounded value (a result column, a parameter) with the recognizers and
   * patterns: the same bytes as maskWhole, with the stream's prefilter in front, so a value
   * without matches costs one RE2.Set call and comes back as the same Buffer.
   */
  maskValue(value: Buffer, options?: OpenOptions): ValueMaskResult;
}
