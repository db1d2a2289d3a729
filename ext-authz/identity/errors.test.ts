import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SluiceError } from '../../common/errors.ts';
import { AUTH_ERROR_CODES, AuthError } from './errors.ts';

describe('AuthError', () => {
  it('is a SluiceError with a stable code and frozen details', () => {
    const err = new AuthError('ERR_TOKEN_EXPIRED', 'the token has expired', { details: { issuer: 'people' } });
    assert.ok(err instanceof SluiceError);
    assert.equal(err.name, 'AuthError');
    assert.equal(err.code, 'ERR_TOKEN_EXPIRED');
    assert.ok(Object.isFrozen(err.details));
  });

  it('lists every code once, all ERR_-prefixed', () => {
    assert.equal(new Set(AUTH_ERROR_CODES).size, AUTH_ERROR_CODES.length);
    assert.equal(AUTH_ERROR_CODES.length, 13);
    for (const code of AUTH_ERROR_CODES) assert.match(code, /^ERR_[A-Z_]+$/);
  });
});
