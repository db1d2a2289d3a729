import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SluiceError } from '../../common/errors.ts';
import { parseIssuerConfig } from './config.ts';

const minimal = { name: 'people', issuer: 'https://idp.example.com', audiences: ['sluice'] };

function rejects(raw: unknown, option: string): SluiceError {
  let caught: unknown;
  try {
    parseIssuerConfig(raw, 'sluice.yaml issuers[0]');
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SluiceError, `expected ERR_CONFIG_INVALID for ${option}`);
  assert.equal(caught.code, 'ERR_CONFIG_INVALID');
  const options = (caught.details.problems as { option: string }[]).map((p) => p.option);
  assert.ok(options.includes(option), `problems ${options.join(',')} should name ${option}`);
  assert.ok(caught.message.startsWith('sluice.yaml issuers[0]: '));
  assert.ok(caught.message.includes(option));
  return caught;
}

describe('parseIssuerConfig', () => {
  it('applies the defaults and freezes the result', () => {
    const config = parseIssuerConfig(minimal, 'x');
    assert.deepEqual(config, {
      ...minimal,
      algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'],
      clockSkewSeconds: 30,
      groupsClaim: 'groups',
      requiredClaims: [],
      fetchTimeoutMs: 2000,
      jwksCooldownMs: 30_000,
      jwksCacheMaxAgeMs: 600_000,
    });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.audiences) && Object.isFrozen(config.algorithms));
    assert.equal('jwksUri' in config, false);
  });

  it('keeps explicit values', () => {
    const config = parseIssuerConfig({
      ...minimal,
      jwksUri: 'https://idp.example.com/keys',
      algorithms: ['ES256'],
      clockSkewSeconds: 0,
      groupsClaim: 'realm_access.roles',
      requiredClaims: ['email'],
      fetchTimeoutMs: 500,
      jwksCooldownMs: 0,
      jwksCacheMaxAgeMs: 60_000,
    }, 'x');
    assert.equal(config.jwksUri, 'https://idp.example.com/keys');
    assert.deepEqual(config.algorithms, ['ES256']);
    assert.equal(config.clockSkewSeconds, 0);
    assert.equal(config.jwksCooldownMs, 0);
  });

  it('requires name, issuer and audiences', () => {
    rejects({ issuer: minimal.issuer, audiences: ['a'] }, 'name');
    rejects({ name: 'p', audiences: ['a'] }, 'issuer');
    rejects({ name: 'p', issuer: minimal.issuer }, 'audiences');
    rejects({ ...minimal, name: '' }, 'name');
  });

  it('refuses an empty or ill-typed audience list', () => {
    rejects({ ...minimal, audiences: [] }, 'audiences');
    rejects({ ...minimal, audiences: 'sluice' }, 'audiences');
    rejects({ ...minimal, audiences: ['ok', 3] }, 'audiences');
  });

  it('refuses none, HS* and unknown algorithms', () => {
    for (const alg of ['none', 'NONE', 'HS256', 'HS384', 'hs512', 'RSA-OAEP', 'ES256K']) {
      rejects({ ...minimal, algorithms: ['RS256', alg] }, 'algorithms');
    }
    rejects({ ...minimal, algorithms: [] }, 'algorithms');
  });

  it('refuses unknown options (typos must not be silently ignored)', () => {
    rejects({ ...minimal, audience: ['sluice'] }, 'audience');
    rejects({ ...minimal, clockSkew: 5 }, 'clockSkew');
  });

  it('refuses bad URLs and numbers', () => {
    rejects({ ...minimal, issuer: 'not a url' }, 'issuer');
    rejects({ ...minimal, issuer: 'ftp://idp.example.com' }, 'issuer');
    rejects({ ...minimal, jwksUri: '/relative' }, 'jwksUri');
    rejects({ ...minimal, clockSkewSeconds: -1 }, 'clockSkewSeconds');
    rejects({ ...minimal, fetchTimeoutMs: 0 }, 'fetchTimeoutMs');
    rejects({ ...minimal, fetchTimeoutMs: 1.5 }, 'fetchTimeoutMs');
    rejects({ ...minimal, jwksCacheMaxAgeMs: '10m' }, 'jwksCacheMaxAgeMs');
    rejects({ ...minimal, groupsClaim: '' }, 'groupsClaim');
    rejects({ ...minimal, requiredClaims: 'email' }, 'requiredClaims');
  });

  it('reports every problem of an entry at once', () => {
    const err = rejects({ name: 'p', audiences: [], algorithms: ['HS256'], bogus: 1 }, 'issuer');
    const options = (err.details.problems as { option: string }[]).map((p) => p.option).sort();
    assert.deepEqual(options, ['algorithms', 'audiences', 'bogus', 'issuer']);
  });

  it('refuses a non-object entry', () => {
    for (const raw of [null, 'people', ['a'], 42]) rejects(raw, '(entry)');
  });
});
