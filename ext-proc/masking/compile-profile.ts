import { compileWithBackend } from './compile-with-backend.ts';
import { re2Backend } from './engine/re2-backend.ts';
import type { CompileOptions, MaskingProfile } from './types.ts';

/**
 * Validates a masking profile spec (parsed YAML/JSON) and compiles it: RE2 programs, the RE2.Set
 * prefilter, strategies. Throws MaskingProfileError (ERR_MASKING_PROFILE_INVALID) listing every
 * bad field. Compile once per profile load; `open()` per body is cheap.
 */
export function compileProfile(spec: unknown, options: CompileOptions = {}): MaskingProfile {
  return compileWithBackend(spec, options, re2Backend);
}
