import type { ProfileIssue } from './profile-error.ts';
import { hashStrategy } from './strategies/hash.ts';
import { keepLastStrategy } from './strategies/keep-last.ts';
import { redactStrategy } from './strategies/redact.ts';
import type { Strategy } from './strategies/strategy.ts';

const MIN_HASH_KEY_BYTES = 16;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Reads one `strategy` field (shorthand string or object form). Problems are appended to
 * `issues` under `field`; returns null if there were any.
 */
export function parseStrategy(
  raw: unknown,
  field: string,
  entryName: string,
  hashKey: Uint8Array | undefined,
  issues: ProfileIssue[],
): Strategy | null {
  const fail = (message: string, at = field): null => {
    issues.push({ field: at, message });
    return null;
  };
  const hash = (length: number): Strategy | null => {
    if (hashKey === undefined || hashKey.length < MIN_HASH_KEY_BYTES) {
      return fail(`"hash" needs a deployment key of at least ${MIN_HASH_KEY_BYTES} bytes (compileProfile option hashKey)`);
    }
    return hashStrategy(hashKey, length);
  };

  if (typeof raw === 'string') {
    if (raw === 'redact') return redactStrategy(`[REDACTED:${entryName}]`);
    if (raw === 'hash') return hash(8);
    const keep = /^keep-last-(\d{1,2})$/.exec(raw);
    if (keep !== null && isInt(Number(keep[1]), 1, 32)) return keepLastStrategy(Number(keep[1]));
    return fail('must be "redact", "hash", "keep-last-N" (N 1-32) or an object with a "type"');
  }
  if (!isRecord(raw)) return fail('must be a string or an object');
  const allowed: Record<string, readonly string[]> = { redact: ['marker'], 'keep-last': ['n'], hash: ['length'] };
  const type = raw.type;
  if (typeof type !== 'string' || !(type in allowed)) return fail('must be "redact", "keep-last" or "hash"', `${field}.type`);
  const before = issues.length;
  for (const key of Object.keys(raw)) {
    if (key !== 'type' && !allowed[type]!.includes(key)) issues.push({ field: `${field}.${key}`, message: `unknown option for "${type}"` });
  }
  if (issues.length > before) return null;
  switch (type) {
    case 'redact': {
      const marker = raw.marker ?? `[REDACTED:${entryName}]`;
      // Printable ASCII only: the marker lands inside JSON strings, CSV cells and SSE lines.
      if (typeof marker !== 'string' || !/^[\x20-\x7e]{1,64}$/.test(marker)) {
        return fail('must be 1-64 printable ASCII characters', `${field}.marker`);
      }
      return redactStrategy(marker);
    }
    case 'keep-last':
      return isInt(raw.n, 1, 32) ? keepLastStrategy(raw.n) : fail('must be an integer from 1 to 32', `${field}.n`);
    default: {
      const length = raw.length ?? 8;
      return isInt(length, 8, 64) ? hash(length) : fail('must be an integer from 8 to 64', `${field}.length`);
    }
  }
}
