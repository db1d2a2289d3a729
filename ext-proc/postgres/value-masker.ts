import { SluiceError } from '../../common/errors.ts';
import type { ColumnRule, MaskingProfile } from '../masking/types.ts';
import { ResultUnmaskableError } from './result-unmaskable-error.ts';

/** How one column's values are masked; fixed per result (or COPY) when it starts. */
export interface ValuePlan {
  readonly column: string | null;
  readonly typeOid: number | null;
  /** Masks the whole value, in place of the recognizers. */
  readonly rule: ColumnRule | null;
  /** JSON text: matched with escapes decoded, whole-value replacements written as JSON strings. */
  readonly json: boolean;
  /** Binary jsonb: a version byte, kept, in front of the JSON text. */
  readonly jsonbVersion: boolean;
}

export const DEFAULT_MAX_VALUE_BYTES = 1 << 20;
const OVERSIZE = 'oversize';
const OVERSIZE_MARKER = Buffer.from(`[REDACTED:${OVERSIZE}]`);
const JSONB_VERSION = 1;

/** Reads `maxValueBytes`, naming the option when it is not a positive integer. */
export function maxValueBytesOf(options: { maxValueBytes?: number } | undefined): number {
  const value = options?.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  if (!Number.isInteger(value) || value < 1) {
    throw new SluiceError('ERR_CONFIG_INVALID', 'result masking option maxValueBytes must be a positive integer', {
      details: { option: 'maxValueBytes' },
    });
  }
  return value;
}

/**
 * Masks single values under a profile and keeps the running counts, for one result or one COPY.
 * A value over maxValueBytes is replaced whole by a marker instead of being scanned: the engine
 * would cope, but a value that large in a result is rarely what a masking profile was written
 * for, and redacting it keeps the work per row bounded (fail closed).
 */
export class ValueMasker {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly profile: MaskingProfile,
    private readonly maxValueBytes: number,
  ) {}

  /** The masked value; the same Buffer when nothing changed. */
  mask(value: Buffer, plan: ValuePlan): Buffer {
    if (!plan.jsonbVersion) return this.maskText(value, plan);
    if (value.length === 0 || value[0] !== JSONB_VERSION) {
      throw new ResultUnmaskableError(plan.column, plan.typeOid, `jsonb binary format version ${value[0] ?? 'missing'} is not 1`);
    }
    const body = value.subarray(1);
    const out = this.maskText(body, plan);
    return out === body ? value : Buffer.concat([value.subarray(0, 1), out]);
  }

  matches(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  private maskText(text: Buffer, plan: ValuePlan): Buffer {
    if (text.length > this.maxValueBytes) {
      this.count(OVERSIZE, 1);
      return plan.json ? asJsonString(OVERSIZE_MARKER) : OVERSIZE_MARKER;
    }
    if (plan.rule !== null) {
      this.count(plan.rule.name, 1);
      const out = plan.rule.render(text);
      return plan.json ? asJsonString(out) : out;
    }
    const result = this.profile.maskValue(text, { json: plan.json });
    for (const name in result.matches) this.count(name, result.matches[name]!);
    return result.out;
  }

  private count(name: string, n: number): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }
}

/** A whole-value replacement inside a JSON column must itself be JSON: a string. */
function asJsonString(text: Buffer): Buffer {
  return Buffer.from(JSON.stringify(text.toString('utf8')), 'utf8');
}
