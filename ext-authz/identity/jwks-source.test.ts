import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode } from './assert-auth-error.ts';
import { parseIssuerConfig } from './config.ts';
import { FakeClock, FakeIdp, fakeFetch } from './fake-idp.ts';
import { JwksSource } from './jwks-source.ts';

async function source(issuerUrl = 'https://idp.example.com', extra: Record<string, unknown> = {}) {
  const clock = new FakeClock();
  const idp = new FakeIdp(issuerUrl, clock);
  const net = fakeFetch(idp);
  const make = (): JwksSource => new JwksSource({
    issuer: parseIssuerConfig({ name: 'idp', issuer: issuerUrl, audiences: ['a'], ...extra }, 'test'),
    fetch: net,
    now: clock.now,
  });
  return { clock, idp, net, make };
}

describe('JwksSource', () => {
  it('keysAvailable (readiness): fetches once when empty, keeps answering ready from cached keys while the IdP is down', async () => {
    const { idp, make, clock } = await source();
    await idp.addKey('k1');
    idp.jwksMode = 'down';
    const keys = make();
    const cold = await keys.keysAvailable();
    assert.equal(cold.ok, false);
    assert.match(cold.detail, /ERR_JWKS_UNAVAILABLE/);
    idp.jwksMode = 'ok';
    clock.advance(60_000);
    const warm = await keys.keysAvailable();
    assert.equal(warm.ok, true, warm.detail);
    assert.match(warm.detail, /1 keys/);
    idp.jwksMode = 'down';
    clock.advance(24 * 3600_000);
    await keys.getKey('RS256', 'k1').catch(() => undefined); // a stale refresh that fails
    const cached = await keys.keysAvailable();
    assert.equal(cached.ok, true, 'cached keys still verify tokens');
  });

  it('imports each key once per algorithm', async () => {
    const { idp, make } = await source();
    await idp.addKey('k1', 'RS256', { publishAlg: false });
    const keys = make();
    const a = await keys.getKey('RS256', 'k1');
    const b = await keys.getKey('RS256', 'k1');
    const pss = await keys.getKey('PS256', 'k1');
    assert.equal(a.key, b.key, 'same CryptoKey object: imported once');
    assert.notEqual(a.key, pss.key, 'a JWK without alg serves each algorithm with its own import');
    assert.equal(a.handle, pss.handle);
  });

  it('keeps key objects across a refresh that leaves a key unchanged', async () => {
    const { idp, make, clock } = await source();
    await idp.addKey('k1');
    const keys = make();
    const before = await keys.getKey('RS256', 'k1');
    await idp.addKey('k2');
    clock.advance(60_000);
    await keys.getKey('RS256', 'k2'); // unknown kid: refetch
    const after = await keys.getKey('RS256', 'k1');
    assert.equal(after.key, before.key);
    assert.equal(before.handle.retired, false);
  });

  it('retires a key re-published under the same kid with new material', async () => {
    const { idp, make, clock } = await source();
    await idp.addKey('k1');
    const keys = make();
    const before = await keys.getKey('RS256', 'k1');
    idp.removeKey('k1');
    await idp.addKey('k1');
    await idp.addKey('trigger');
    clock.advance(60_000);
    await keys.getKey('RS256', 'trigger');
    assert.equal(before.handle.retired, true);
    assert.notEqual((await keys.getKey('RS256', 'k1')).key, before.key);
  });

  it('strips a trailing slash from the issuer before appending the discovery path', async () => {
    const { idp, make, net } = await source('https://idp.example.com/');
    await idp.addKey('k1');
    await make().getKey('RS256', 'k1');
    assert.equal(net.urls[0], 'https://idp.example.com/.well-known/openid-configuration');
  });

  it('ignores keys that are not public signature keys', async () => {
    const { idp, make } = await source();
    await idp.addKey('good');
    const published = idp.jwks();
    const good = published.keys[0]!;
    idp.jwks = () => ({
      keys: [
        { ...good, kid: 'enc', use: 'enc' },
        { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
        { ...good, kid: 'private', d: 'AAAA' },
        { ...good, kid: 'wrap-only', key_ops: ['wrapKey'] },
        'junk' as never,
        good,
      ],
    });
    const keys = make();
    await keys.getKey('RS256', 'good');
    for (const kid of ['enc', 'hmac', 'private', 'wrap-only']) {
      await rejectsWithCode(keys.getKey(kid === 'hmac' ? 'HS256' : 'RS256', kid), 'ERR_TOKEN_KEY_NOT_FOUND');
    }
  });

  it('refuses a key whose material cannot be imported', async () => {
    const { idp, make } = await source();
    await idp.addKey('k1');
    const good = idp.jwks().keys[0]!;
    // A 17-bit "modulus" (imports, but is far too weak) and one that is not base64url at all.
    for (const n of ['AQAB', '!!!']) {
      idp.jwks = () => ({ keys: [{ ...good, n }] });
      const err = await rejectsWithCode(make().getKey('RS256', 'k1'), 'ERR_TOKEN_KEY_NOT_FOUND');
      assert.equal(err.details.reason, 'import failed');
    }
  });

  it('refuses a discovery document whose jwks_uri is not an http(s) URL', async () => {
    const { idp, make, net } = await source();
    await idp.addKey('k1');
    const original = idp.respond.bind(idp);
    idp.respond = async (url: string) =>
      url.endsWith('/openid-configuration') ? Response.json({ issuer: idp.issuer, jwks_uri: 'file:///etc/passwd' }) : original(url);
    await rejectsWithCode(make().getKey('RS256', 'k1'), 'ERR_JWKS_UNAVAILABLE');
    assert.equal(net.urls.length, 1);
  });

  it('refreshes in the background once the keys are older than jwksCacheMaxAgeMs', async () => {
    const { idp, make, clock } = await source('https://idp.example.com', { jwksCacheMaxAgeMs: 120_000 });
    await idp.addKey('k1');
    const keys = make();
    await keys.getKey('RS256', 'k1');
    clock.advance(119_999);
    await keys.getKey('RS256', 'k1');
    assert.equal(idp.calls.jwks, 1);
    clock.advance(1);
    await keys.getKey('RS256', 'k1');
    assert.equal(idp.calls.jwks, 2);
  });
});
