import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { exportSPKI, importJWK, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import { isSluiceError } from '../../common/errors.ts';
import { LazyAbort } from '../../common/lazy-signal.ts';
import { rejectsWithCode } from './assert-auth-error.ts';
import { parseIssuerConfig } from './config.ts';
import { FakeClock, FakeIdp, fakeFetch } from './fake-idp.ts';
import { JwtIdentityVerifier, type JwtIdentityVerifierOptions } from './verifier.ts';

const PEOPLE = 'https://people.example.com/realms/main';
const WORKLOADS = 'https://workloads.example.com';

interface Setup {
  clock: FakeClock;
  idp: FakeIdp;
  net: ReturnType<typeof fakeFetch>;
  verifier: JwtIdentityVerifier;
}

async function setup(
  issuer: Record<string, unknown> = {},
  options: Partial<JwtIdentityVerifierOptions> = {},
  keyAlg = 'RS256',
): Promise<Setup> {
  const clock = new FakeClock();
  const idp = new FakeIdp(PEOPLE, clock);
  await idp.addKey('k1', keyAlg);
  const net = fakeFetch(idp);
  const verifier = new JwtIdentityVerifier({
    issuers: [parseIssuerConfig({ name: 'people', issuer: PEOPLE, audiences: ['sluice'], ...issuer }, 'test')],
    fetch: net,
    now: clock.now,
    ...options,
  });
  return { clock, idp, net, verifier };
}

/** Lets a background JWKS refresh (served from memory) settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('JwtIdentityVerifier: accepted tokens', () => {
  it('accepts a valid token and builds a frozen identity', async () => {
    const { idp, verifier, clock } = await setup();
    const token = await idp.sign({ groups: ['dev', 'ops'], email: 'alice@example.com', nested: { a: [1] } });
    const identity = await verifier.verify(token);
    assert.equal(identity.issuerName, 'people');
    assert.equal(identity.issuer, PEOPLE);
    assert.equal(identity.subject, 'alice');
    assert.deepEqual(identity.groups, ['dev', 'ops']);
    assert.equal(identity.expiresAt, clock.seconds + 3600);
    assert.equal(identity.claims.email, 'alice@example.com');
    assert.ok(Object.isFrozen(identity) && Object.isFrozen(identity.claims) && Object.isFrozen(identity.groups));
    assert.ok(Object.isFrozen((identity.claims.nested as { a: number[] }).a));
  });

  for (const alg of ['PS256', 'ES256', 'ES384', 'EdDSA']) {
    it(`accepts ${alg}`, async () => {
      const { idp, verifier } = await setup({}, {}, alg);
      assert.equal((await verifier.verify(await idp.sign())).subject, 'alice');
    });
  }

  it('accepts a token whose aud array contains one configured audience', async () => {
    const { idp, verifier } = await setup({ audiences: ['sluice', 'other'] });
    await verifier.verify(await idp.sign({ aud: ['unrelated', 'other'] }));
  });

  it('uses the only key fitting the alg when the token has no kid', async () => {
    const clock = new FakeClock();
    const idp = new FakeIdp(PEOPLE, clock);
    await idp.addKey(undefined, 'RS256');
    await idp.addKey('ec', 'ES256');
    const verifier = new JwtIdentityVerifier({
      issuers: [parseIssuerConfig({ name: 'people', issuer: PEOPLE, audiences: ['sluice'] }, 'test')],
      fetch: fakeFetch(idp),
      now: clock.now,
    });
    assert.equal((await verifier.verify(await idp.sign({}, { kid: null }))).subject, 'alice');
  });

  it('refuses a kid-less token when several keys fit its alg', async () => {
    const { idp, verifier } = await setup();
    await idp.addKey('k2', 'RS256');
    const token = await idp.sign({}, { kid: null });
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_KEY_NOT_FOUND', token);
  });

  it('works with keys published without "alg"', async () => {
    const clock = new FakeClock();
    const idp = new FakeIdp(PEOPLE, clock);
    await idp.addKey('k1', 'RS256', { publishAlg: false });
    const verifier = new JwtIdentityVerifier({
      issuers: [parseIssuerConfig({ name: 'people', issuer: PEOPLE, audiences: ['sluice'] }, 'test')],
      fetch: fakeFetch(idp),
      now: clock.now,
    });
    await verifier.verify(await idp.sign());
  });
});

describe('JwtIdentityVerifier: malformed input', () => {
  it('refuses a missing token', async () => {
    const { verifier, net } = await setup();
    await rejectsWithCode(verifier.verify(''), 'ERR_TOKEN_MISSING');
    await rejectsWithCode(verifier.verify(undefined as unknown as string), 'ERR_TOKEN_MISSING');
    assert.equal(net.urls.length, 0);
  });

  it('refuses bad base64 and bad JSON', async () => {
    const { idp, verifier, net } = await setup();
    const good = await idp.sign();
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const cases = [
      '%%%.%%%.%%%',
      `${header}.@@@@.${signature}`,
      `${b64('{"alg":"RS256"')}.${payload}.${signature}`, // header: truncated JSON
      `${b64('[1,2]')}.${payload}.${signature}`, // header: JSON but not an object
      `${header}.${b64('not json')}.${signature}`,
      `${header}.${b64('"a string"')}.${signature}`,
      `${b64({ kid: 'k1' })}.${payload}.${signature}`, // no alg
    ];
    for (const token of cases) await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_MALFORMED', token);
    assert.equal(net.urls.length, 0, 'nothing is fetched for a token that does not even decode');
  });

  it('refuses a signature segment that is not base64url', async () => {
    const { idp, verifier } = await setup();
    const [header, payload] = (await idp.sign()).split('.');
    const token = `${header}.${payload}.%%%%`;
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_MALFORMED', token);
  });

  it('refuses 1, 2, 4 and 5 segments', async () => {
    const { idp, verifier } = await setup();
    const [header, payload, signature] = (await idp.sign()).split('.');
    for (const token of [`${header}`, `${header}.${payload}`, `${header}.${payload}.${signature}.${signature}`, `${header}.a.b.c.d`]) {
      const err = await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_MALFORMED', token);
      assert.equal(err.details.segments, token.split('.').length);
    }
  });

  it('refuses an oversized token before parsing it', async () => {
    const { idp, verifier, net } = await setup();
    const junk = 'x'.repeat(16 * 1024 + 1);
    await rejectsWithCode(verifier.verify(junk), 'ERR_TOKEN_TOO_LARGE', junk);
    const big = await idp.sign({ padding: 'p'.repeat(20_000) });
    await rejectsWithCode(verifier.verify(big), 'ERR_TOKEN_TOO_LARGE', big);
    assert.equal(net.urls.length, 0);
    const atLimit = `${'x'.repeat(16 * 1024 - 4)}.a.b`;
    await rejectsWithCode(verifier.verify(atLimit), 'ERR_TOKEN_MALFORMED', atLimit);
  });

  it('honours a configured maxTokenBytes', async () => {
    const { idp, verifier } = await setup({}, { maxTokenBytes: 200 });
    const token = await idp.sign();
    const err = await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_TOO_LARGE', token);
    assert.equal(err.details.max, 200);
  });
});

describe('JwtIdentityVerifier: algorithms', () => {
  it('refuses alg none without fetching anything', async () => {
    const { verifier, net, clock } = await setup();
    const token = new UnsecuredJWT({ iss: PEOPLE, sub: 'mallory', aud: 'sluice', exp: clock.seconds + 60 }).encode();
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_ALG_NOT_ALLOWED', token);
    for (const alg of ['NONE', 'None']) {
      const forged = `${b64({ alg })}.${token.split('.')[1]}.`;
      await rejectsWithCode(verifier.verify(forged), 'ERR_TOKEN_ALG_NOT_ALLOWED', forged);
    }
    assert.equal(net.urls.length, 0);
  });

  it('refuses HS256 signed with the RSA public key as the HMAC secret (key confusion)', async () => {
    const { idp, verifier, clock } = await setup();
    await verifier.verify(await idp.sign()); // keys loaded, so the attack meets a warm key set
    // The attacker knows the public key in both usual encodings: the JWKS entry and SPKI PEM.
    const jwk = idp.publicJwk('k1');
    const pem = await exportSPKI((await importJWK(jwk, 'RS256')) as CryptoKey);
    const claims = { iss: PEOPLE, sub: 'mallory', aud: 'sluice', exp: clock.seconds + 60 };
    for (const secret of [new TextEncoder().encode(pem), new TextEncoder().encode(JSON.stringify(jwk))]) {
      for (const alg of ['HS256', 'HS512']) {
        const token = await new SignJWT(claims).setProtectedHeader({ alg, kid: 'k1' }).sign(secret);
        await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_ALG_NOT_ALLOWED', token);
      }
    }
  });

  it("refuses an asymmetric alg outside the issuer's allow-list", async () => {
    const { idp, verifier } = await setup({ algorithms: ['ES256'] });
    const token = await idp.sign();
    const err = await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_ALG_NOT_ALLOWED', token);
    assert.equal(err.details.issuer, 'people');
  });

  it('refuses a token whose alg does not fit the key under its kid', async () => {
    const { idp, verifier } = await setup({}, {}, 'ES256');
    await idp.addKey('rsa', 'RS256');
    // Header claims ES256 but names the RSA key: no key fits, whatever the signature.
    const [, payload, signature] = (await idp.sign({}, { kid: 'rsa' })).split('.');
    const token = `${b64({ alg: 'ES256', kid: 'rsa' })}.${payload}.${signature}`;
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_KEY_NOT_FOUND', token);
  });
});

describe('JwtIdentityVerifier: signature and claims', () => {
  it('refuses a tampered payload', async () => {
    const { idp, verifier } = await setup();
    const [header, , signature] = (await idp.sign()).split('.');
    const token = `${header}.${b64({ iss: PEOPLE, sub: 'admin', aud: 'sluice', exp: 9_999_999_999 })}.${signature}`;
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_SIGNATURE_INVALID', token);
  });

  it('refuses a token signed by another key under a published kid', async () => {
    const { idp, verifier } = await setup();
    const impostor = new FakeIdp(PEOPLE, new FakeClock());
    await impostor.addKey('k1');
    const token = await impostor.sign();
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_SIGNATURE_INVALID', token);
    await verifier.verify(await idp.sign()); // the genuine key still works
  });

  it('refuses a token from an issuer that is not configured, without fetching', async () => {
    const { verifier, net, clock } = await setup();
    const stranger = new FakeIdp('https://evil.example.net', clock);
    await stranger.addKey('k1');
    const token = await stranger.sign();
    const err = await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_UNKNOWN_ISSUER', token);
    assert.equal(err.details.iss, 'https://evil.example.net');
    assert.equal(net.urls.length, 0);
  });

  it('refuses a token without iss, or with a non-string iss', async () => {
    const { idp, verifier } = await setup();
    const noIss = await idp.sign({ iss: undefined });
    assert.equal((await rejectsWithCode(verifier.verify(noIss), 'ERR_TOKEN_CLAIM_MISSING', noIss)).details.claim, 'iss');
    const numIss = await idp.sign({ iss: 7 });
    await rejectsWithCode(verifier.verify(numIss), 'ERR_TOKEN_UNKNOWN_ISSUER', numIss);
  });

  it('refuses a wrong or missing audience', async () => {
    const { idp, verifier } = await setup();
    const wrong = await idp.sign({ aud: 'billing' });
    assert.equal((await rejectsWithCode(verifier.verify(wrong), 'ERR_TOKEN_AUDIENCE', wrong)).details.claim, 'aud');
    const none = await idp.sign({ aud: undefined });
    assert.equal((await rejectsWithCode(verifier.verify(none), 'ERR_TOKEN_CLAIM_MISSING', none)).details.claim, 'aud');
  });

  it('refuses an expired token, but accepts one expired within the clock skew', async () => {
    const { idp, verifier, clock } = await setup();
    const expired = await idp.sign({ exp: clock.seconds - 31 });
    await rejectsWithCode(verifier.verify(expired), 'ERR_TOKEN_EXPIRED', expired);
    const justExpired = await idp.sign({ exp: clock.seconds - 10 });
    assert.equal((await verifier.verify(justExpired)).subject, 'alice');
  });

  it('refuses nbf in the future beyond the skew, accepts it within', async () => {
    const { idp, verifier, clock } = await setup();
    const early = await idp.sign({ nbf: clock.seconds + 60 });
    assert.equal((await rejectsWithCode(verifier.verify(early), 'ERR_TOKEN_NOT_YET_VALID', early)).details.claim, 'nbf');
    await verifier.verify(await idp.sign({ nbf: clock.seconds + 10 }));
  });

  it('uses a configured clock skew', async () => {
    const { idp, verifier, clock } = await setup({ clockSkewSeconds: 0 });
    const token = await idp.sign({ exp: clock.seconds - 1 });
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_EXPIRED', token);
  });

  it('requires sub, exp and the configured claims', async () => {
    const { idp, verifier } = await setup({ requiredClaims: ['email'] });
    for (const claim of ['sub', 'exp', 'email']) {
      const token = await idp.sign({ email: 'a@example.com', [claim]: undefined });
      const err = await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_CLAIM_MISSING', token);
      assert.equal(err.details.claim, claim);
    }
    await verifier.verify(await idp.sign({ email: 'a@example.com' }));
  });

  it('refuses ill-typed sub and exp', async () => {
    const { idp, verifier, clock } = await setup();
    for (const [claims, claim] of [[{ sub: 42 }, 'sub'], [{ sub: '' }, 'sub'], [{ exp: String(clock.seconds + 60) }, 'exp']] as const) {
      const token = await idp.sign(claims);
      assert.equal((await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_CLAIM_INVALID', token)).details.claim, claim);
    }
  });
});

describe('JwtIdentityVerifier: keys and JWKS', () => {
  it('refetches once for an unknown kid and respects the cooldown', async () => {
    const { idp, verifier, clock } = await setup({ jwksCooldownMs: 30_000 });
    await verifier.verify(await idp.sign());
    assert.deepEqual(idp.calls, { discovery: 1, jwks: 1 });

    clock.advance(30_001);
    await idp.addUnpublishedKey('ghost-1');
    const first = await idp.sign({}, { kid: 'ghost-1' });
    const err1 = await rejectsWithCode(verifier.verify(first), 'ERR_TOKEN_KEY_NOT_FOUND', first);
    assert.equal(idp.calls.jwks, 2, 'one refetch for the unknown kid');
    assert.equal(err1.details.kid, 'ghost-1');
    assert.equal(err1.details.refetched, true);

    clock.advance(10_000);
    await idp.addUnpublishedKey('ghost-2');
    const second = await idp.sign({}, { kid: 'ghost-2' });
    const err2 = await rejectsWithCode(verifier.verify(second), 'ERR_TOKEN_KEY_NOT_FOUND', second);
    assert.equal(idp.calls.jwks, 2, 'no refetch inside the cooldown window');
    assert.equal(err2.details.refetched, false);

    clock.advance(20_001);
    await rejectsWithCode(verifier.verify(second), 'ERR_TOKEN_KEY_NOT_FOUND', second);
    assert.equal(idp.calls.jwks, 3, 'the window is over: one more refetch');
    assert.equal(idp.calls.discovery, 1, 'discovery is not repeated');
  });

  it('shares one refetch between concurrent unknown-kid requests', async () => {
    const { idp, verifier, clock } = await setup();
    await verifier.verify(await idp.sign());
    clock.advance(60_000);
    await idp.addUnpublishedKey('ghost');
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => idp.sign({ jti: String(i) }, { kid: 'ghost' })));
    await Promise.all(tokens.map((t) => rejectsWithCode(verifier.verify(t), 'ERR_TOKEN_KEY_NOT_FOUND', t)));
    assert.equal(idp.calls.jwks, 2);
  });

  it('shares the first load between concurrent requests', async () => {
    const { idp, verifier } = await setup();
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => idp.sign({ jti: String(i) })));
    await Promise.all(tokens.map((t) => verifier.verify(t)));
    assert.deepEqual(idp.calls, { discovery: 1, jwks: 1 });
  });

  it('follows a key rotation without restart: old-key tokens refused, new-key tokens accepted', async () => {
    const { idp, verifier, clock } = await setup();
    const oldToken = await idp.sign({ jti: 'old-cached' });
    await verifier.verify(oldToken);
    const oldUncached = await idp.sign({ jti: 'old-fresh' });

    clock.advance(31_000);
    await idp.addKey('k2');
    idp.removeKey('k1');
    const newToken = await idp.sign({}, { kid: 'k2' });
    assert.equal((await verifier.verify(newToken)).subject, 'alice', 'unknown kid k2 triggers a refetch');
    assert.equal(idp.calls.jwks, 2);

    await rejectsWithCode(verifier.verify(oldUncached), 'ERR_TOKEN_KEY_NOT_FOUND', oldUncached);
    await rejectsWithCode(verifier.verify(oldToken), 'ERR_TOKEN_KEY_NOT_FOUND', oldToken);
  });

  it('drops a key rotated out by the periodic refresh, even for cached tokens', async () => {
    const { idp, verifier, clock } = await setup({ jwksCacheMaxAgeMs: 600_000 });
    await idp.addKey('k2');
    const oldToken = await idp.sign({ exp: clock.seconds + 7200 });
    await verifier.verify(oldToken);
    idp.removeKey('k1');

    clock.advance(600_000);
    // Stale keys: this request is served from them and starts a background refresh.
    await verifier.verify(await idp.sign({ exp: clock.seconds + 3600 }, { kid: 'k2' }));
    await settle();
    assert.equal(idp.calls.jwks, 2);
    await rejectsWithCode(verifier.verify(oldToken), 'ERR_TOKEN_KEY_NOT_FOUND', oldToken);
  });

  it('keeps serving the last good keys when a refresh fails', async () => {
    const { idp, verifier, clock } = await setup();
    await verifier.verify(await idp.sign());
    for (const mode of ['down', 'not-json', 'wrong-shape', 'empty', 'http-500'] as const) {
      idp.jwksMode = mode;
      clock.advance(600_000);
      const token = await idp.sign({ jti: mode });
      assert.equal((await verifier.verify(token)).subject, 'alice', `still served while the JWKS is ${mode}`);
      await settle();
    }
    assert.equal(idp.calls.jwks, 6, 'each stale period tried one refresh');
  });

  it('reports ERR_JWKS_UNAVAILABLE when the JWKS endpoint is down, and backs off', async () => {
    const { idp, verifier, clock } = await setup();
    idp.jwksMode = 'down';
    const token = await idp.sign();
    const err = await rejectsWithCode(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE', token);
    assert.equal(err.details.issuer, 'people');
    await rejectsWithCode(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE', token);
    assert.equal(idp.calls.jwks, 1, 'no retry inside the cooldown');

    idp.jwksMode = 'ok';
    clock.advance(30_000);
    assert.equal((await verifier.verify(token)).subject, 'alice', 'recovers once the endpoint is back');
  });

  it('times out a JWKS endpoint that never answers, within fetchTimeoutMs', async () => {
    const { idp, verifier } = await setup({ fetchTimeoutMs: 100 });
    idp.jwksMode = 'hang';
    const token = await idp.sign();
    const started = performance.now();
    const err = await rejectsWithCode(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE', token);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 90 && elapsed < 600, `gave up after ${elapsed.toFixed(0)} ms`);
    assert.equal(err.details.timeoutMs, 100);
  });

  it('times out a discovery endpoint that never answers', async () => {
    const { idp, verifier } = await setup({ fetchTimeoutMs: 50 });
    idp.discoveryMode = 'hang';
    const token = await idp.sign();
    await rejectsWithCode(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE', token);
  });

  for (const mode of ['not-json', 'wrong-shape', 'empty', 'http-500'] as const) {
    it(`reports ERR_JWKS_UNAVAILABLE when the JWKS is ${mode}`, async () => {
      const { idp, verifier } = await setup();
      idp.jwksMode = mode;
      const token = await idp.sign();
      await rejectsWithCode(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE', token);
    });
  }

  for (const mode of ['down', 'not-json', 'wrong-shape', 'http-500'] as const) {
    it(`reports ERR_JWKS_UNAVAILABLE when discovery is ${mode}`, async () => {
      const { idp, verifier } = await setup();
      idp.discoveryMode = mode;
      const token = await idp.sign();
      await rejectsWithCode(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE', token);
      assert.equal(idp.calls.jwks, 0);
    });
  }

  it('refuses a discovery document that names another issuer', async () => {
    const { idp, verifier } = await setup();
    idp.discoveryIssuer = 'https://evil.example.net';
    const token = await idp.sign();
    const err = await rejectsWithCode(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE', token);
    assert.equal(err.details.actual, 'https://evil.example.net');
    assert.equal(idp.calls.jwks, 0, 'the JWKS it points to is never fetched');
  });

  it('skips discovery when jwksUri is configured', async () => {
    const clock = new FakeClock();
    const idp = new FakeIdp(PEOPLE, clock);
    await idp.addKey('k1');
    const verifier = new JwtIdentityVerifier({
      issuers: [parseIssuerConfig({ name: 'people', issuer: PEOPLE, jwksUri: idp.jwksUri, audiences: ['sluice'] }, 'test')],
      fetch: fakeFetch(idp),
      now: clock.now,
    });
    await verifier.verify(await idp.sign());
    assert.deepEqual(idp.calls, { discovery: 0, jwks: 1 });
  });

  it("stops waiting when the caller's signal aborts", async () => {
    const { idp, verifier } = await setup({ fetchTimeoutMs: 5_000 });
    idp.jwksMode = 'hang';
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = performance.now();
    await assert.rejects(verifier.verify(await idp.sign(), controller.signal), { name: 'AbortError' });
    assert.ok(performance.now() - started < 1_000);
  });

  it('makes a lazy signal only on a cache miss, and a cancel made before still stops the wait', async () => {
    const { idp, verifier } = await setup({ fetchTimeoutMs: 5_000 });
    const token = await idp.sign();
    const warm = new LazyAbort();
    let asked = 0;
    await verifier.verify(token, () => { asked++; return warm.signal(); }); // miss: keys are fetched
    assert.equal(asked, 1);
    await verifier.verify(token, () => { asked++; return warm.signal(); }); // hit: no signal made
    assert.equal(asked, 1);

    idp.jwksMode = 'hang';
    const cancelled = new LazyAbort();
    cancelled.abort(); // the caller went away before the verifier asked for the signal
    await assert.rejects(verifier.verify(await idp.sign({ sub: 'bob' }), cancelled.signal), { name: 'AbortError' });
  });
});

describe('JwtIdentityVerifier: several issuers', () => {
  it('verifies people and workloads side by side, each with its own audience and groups claim', async () => {
    const clock = new FakeClock();
    const people = new FakeIdp(PEOPLE, clock);
    const workloads = new FakeIdp(WORKLOADS, clock);
    await people.addKey('p1', 'RS256');
    await workloads.addKey('w1', 'ES256');
    const verifier = new JwtIdentityVerifier({
      issuers: [
        parseIssuerConfig({ name: 'people', issuer: PEOPLE, audiences: ['sluice'], groupsClaim: 'realm_access.roles' }, 'test[0]'),
        parseIssuerConfig({ name: 'workloads', issuer: WORKLOADS, audiences: ['mesh'], algorithms: ['ES256'], groupsClaim: 'team' }, 'test[1]'),
      ],
      fetch: fakeFetch(people, workloads),
      now: clock.now,
    });

    const alice = await verifier.verify(await people.sign({ realm_access: { roles: ['admin'] }, team: 'ignored' }));
    assert.deepEqual([alice.issuerName, alice.groups], ['people', ['admin']]);
    const robot = await verifier.verify(await workloads.sign({ sub: 'spiffe://mesh/billing', aud: 'mesh', team: 'billing' }));
    assert.deepEqual([robot.issuerName, robot.subject, robot.groups], ['workloads', 'spiffe://mesh/billing', ['billing']]);

    const crossed = await workloads.sign({ aud: 'sluice' });
    await rejectsWithCode(verifier.verify(crossed), 'ERR_TOKEN_AUDIENCE', crossed);
    const wrongAlg = await people.sign({ iss: WORKLOADS, aud: 'mesh' });
    await rejectsWithCode(verifier.verify(wrongAlg), 'ERR_TOKEN_ALG_NOT_ALLOWED', wrongAlg);
    assert.deepEqual([people.calls.jwks, workloads.calls.jwks], [1, 1]);
  });

  it('refuses a configuration that lists an issuer twice or allows HS256', async () => {
    const base = { name: 'people', issuer: PEOPLE, audiences: ['sluice'] };
    const cases: unknown[] = [
      [base, { ...base, name: 'again' }],
      [base, { ...base, issuer: WORKLOADS }],
      [{ ...base, algorithms: ['HS256'] }],
    ];
    for (const issuers of cases) {
      assert.throws(() => new JwtIdentityVerifier({ issuers: issuers as never }), (err: unknown) => isSluiceError(err) && err.code === 'ERR_CONFIG_INVALID');
    }
  });
});

describe('JwtIdentityVerifier: verified-token cache', () => {
  let verifySpy: ReturnType<typeof mock.method> | undefined;
  beforeEach(() => {
    // jose checks signatures through WebCrypto; counting calls proves whether a check happened.
    verifySpy = mock.method(globalThis.crypto.subtle, 'verify');
  });
  afterEach(() => {
    verifySpy?.mock.restore();
  });
  const signatureChecks = (): number => verifySpy!.mock.callCount();

  it('serves a repeat token with no fetch and no signature check', async () => {
    const { idp, verifier, net } = await setup();
    const token = await idp.sign();
    const first = await verifier.verify(token);
    assert.equal(signatureChecks(), 1);
    const fetches = net.urls.length;
    for (let i = 0; i < 100; i++) {
      // A fresh copy, as it would arrive in a new request.
      const again = await verifier.verify(Buffer.from(token).toString());
      assert.equal(again, first);
    }
    assert.equal(signatureChecks(), 1);
    assert.equal(net.urls.length, fetches);
  });

  it('never serves a cached token past exp', async () => {
    const { idp, verifier, clock } = await setup();
    const token = await idp.sign({ exp: clock.seconds + 60 });
    await verifier.verify(token);
    clock.advance(59_000);
    await verifier.verify(token);
    assert.equal(signatureChecks(), 1, 'still a hit before exp');

    clock.advance(2_000); // 1 s past exp: within skew, so re-verified (not served from cache) and accepted
    await verifier.verify(token);
    assert.equal(signatureChecks(), 2);

    clock.advance(30_000); // past exp + skew
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_EXPIRED', token);
  });

  it('re-verifies after the cache max TTL even if exp is later', async () => {
    const { idp, verifier, clock } = await setup({}, { cacheMaxTtlMs: 60_000 });
    const token = await idp.sign();
    await verifier.verify(token);
    clock.advance(60_001);
    await verifier.verify(token);
    assert.equal(signatureChecks(), 2);
  });

  it('does not cache refusals', async () => {
    const { idp, verifier } = await setup();
    const [header, , signature] = (await idp.sign()).split('.');
    const token = `${header}.${b64({ iss: PEOPLE, sub: 'admin', aud: 'sluice', exp: 9_999_999_999 })}.${signature}`;
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_SIGNATURE_INVALID', token);
    await rejectsWithCode(verifier.verify(token), 'ERR_TOKEN_SIGNATURE_INVALID', token);
    assert.equal(signatureChecks(), 2);
  });

  it('does not confuse tokens that share a signature suffix', async () => {
    const { idp, verifier } = await setup();
    const token = await idp.sign();
    await verifier.verify(token);
    const [, , signature] = token.split('.');
    const forged = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ iss: PEOPLE, sub: 'admin', aud: 'sluice', exp: 9_999_999_999 })}.${signature}`;
    await rejectsWithCode(verifier.verify(forged), 'ERR_TOKEN_SIGNATURE_INVALID', forged);
  });

  it('can be disabled', async () => {
    const { idp, verifier } = await setup({}, { cacheMaxEntries: 0 });
    const token = await idp.sign();
    await verifier.verify(token);
    await verifier.verify(token);
    assert.equal(signatureChecks(), 2);
  });
});
