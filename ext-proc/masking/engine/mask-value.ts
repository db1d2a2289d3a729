import type { MaskingReport, ValueMaskResult } from '../types.ts';
import type { Candidate } from './compiled-pattern.ts';
import type { EnginePlan } from './engine-plan.ts';
import { findAll, maskWhole, replaceCandidates } from './mask-whole.ts';

const NOTHING: MaskingReport = Object.freeze({});
const BACKSLASH = 0x5c;

/**
 * Masks one whole, bounded value (a database column value, a statement parameter): exactly
 * maskWhole's result, so exactly what a stream of the same bytes gives, but with the stream's
 * prefilter in front. Values are short and mostly hold nothing, so the common case is one
 * RE2.Set call that says "no pattern matches anywhere" and returns the input itself.
 *
 * The set runs over the whole value rather than over blocks: an RE2.Set reports every pattern
 * with a match anywhere in what it is given, which is all the exec loops need to know, and a
 * value has no window to slide. Patterns the set does not name would find nothing, so skipping
 * them cannot change the result.
 */
export function maskValue(plan: EnginePlan, value: Buffer, json = false): ValueMaskResult {
  if (value.length === 0 || plan.patterns.length === 0) return { out: value, matches: NOTHING, changed: false };
  // Escapes change what the patterns see; the rare value with one takes the plain JSON path.
  // Without a backslash, decoded JSON is the raw bytes (json-unescape.ts).
  if (json && value.includes(BACKSLASH)) return fromWhole(value, maskWhole(plan.patterns, value, true));
  const run = candidatesOf(plan, value);
  if (run.length === 0) return { out: value, matches: NOTHING, changed: false };
  const candidates: Candidate[] = [];
  for (const i of run) findAll(plan.patterns, i, value, candidates);
  if (candidates.length === 0) return { out: value, matches: NOTHING, changed: false };
  const { body, masked } = replaceCandidates(plan.patterns, value, candidates, null);
  return fromWhole(value, { body, masked });
}

function fromWhole(value: Buffer, whole: { body: Buffer; masked: MaskingReport }): ValueMaskResult {
  const changed = !whole.body.equals(value);
  return { out: changed ? whole.body : value, matches: whole.masked, changed };
}

/** Indexes of the patterns that could match somewhere in `value`, per the plan's prefilter. */
function candidatesOf(plan: EnginePlan, value: Buffer): number[] {
  const { short, literal, long, blockSet, longSet } = plan;
  const run: number[] = [];
  if (short.length + literal.length > 0) {
    if (blockSet === null) run.push(...short, ...literal);
    else for (const j of blockSet.match(value, 0, value.length)) run.push(j < short.length ? short[j]! : literal[j - short.length]!);
  }
  if (long.length > 0) {
    if (longSet === null) run.push(...long);
    else for (const j of longSet.match(value, 0, value.length)) run.push(long[j]!);
  }
  return run;
}
