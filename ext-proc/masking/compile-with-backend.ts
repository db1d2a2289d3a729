import type { CompiledPattern } from './engine/compiled-pattern.ts';
import { planEngine, type PlanOptions } from './engine/engine-plan.ts';
import { maskWhole } from './engine/mask-whole.ts';
import { maskValue } from './engine/mask-value.ts';
import { compileColumns } from './compile-columns.ts';
import type { MatchBackend } from './engine/program.ts';
import { StreamingMasker } from './engine/stream-masker.ts';
import { JsonStreamMasker } from './engine/json-stream-masker.ts';
import { parseStrategy } from './parse-strategy.ts';
import { MaskingProfileError, type ProfileIssue } from './profile-error.ts';
import { BUILTIN_RECOGNIZERS } from './recognizers/builtin.ts';
import type { Strategy } from './strategies/strategy.ts';
import type { CompileOptions, MaskingEntryInfo, MaskingProfile, OpenOptions, RecognizerId } from './types.ts';
import { breakerTable } from './engine/breakers.ts';

const DEFAULT_MAX_MATCH_BYTES = 4096;
const MAX_LENGTH_LIMIT = 1 << 20;
// Below 8 bytes the engine could not step over a UTF-8 character inside the settled zone.
const MIN_LENGTH = 8;
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// Every entry is one more pass in the worst case; a profile is a policy, not a word list.
const MAX_ENTRIES = 256;
const TIE_ORDER: readonly RecognizerId[] = [
  'private-key', 'jwt', 'cloud-key', 'iban', 'card', 'ssn', 'ipv6', 'email', 'ipv4', 'phone',
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function unknownKeys(raw: Record<string, unknown>, allowed: readonly string[], field: string, issues: ProfileIssue[]): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) issues.push({ field: field === '' ? key : `${field}.${key}`, message: 'unknown field' });
  }
}

/**
 * compileProfile with a chosen regex backend and engine options. Production goes through
 * compileProfile (RE2); the benchmark uses this to run the same profile on JavaScript RegExp or
 * without the prefilter. Validates everything first and reports all issues at once.
 */
