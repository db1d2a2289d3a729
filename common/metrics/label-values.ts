/**
 * The label value for "there is none": a request that named no target, an allow (which has no
 * error code), a body masked under no profile. Fixed, so absence is one series, never a guess.
 */
export const NONE = 'none';
