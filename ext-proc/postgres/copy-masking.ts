import { SluiceError } from '../../common/errors.ts';
import type { MaskingProfile } from '../masking/types.ts';
import { encodeCsvField, splitCsvRow } from './copy-csv-fields.ts';
import { decodeTextField, encodeTextField, isNullField, splitTextRow } from './copy-text-fields.ts';
import { ResultUnmaskableError } from './result-unmaskable-error.ts';
import { maxValueBytesOf, ValueMasker, type ValuePlan } from './value-masker.ts';

export type CopyFormat = 'text' | 'csv' | 'binary';

/** Masks the CopyData messages of one COPY … TO STDOUT. */
export interface CopyRowMasker {
  /** false: nothing in this COPY can change; the caller may pass the data through untouched. */
  readonly active: boolean;
  /** Masks one CopyData payload (one row); returns it as is when nothing changed. */
  maskData(row: Buffer): Buffer;
  /** Values masked so far, per recognizer, pattern, `column:<glob>` or `oversize`. */
  matches(): Record<string, number>;
}

const FORMATS: readonly CopyFormat[] = ['text', 'csv', 'binary'];

/**
 * The masker for one COPY OUT. Every field is decoded from its format (text escapes, CSV
 * quotes), masked like a text column, and written back in the same format, so a replacement
 * stays one valid field. Column rules need the column names, which CopyOutResponse does not
 * carry: with `columnNames` null only recognizers and patterns apply. COPY has no per-column
 * types, so json columns are matched raw, not decoded.
 *
 * Binary COPY cannot be read field by field here: if anything in the profile applies, it throws
 * ResultUnmaskableError (ERR_PG_RESULT_UNMASKABLE) so the caller fails closed.
 */
export function copyRowMasker(
  profile: MaskingProfile,
  columnNames: readonly string[] | null,
  options: { format: CopyFormat; maxValueBytes?: number },
): CopyRowMasker {
  if (!FORMATS.includes(options?.format)) {
    throw new SluiceError('ERR_CONFIG_INVALID', `COPY masking option format must be one of ${FORMATS.join(', ')}`, { details: { option: 'format' } });
  }
  const masker = new ValueMasker(profile, maxValueBytesOf(options));
  const recognizes = profile.entries.length > 0;
  const plans = (columnNames ?? []).map((name): ValuePlan | null => {
    const rule = profile.columns.find((r) => r.matches(name)) ?? null;
    return rule !== null || recognizes ? { column: name, typeOid: null, rule, json: false, jsonbVersion: false } : null;
  });
  const active = recognizes || plans.some((p) => p !== null);
  if (options.format === 'binary' && active) throw new ResultUnmaskableError(null, null, 'binary COPY format is not readable by the gateway');
  const fallback: ValuePlan | null = recognizes ? { column: null, typeOid: null, rule: null, json: false, jsonbVersion: false } : null;
  // Fields beyond the names given (or all of them, without names) get the recognizers only.
  const planAt = (i: number): ValuePlan | null => (i < plans.length ? plans[i]! : fallback);
  const maskData = options.format === 'csv' ? (row: Buffer) => maskCsvRow(row, masker, planAt) : (row: Buffer) => maskTextRow(row, masker, planAt);
  return Object.freeze({
    active,
    matches: () => masker.matches(),
    maskData: active ? maskData : (row: Buffer) => row,
  });
}

function maskTextRow(row: Buffer, masker: ValueMasker, planAt: (i: number) => ValuePlan | null): Buffer {
  const { fields, terminator } = splitTextRow(row);
  let changed = false;
  fields.forEach((raw, i) => {
    const plan = planAt(i);
    if (plan === null || isNullField(raw)) return;
    const value = decodeTextField(raw);
    const masked = masker.mask(value, plan);
    if (masked === value) return;
    fields[i] = encodeTextField(masked);
    changed = true;
  });
  return changed ? joinFields(fields, 0x09, terminator) : row;
}

function maskCsvRow(row: Buffer, masker: ValueMasker, planAt: (i: number) => ValuePlan | null): Buffer {
  const { fields, terminator } = splitCsvRow(row);
  const out = fields.map((f) => f.raw);
  let changed = false;
  fields.forEach((field, i) => {
    const plan = planAt(i);
    if (plan === null || field.value === null) return;
    const masked = masker.mask(field.value, plan);
    if (masked === field.value) return;
    out[i] = encodeCsvField(masked, field.quoted);
    changed = true;
  });
  return changed ? joinFields(out, 0x2c, terminator) : row;
}

function joinFields(fields: readonly Buffer[], delimiter: number, terminator: Buffer): Buffer {
  const sep = Buffer.of(delimiter);
  const pieces: Buffer[] = [];
  fields.forEach((f, i) => {
    if (i > 0) pieces.push(sep);
    pieces.push(f);
  });
  pieces.push(terminator);
  return Buffer.concat(pieces);
}
