export { compileProfile } from './compile-profile.ts';
export { maskerFor, type BodyTreatment } from './masker-for.ts';
export { createDecompressor, type BodyDecompressor, type DecompressLimits } from './decompress.ts';
export { MaskingProfileError, type ProfileIssue } from './profile-error.ts';
export { BUILTIN_RECOGNIZERS } from './recognizers/builtin.ts';
export type { Recognizer } from './recognizers/recognizer.ts';
export type {
  ColumnRule,
  ColumnRuleSpec,
  CompileOptions,
  MaskerStats,
  MaskingEntryInfo,
  MaskingProfile,
  MaskingProfileSpec,
  MaskingReport,
  PatternEntrySpec,
  RecognizerEntrySpec,
  RecognizerId,
  StrategySpec,
  StreamMasker,
  ValueMaskResult,
} from './types.ts';
