import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileClaimPath, resolveClaim } from './claim-path.ts';
import { requestPath } from './request-path.ts';
import { compileValueGlob } from './value-glob.ts';

describe('value globs', () => {
  it('treats * as any run, ? as one character, everything else literally', () => {
    const re = compileValueGlob('a.b+(c)*[x]?');
    assert.equal(re.test('a.b+(c)anything/at/all[x]!'), true);
    assert.equal(re.test('aXb+(c)[x]!'), false);
    assert.equal(re.test('a.b+(c)[x]'), false);
    assert.equal(compileValueGlob('10.0.*').test('10.0.3.4'), true);
    assert.equal(compileValueGlob('10.0.*').test('10.00.3.4'), false);
  });
});

describe('claim paths', () => {
  it('prefers the longest existing key at each level and backtracks', () => {
    const path = compileClaimPath('a.b.c');
    assert.equal(resolveClaim({ 'a.b.c': 1 }, path), 1);
    assert.equal(resolveClaim({ 'a.b': { c: 2 } }, path), 2);
    assert.equal(resolveClaim({ a: { 'b.c': 3 } }, path), 3);
    assert.equal(resolveClaim({ a: { b: { c: 4 } } }, path), 4);
    assert.equal(resolveClaim({ 'a.b': { x: 1 }, a: { b: { c: 5 } } }, path), 5);
    assert.equal(resolveClaim({ a: { b: [{ c: 1 }] } }, path), undefined);
    assert.equal(resolveClaim({ a: null }, compileClaimPath('a')), undefined);
    assert.equal(resolveClaim({}, compileClaimPath('__proto__')), undefined);
    assert.equal(resolveClaim({}, compileClaimPath('toString')), undefined);
  });
});

describe('requestPath', () => {
  it('drops the query string and keeps the rest as sent', () => {
    assert.equal(requestPath('/a/b?c=/d'), '/a/b');
    assert.equal(requestPath('/a%2Fb'), '/a%2Fb');
    assert.equal(requestPath('/a/.well-known/..x'), '/a/.well-known/..x');
  });

  it('refuses dot and empty segments, plain or percent-encoded', () => {
    for (const p of ['/a/../b', '/a/./b', '/..', '/a/.', '//a', '/a//b', '/a/%2E%2e/b', '/a/%2e/b']) assert.equal(requestPath(p), null, p);
    // ...but only in the path part.
    assert.equal(requestPath('/a?next=/../b'), '/a');
  });
});
