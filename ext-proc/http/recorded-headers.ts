import type { MaskingProfile, MaskingReport } from '../masking/index.ts';
import { ALWAYS_REDACTED_HEADERS, REDACTED } from '../sessions/index.ts';

/** What a record may use of a profile: its values masker (recognizers, patterns, strategies). */
export type HeaderMasker = Pick<MaskingProfile, 'maskValue'>;

/** A message's headers as its session record keeps them, and what masking them counted. */
export interface RecordedHeaders {
  readonly headers: Record<string, string>;
  /** Values masked, per recognizer or pattern name; empty when nothing was. */
  readonly masked: MaskingReport;
}

const CREDENTIALS: ReadonlySet<string> = new Set(ALWAYS_REDACTED_HEADERS);

/**
 * Header values for the record, never for the wire: what travels is the caller's or the
 * upstream's business, what an auditor reads must not hold what the exchange's profile masks in
 * bodies. Each value goes through the profile's `maskValue` (the same recognizers and strategies,
 * with the prefilter in front, so a header without a match costs one RE2.Set call). A repeated
 * header is masked as the one comma-joined value the record shows (headerRecord), so a match is
 * masked wherever it sits in that text. Credential headers are redacted here as every store
 * redacts them, and are not masked or counted first: the record holds none of their value
 * whatever they contain. Pseudo-headers are left out (the record has method, path and status
 * as fields). Without a profile the other values are kept as they came.
 */
export function recordedHeaders(headers: Readonly<Record<string, string>>, profile: HeaderMasker | undefined): RecordedHeaders {
  const out: Record<string, string> = {};
  const masked: Record<string, number> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':')) continue;
    // defineProperty: a header named __proto__ stays a header.
    Object.defineProperty(out, name, { value: CREDENTIALS.has(name.toLowerCase()) ? REDACTED : recordedValue(value, profile, masked), enumerable: true, writable: true, configurable: true });
  }
  return { headers: out, masked };
}

/**
 * One recorded value (a header's, or the request path) masked with `profile`, its matches added to
 * `masked`. Header values are latin1 strings of the raw bytes (headerRecord), so the masker sees
 * the bytes that were sent, UTF-8 included.
 */
export function recordedValue(value: string, profile: HeaderMasker | undefined, masked: Record<string, number>): string {
  if (profile === undefined || value === '') return value;
  const result = profile.maskValue(Buffer.from(value, 'latin1'));
  if (!result.changed) return value;
  for (const [entry, count] of Object.entries(result.matches)) masked[entry] = (masked[entry] ?? 0) + count;
  return result.out.toString('latin1');
}
