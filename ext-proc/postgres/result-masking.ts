import type { MaskingProfile } from '../masking/types.ts';
import { binaryKind, isJsonType, JSONB_OID } from './column-types.ts';
import { ResultUnmaskableError } from './result-unmaskable-error.ts';
import { maxValueBytesOf, ValueMasker, type ValuePlan } from './value-masker.ts';

export { ResultUnmaskableError } from './result-unmaskable-error.ts';

/** One RowDescription field, as far as masking cares. */
export interface ResultColumn {
  name: string;
  typeOid: number;
  /** 0 text, 1 binary. */
  format: 0 | 1;
}

/** Masks the DataRows of one result. */
export interface RowMasker {
  /** false: nothing in this result can change; the caller may pass rows through untouched. */
  readonly active: boolean;
  /** Masks one row; `values` is returned as is when nothing changed, and never modified. */
  maskRow(values: (Buffer | null)[]): { values: (Buffer | null)[]; changed: boolean };
  /** Values masked so far in this result, per recognizer, pattern, `column:<glob>` or `oversize`. */
  matches(): Record<string, number>;
}

/**
 * Decides, once per result, how each column is masked, and returns the per-row masker:
 *
 * 1. The first column rule whose glob matches the name masks the column whole.
 * 2. Otherwise text values (format 0, and binary types whose binary form is text) go through
 *    the profile's recognizers and patterns; json and jsonb are read as JSON.
 * 3. Binary numbers, dates and uuids cannot carry text and pass, unless a column rule names
 *    them: a replacement cannot be written in their binary layout, so that fails closed.
 * 4. Any other binary column fails closed (ResultUnmaskableError) if the profile has anything
 *    that could apply to it, and passes if it has nothing.
 *
 * Throws ResultUnmaskableError (ERR_PG_RESULT_UNMASKABLE) for 3 and 4, before any row is read.
 */
export function rowMaskerFor(profile: MaskingProfile, columns: readonly ResultColumn[], options?: { maxValueBytes?: number }): RowMasker {
  const masker = new ValueMasker(profile, maxValueBytesOf(options));
  const plans = columns.map((c) => planColumn(profile, c));
  const active = plans.some((p) => p !== null);
  return Object.freeze({
    active,
    matches: () => masker.matches(),
    maskRow(values: (Buffer | null)[]) {
      if (!active) return { values, changed: false };
      // The framing should have refused such a row; a value without a column has no plan, so
      // it is not passed on a guess.
      if (values.length !== plans.length) {
        throw new ResultUnmaskableError(null, null, `a row has ${values.length} values for ${plans.length} columns`);
      }
      let out: (Buffer | null)[] | null = null;
      for (let i = 0; i < values.length; i++) {
        const value = values[i]!;
        const plan = plans[i]!;
        if (value === null || plan === null) continue;
        const masked = masker.mask(value, plan);
        if (masked === value) continue;
        out ??= values.slice();
        out[i] = masked;
      }
      return out === null ? { values, changed: false } : { values: out, changed: true };
    },
  });
}

/** null: the column passes untouched. */
function planColumn(profile: MaskingProfile, column: ResultColumn): ValuePlan | null {
  const rule = profile.columns.find((r) => r.matches(column.name)) ?? null;
  const recognizes = profile.entries.length > 0;
  const json = isJsonType(column.typeOid);
  const plan: ValuePlan = { column: column.name, typeOid: column.typeOid, rule, json, jsonbVersion: false };
  if (column.format === 0) return rule !== null || recognizes ? plan : null;
  switch (binaryKind(column.typeOid)) {
    case 'no-text':
      if (rule !== null) throw new ResultUnmaskableError(column.name, column.typeOid, `column rule "${rule.glob}" matches a binary value that cannot hold a replacement`);
      return null;
    case 'text':
      return rule !== null || recognizes ? plan : null;
    case 'jsonb':
      return rule !== null || recognizes ? { ...plan, jsonbVersion: column.typeOid === JSONB_OID } : null;
    case 'opaque':
      if (rule !== null || recognizes) throw new ResultUnmaskableError(column.name, column.typeOid, 'binary format of this type is not readable by the gateway');
      return null;
  }
}