export function compileWithBackend(
  spec: unknown,
  options: CompileOptions,
  backend: MatchBackend,
  planOptions: PlanOptions = {},
): MaskingProfile {
  const issues: ProfileIssue[] = [];
  if (!isRecord(spec)) throw new MaskingProfileError('?', [{ field: '', message: 'must be an object' }]);
  const named = typeof spec.name === 'string' && spec.name.trim() !== '';
  const name = named ? (spec.name as string) : '?';
  if (!named) issues.push({ field: 'name', message: 'must be a non-empty string' });
  unknownKeys(spec, ['name', 'recognizers', 'patterns', 'columns', 'maxMatchBytes', 'binary', 'requestBodies'], '', issues);

  const maxMatchBytes = spec.maxMatchBytes ?? DEFAULT_MAX_MATCH_BYTES;
  if (!isInt(maxMatchBytes, 16, MAX_LENGTH_LIMIT)) {
    issues.push({ field: 'maxMatchBytes', message: `must be an integer from 16 to ${MAX_LENGTH_LIMIT}` });
  }
  const binary = spec.binary ?? 'refuse';
  if (binary !== 'pass' && binary !== 'refuse') issues.push({ field: 'binary', message: 'must be "pass" or "refuse"' });
  const requestBodies = spec.requestBodies ?? false;
  if (typeof requestBodies !== 'boolean') issues.push({ field: 'requestBodies', message: 'must be true or false' });

  const maxLengthOf = (raw: Record<string, unknown>, field: string, fallback: number): number => {
    if (raw.maxLength === undefined) return fallback;
    if (isInt(raw.maxLength, MIN_LENGTH, MAX_LENGTH_LIMIT)) return raw.maxLength;
    issues.push({ field: `${field}.maxLength`, message: `must be an integer from ${MIN_LENGTH} to ${MAX_LENGTH_LIMIT}` });
    return fallback;
  };
  const listOf = (key: 'recognizers' | 'patterns'): unknown[] => {
    const raw = spec[key];
    if (raw === undefined) return [];
    if (Array.isArray(raw) && raw.length <= MAX_ENTRIES) return raw;
    if (Array.isArray(raw)) {
      issues.push({ field: key, message: `at most ${MAX_ENTRIES} entries` });
      return [];
    }
    issues.push({ field: key, message: 'must be a list' });
    return [];
  };

  const compiled: { pattern: CompiledPattern; info: MaskingEntryInfo; rank: number }[] = [];
  const names = new Set<string>();
  const add = (entry: Omit<CompiledPattern, 'render'>, strategy: Strategy, canonical: ((v: Buffer) => Buffer) | undefined, kind: MaskingEntryInfo['kind'], order: number) => {
    const render = canonical === undefined ? (v: Buffer) => strategy.render(v, v) : (v: Buffer) => strategy.render(v, canonical(v));
    // Entry order breaks ties between matches of the same span: custom patterns first, in the
    // order written (the author wrote them for this data), then built-ins from the most to the
    // least specific, so `078-05-1120` is an SSN rather than a national phone number.
    const rank = kind === 'pattern' ? order : MAX_ENTRIES + TIE_ORDER.indexOf(entry.name as RecognizerId);
    compiled.push({
      pattern: Object.freeze({ ...entry, render }),
      info: Object.freeze({ name: entry.name, kind, strategy: strategy.label, maxLength: entry.maxLength }),
      rank,
    });
  };

  listOf('recognizers').forEach((raw, i) => {
    const field = `recognizers[${i}]`;
    if (!isRecord(raw)) return issues.push({ field, message: 'must be an object' });
    unknownKeys(raw, ['use', 'strategy', 'maxLength'], field, issues);
    const recognizer = BUILTIN_RECOGNIZERS.get(raw.use as RecognizerId);
    if (typeof raw.use !== 'string' || recognizer === undefined) {
      return issues.push({ field: `${field}.use`, message: `unknown recognizer; known: ${[...BUILTIN_RECOGNIZERS.keys()].join(', ')}` });
    }
    if (names.has(recognizer.id)) return issues.push({ field: `${field}.use`, message: `"${recognizer.id}" is listed twice` });
    names.add(recognizer.id);
    const strategy = parseStrategy(raw.strategy, `${field}.strategy`, recognizer.id, options.hashKey, issues);
    const maxLength = maxLengthOf(raw, field, recognizer.maxLength);
    if (strategy === null) return;
    add(
      {
        name: recognizer.id,
        source: recognizer.source,
        maxLength,
        prefixes: recognizer.prefixes === undefined ? null : recognizer.prefixes.map((p) => Buffer.from(p, 'latin1')),
        breakers: recognizer.alphabet === undefined ? null : breakerTable(recognizer.alphabet),
        program: backend.program(recognizer.source),
        validate: recognizer.validate ?? null,
      },
      strategy,
      recognizer.canonical,
      'recognizer',
      0,
    );
  });

  listOf('patterns').forEach((raw, i) => {
    const field = `patterns[${i}]`;
    if (!isRecord(raw)) return issues.push({ field, message: 'must be an object' });
    unknownKeys(raw, ['name', 'pattern', 'strategy', 'maxLength', 'alphabet'], field, issues);
    const entryName = raw.name;
    if (typeof entryName !== 'string' || !NAME.test(entryName)) {
      return issues.push({ field: `${field}.name`, message: 'must match [a-z0-9][a-z0-9._-]* (at most 64 characters)' });
    }
    if (names.has(entryName)) return issues.push({ field: `${field}.name`, message: `"${entryName}" is already used by another entry` });
    names.add(entryName);
    const strategy = parseStrategy(raw.strategy, `${field}.strategy`, entryName, options.hashKey, issues);
    const maxLength = maxLengthOf(raw, field, isInt(maxMatchBytes, 16, MAX_LENGTH_LIMIT) ? maxMatchBytes : DEFAULT_MAX_MATCH_BYTES);
    const source = raw.pattern;
    if (typeof source !== 'string' || source === '' || source.length > 4096) {
      return issues.push({ field: `${field}.pattern`, message: 'must be a non-empty string of at most 4096 characters' });
    }
    let program;
    try {
      program = backend.program(source);
    } catch (err) {
      // RE2's message names the construct ("invalid perl operator: (?="), not the whole pattern.
      return issues.push({ field: `${field}.pattern`, message: `not valid RE2 syntax: ${(err as Error).message}` });
    }
    if (program.find(Buffer.alloc(0), 0, 0) !== null) {
      return issues.push({ field: `${field}.pattern`, message: 'matches the empty string' });
    }
    let breakers: Uint8Array | null = null;
    if (raw.alphabet !== undefined) {
      try {
        breakers = breakerTable(String(raw.alphabet));
      } catch (err) {
        return issues.push({ field: `${field}.alphabet`, message: (err as Error).message });
      }
    }
    if (strategy === null) return;
    add({ name: entryName, source, maxLength, prefixes: null, breakers, program, validate: null }, strategy, undefined, 'pattern', i);
  });

  const columns = compileColumns(spec.columns, options.hashKey, issues);

  compiled.sort((a, b) => a.rank - b.rank);
  const patterns = compiled.map((c) => c.pattern);
  const entries = compiled.map((c) => c.info);
  if (patterns.length === 0 && columns.length === 0 && issues.length === 0) {
    issues.push({ field: 'recognizers', message: 'a profile needs at least one recognizer, pattern or column rule' });
  }
  if (issues.length > 0) throw new MaskingProfileError(name, issues);

  let plan;
  try {
    plan = planEngine(Object.freeze(patterns), backend, planOptions);
  } catch (err) {
    throw new MaskingProfileError(name, [{ field: 'patterns', message: `the prefilter cannot be built: ${(err as Error).message}` }]);
  }
  return Object.freeze({
    name,
    windowBytes: plan.windowBytes,
    binary: binary as 'pass' | 'refuse',
    requestBodies: requestBodies === true,
    entries: Object.freeze(entries),
    columns: Object.freeze(columns),
    open: (options: OpenOptions = {}) => (options.json === true ? new JsonStreamMasker(plan) : new StreamingMasker(plan)),
    maskWhole: (input: Buffer, options: OpenOptions = {}) => maskWhole(plan.patterns, input, options.json === true).body,
    maskWholeReport: (input: Buffer, options: OpenOptions = {}) => maskWhole(plan.patterns, input, options.json === true),
    maskValue: (value: Buffer, options: OpenOptions = {}) => maskValue(plan, value, options.json === true),
  });
}
