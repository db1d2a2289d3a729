import { BUILTIN_RECOGNIZERS } from './recognizers/builtin.ts';

/**
 * The shape of a masking profile (`extProc.masking.profiles[]`), for config validation with
 * file:line:col. What a shape cannot say (an RE2 pattern that does not compile, a strategy that
 * needs a hash key) is compileProfile's to report; config validation maps its field paths back
 * to lines too.
 */
const ENTRY_NAME = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', hint: 'must match [a-z0-9][a-z0-9._-]* (at most 64 characters)' } as const;
const STRATEGY = { type: 'string', minLength: 1, hint: 'must be a strategy: redact, keep-last-N or hash' } as const;
const MAX_LENGTH = { type: 'integer', minimum: 8, maximum: 1 << 20 } as const;

export const MASKING_PROFILE_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['name'],
  properties: {
    name: ENTRY_NAME,
    recognizers: {
      type: 'array', maxItems: 256,
      items: {
        type: 'object', additionalProperties: false, required: ['use'],
        properties: {
          use: { enum: [...BUILTIN_RECOGNIZERS.keys()], hint: `must be a built-in recognizer: ${[...BUILTIN_RECOGNIZERS.keys()].join(', ')}` },
          strategy: STRATEGY,
          maxLength: MAX_LENGTH,
        },
      },
    },
    patterns: {
      type: 'array', maxItems: 256,
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'pattern'],
        properties: {
          name: ENTRY_NAME,
          pattern: { type: 'string', minLength: 1, maxLength: 4096 },
          strategy: STRATEGY,
          maxLength: MAX_LENGTH,
          alphabet: { type: 'string', minLength: 1 },
        },
      },
    },
    columns: {
      type: 'array', maxItems: 256,
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'strategy'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\x00-\\x1f\\x7f\\[\\]{}\\\\]+$', hint: 'a column-name glob: * and ? are wildcards; [ ] { } and \\ are reserved' },
          strategy: STRATEGY,
        },
      },
    },
    maxMatchBytes: { type: 'integer', minimum: 16, maximum: 1 << 20 },
    binary: { enum: ['pass', 'refuse'] },
    requestBodies: { type: 'boolean' },
  },
} as const;
