import { SluiceError } from '../../common/errors.ts';

/** One problem in a masking profile spec; `field` is a path like `patterns[2].pattern`. */
export interface ProfileIssue {
  readonly field: string;
  readonly message: string;
}

/**
 * A masking profile that cannot be compiled. Every issue found is carried, so an author fixes
 * them in one pass. Messages name fields, never the values of secrets (there are none in a
 * profile, but a pattern could embed one, so patterns are not echoed either).
 */
export class MaskingProfileError extends SluiceError {
  readonly issues: readonly ProfileIssue[];

  constructor(profile: string, issues: readonly ProfileIssue[]) {
    const head = `masking profile "${profile}" is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'})`;
    super('ERR_MASKING_PROFILE_INVALID', [head, ...issues.map((i) => `${i.field}: ${i.message}`)].join('\n  '), {
      details: { profile, fields: issues.map((i) => i.field) },
    });
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}
