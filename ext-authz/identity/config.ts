import { SluiceError } from '../../common/errors.ts';
import type { IssuerConfig } from './types.ts';

/** Asymmetric JWS algorithms jose can verify. Symmetric (HS*) and `none` are never accepted. */
const SUPPORTED_ALGORITHMS = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

const DEFAULTS = {
  algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'],
  clockSkewSeconds: 30,
  groupsClaim: 'groups',
  requiredClaims: [] as string[],
  fetchTimeoutMs: 2000,
  jwksCooldownMs: 30_000,
  jwksCacheMaxAgeMs: 600_000,
};

const KNOWN_OPTIONS = new Set<string>([
  'name', 'issuer', 'jwksUri', 'audiences', 'algorithms', 'clockSkewSeconds', 'groupsClaim',
  'requiredClaims', 'fetchTimeoutMs', 'jwksCooldownMs', 'jwksCacheMaxAgeMs',
]);

interface Problem {
  option: string;
  message: string;
}

/**
 * Validates one `issuers:` entry and fills in defaults. Every problem in the entry is reported in
 * one ERR_CONFIG_INVALID so an operator fixes the file in one pass; `where` (e.g.
 * "sluice.yaml issuers[1]") prefixes each. The result is frozen: it is shared by the verifier.
 */
export function parseIssuerConfig(raw: unknown, where: string): IssuerConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalid(where, [{ option: '(entry)', message: 'must be a mapping' }]);
  }
  const input = raw as Record<string, unknown>;
  const problems: Problem[] = [];
  const fail = (option: string, message: string): void => void problems.push({ option, message });

  for (const key of Object.keys(input)) {
    if (!KNOWN_OPTIONS.has(key)) fail(key, 'unknown option');
  }

  const name = requiredString(input, 'name', fail);
  const issuer = url(input, 'issuer', true, fail);
  const jwksUri = url(input, 'jwksUri', false, fail);

  const audiences = stringList(input, 'audiences', undefined, fail);
  if (input.audiences === undefined) fail('audiences', 'is required');
  else if (audiences?.length === 0) fail('audiences', 'must list at least one audience');

  const algorithms = stringList(input, 'algorithms', DEFAULTS.algorithms, fail);
  if (algorithms?.length === 0) fail('algorithms', 'must list at least one algorithm');
  for (const alg of algorithms ?? []) {
    if (alg.toLowerCase() === 'none') fail('algorithms', '"none" is never accepted');
    else if (/^hs/i.test(alg)) fail('algorithms', `"${alg}" is symmetric; only asymmetric algorithms are accepted`);
    else if (!SUPPORTED_ALGORITHMS.has(alg)) fail('algorithms', `"${alg}" is not a supported algorithm`);
  }

  const groupsClaim = optionalString(input, 'groupsClaim', DEFAULTS.groupsClaim, fail);
  const requiredClaims = stringList(input, 'requiredClaims', DEFAULTS.requiredClaims, fail);
  const clockSkewSeconds = number(input, 'clockSkewSeconds', DEFAULTS.clockSkewSeconds, 0, false, fail);
  const fetchTimeoutMs = number(input, 'fetchTimeoutMs', DEFAULTS.fetchTimeoutMs, 1, true, fail);
  const jwksCooldownMs = number(input, 'jwksCooldownMs', DEFAULTS.jwksCooldownMs, 0, true, fail);
  const jwksCacheMaxAgeMs = number(input, 'jwksCacheMaxAgeMs', DEFAULTS.jwksCacheMaxAgeMs, 1, true, fail);

  if (problems.length > 0) throw invalid(where, problems);

  const config: IssuerConfig = {
    name: name!,
    issuer: issuer!,
    audiences: Object.freeze([...new Set(audiences)]) as string[],
    algorithms: Object.freeze([...new Set(algorithms)]) as string[],
    clockSkewSeconds,
    groupsClaim,
    requiredClaims: Object.freeze([...new Set(requiredClaims)]) as string[],
    fetchTimeoutMs,
    jwksCooldownMs,
    jwksCacheMaxAgeMs,
  };
  if (jwksUri !== undefined) config.jwksUri = jwksUri;
  return Object.freeze(config);
}

type Fail = (option: string, message: string) => void;

function invalid(where: string, problems: Problem[]): SluiceError {
  const summary = problems.map((p) => `${p.option}: ${p.message}`).join('; ');
  return new SluiceError('ERR_CONFIG_INVALID', `${where}: ${summary}`, {
    details: { where, option: problems[0]?.option, problems },
  });
}

function requiredString(input: Record<string, unknown>, option: string, fail: Fail): string | undefined {
  const value = input[option];
  if (value === undefined) return void fail(option, 'is required');
  if (typeof value !== 'string' || value.trim() === '') return void fail(option, 'must be a non-empty string');
  return value;
}

function optionalString(input: Record<string, unknown>, option: string, fallback: string, fail: Fail): string {
  const value = input[option];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    fail(option, 'must be a non-empty string');
    return fallback;
  }
  return value;
}

/** Issuer and JWKS locations must be absolute http(s) URLs; anything else cannot be fetched. */
function url(input: Record<string, unknown>, option: string, required: boolean, fail: Fail): string | undefined {
  if (input[option] === undefined && !required) return undefined;
  const value = requiredString(input, option, fail);
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return void fail(option, 'must be an absolute URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return void fail(option, 'must be an http(s) URL');
  return value;
}

function stringList(
  input: Record<string, unknown>,
  option: string,
  fallback: string[] | undefined,
  fail: Fail,
): string[] | undefined {
  const value = input[option];
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
    fail(option, 'must be a list of non-empty strings');
    return fallback;
  }
  return value as string[];
}

function number(
  input: Record<string, unknown>,
  option: string,
  fallback: number,
  min: number,
  integer: boolean,
  fail: Fail,
): number {
  const value = input[option];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    fail(option, `must be ${integer ? 'an integer' : 'a number'} >= ${min}`);
    return fallback;
  }
  return value;
}
