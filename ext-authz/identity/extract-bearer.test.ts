import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from './assert-auth-error.ts';
import { extractBearer } from './extract-bearer.ts';

describe('extractBearer', () => {
  it('returns the token of a Bearer header, scheme case-insensitive', () => {
    assert.equal(extractBearer('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(extractBearer('bearer abc'), 'abc');
    assert.equal(extractBearer('BEARER  abc '), 'abc');
  });

  it('reports a missing token', () => {
    for (const header of [undefined, '', '   ', 'Bearer', 'Bearer   ']) throwsWithCode(() => extractBearer(header), 'ERR_TOKEN_MISSING');
  });

  it('refuses other schemes without echoing the credential', () => {
    throwsWithCode(() => extractBearer('Basic dXNlcjpodW50ZXIy'), 'ERR_TOKEN_MALFORMED', 'dXNlcjpodW50ZXIy');
    throwsWithCode(() => extractBearer('abc.def.ghi'), 'ERR_TOKEN_MALFORMED', 'abc.def.ghi');
    throwsWithCode(() => extractBearer('Bearer: abc'), 'ERR_TOKEN_MALFORMED', 'abc');
  });

  it('refuses more than one token', () => {
    throwsWithCode(() => extractBearer('Bearer abc def'), 'ERR_TOKEN_MALFORMED', 'abc');
  });
});
