import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { SignJWT, base64url } from 'jose';
import { Gateway, TEST_SECRETS } from '../harness/gateway.ts';
import { waitFor } from '../harness/wait.ts';
import { authorizationService } from '../../common/protos.ts';
import { bindInsecure, shutdown } from '../../common/grpc-server.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

describe('HTTP path through real Envoy: ext-authz', () => {
  let gw: Gateway;
  let aliceToken: string;
  const secretTokens: string[] = [];

  before(async () => {
    gw = await Gateway.start({ policySource: FIXTURE_POLICIES });
    aliceToken = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'], claims: { email: 'alice@example.com' } });
    secretTokens.push(aliceToken);
  });

  after(async () => {
    await gw?.stop();
  });

  /** A token signed with the issuer's current key (earlier ones die when a test rotates keys). */
  async function freshToken(): Promise<string> {
    const token = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    secretTokens.push(token);
    return token;
  }

  function upstreamHitsFor(marker: string): number {
    return gw.upstream.seen.filter((r) => r.path.includes(marker)).length;
  }

  test('an allowed request reaches the upstream with identity headers and the real credential instead of the caller token', async () => {
    const res = await gw.request('/api/hello?case=allowed', {
      token: aliceToken,
      headers: { 'x-sluice-subject': 'mallory', 'x-sluice-forged': 'yes' },
    });
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.find((r) => r.path === '/api/hello?case=allowed');
    assert.ok(seen, 'upstream saw the request');
    assert.equal(seen.headers.authorization, `Bearer ${TEST_SECRETS['demo-api-token']}`, 'the caller token is replaced by the real credential');
    assert.ok(!JSON.stringify(seen.headers).includes(aliceToken), 'the caller token never reaches the upstream');
    assert.equal(seen.headers['x-sluice-subject'], 'alice', 'identity header set by policy, not by the caller');
    assert.equal(seen.headers['x-sluice-groups'], 'engineering');
    assert.equal(seen.headers['x-sluice-email'], 'alice@example.com');
    assert.equal(seen.headers['x-sluice-forged'], undefined, 'caller-made x-sluice-* headers are stripped');
  });

  test('no token: 401 with WWW-Authenticate and a JSON error, upstream untouched', async () => {
    const res = await gw.request('/api/hello?case=missing');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="sluice"');
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = res.json();
    assert.equal(body.error.code, 'ERR_TOKEN_MISSING');
    assert.ok(typeof body.request_id === 'string' && body.request_id.length > 0, 'request id in the body');
    assert.equal(upstreamHitsFor('case=missing'), 0);
  });

  test('bad tokens: 401 with a stable code for each, upstream untouched', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify({ iss: gw.issuer.url, sub: 'alice', aud: 'sluice', exp: 4102444800 }));
    const hmacWithPublicKey = await new SignJWT({ sub: 'alice', groups: ['engineering'] })
      .setProtectedHeader({ alg: 'HS256', kid: gw.issuer.currentPublicJwk().kid })
      .setIssuer(gw.issuer.url).setAudience('sluice').setExpirationTime('1h')
      .sign(new TextEncoder().encode(JSON.stringify(gw.issuer.currentPublicJwk())));
    const cases: [string, string, string][] = [
      ['garbage', 'not-a-jwt', 'ERR_TOKEN_MALFORMED'],
      ['alg-none', `${header}.${payload}.`, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
      ['hs256-public-key', hmacWithPublicKey, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
      ['expired', await gw.issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: -3600 }), 'ERR_TOKEN_EXPIRED'],
      ['wrong-audience', await gw.issuer.mint({ sub: 'alice', groups: ['engineering'], aud: 'someone-else' }), 'ERR_TOKEN_AUDIENCE'],
      ['oversized', `${'a'.repeat(20_000)}.b.c`, 'ERR_TOKEN_TOO_LARGE'],
      // Past Envoy's default 60 KB header limit: the generated config raises it, so the caller
      // gets the clear 401 instead of a connection closed without an answer.
      ['oversized-100kb', `${'a'.repeat(100_000)}.b.c`, 'ERR_TOKEN_TOO_LARGE'],
    ];
    for (const [name, token, code] of cases) {
      secretTokens.push(token);
      const res = await gw.request(`/api/hello?case=bad-${name}`, { token });
      assert.equal(res.status, 401, `${name}: status`);
      assert.equal(res.json().error.code, code, `${name}: code`);
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/, `${name}: WWW-Authenticate`);
      assert.ok(!res.text.includes(token), `${name}: token not echoed`);
      assert.equal(upstreamHitsFor(`case=bad-${name}`), 0, `${name}: upstream untouched`);
    }
  });

  /** One raw HTTP/1.1 request and whatever comes back before the connection closes ('' if nothing). */
  function rawRequest(head: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(gw.envoy.httpPort, '127.0.0.1', () => socket.write(head));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
  }
  const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

  test('headers past Envoy\'s limit: 431 ERR_HEADERS_TOO_LARGE with the JSON body, not a connection closed without an answer', async () => {
    // 200 KB: past envoy.maxRequestHeadersKb (128), as a header of its own and as a bearer token.
    const big = 'a'.repeat(200 * 1024);
    for (const [name, header] of [['header', `x-big: ${big}`], ['token', `authorization: Bearer ${big}.b.c`]] as const) {
      const text = await rawRequest(`GET /api/hello?case=too-large-${name} HTTP/1.1\r\nhost: localhost\r\n${header}\r\nconnection: close\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.1 431 /, `${name}: got ${JSON.stringify(text.slice(0, 80))}`);
      assert.match(text, /\r\ncontent-type: application\/json\r\n/i, `${name}: JSON`);
      assert.equal(bodyOf(text).error.code, 'ERR_HEADERS_TOO_LARGE', name);
      assert.ok(!text.includes(big), `${name}: nothing of the header echoed`);
      assert.equal(upstreamHitsFor(`case=too-large-${name}`), 0);
    }
  });

  test('policy denial: 403 with a JSON error; explicit deny wins; other targets need their own policy', async () => {
    const bob = await gw.issuer.mint({ sub: 'bob', groups: ['sales'] });
    secretTokens.push(bob);
    const noGroup = await gw.request('/api/hello?case=deny-group', { token: bob });
    assert.equal(noGroup.status, 403);
    assert.equal(noGroup.json().error.code, 'ERR_POLICY_DENIED');
    assert.equal(upstreamHitsFor('case=deny-group'), 0);

    const del = await gw.request('/api/orders?case=deny-delete', { method: 'DELETE', token: aliceToken });
    assert.equal(del.status, 403, 'explicit deny beats the allow on /api/**');
    assert.equal(upstreamHitsFor('case=deny-delete'), 0);

    const post = await gw.request('/api/orders?case=alice-post', { method: 'POST', token: aliceToken, body: '{}' });
    assert.equal(post.status, 200, 'alice may create orders');

    const admin = await gw.request('/admin/users?case=admin-route', { token: aliceToken });
    assert.equal(admin.status, 403, 'the /admin/ route names target admin-api, which alice has no policy for');
    assert.equal(upstreamHitsFor('case=admin-route'), 0);
  });

  test('key rotation at the issuer works without restart', async () => {
    const before = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    assert.equal((await gw.request('/api/hello?case=rotate-0', { token: before })).status, 200);
    await gw.issuer.rotate();
    const after = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    secretTokens.push(before, after);
    // An unknown kid triggers a JWKS refetch at most once per cooldown (1 s for the test issuer).
    await new Promise((r) => setTimeout(r, 1100));
    const res = await gw.request('/api/hello?case=rotate-new', { token: after });
    assert.equal(res.status, 200, 'token signed by the new key is accepted (JWKS refetched on unknown kid)');
    // A token signed with a key the issuer has since rotated out stops working once the cached
    // JWKS passes its max age (1 s for the test issuer) and is refreshed — no restart.
    const oldKeyToken = await gw.issuer.mint({ sub: 'carol', groups: ['engineering'] });
    secretTokens.push(oldKeyToken);
    await gw.issuer.rotate();
    await new Promise((r) => setTimeout(r, 1200));
    const { value: stale } = await waitFor(async () => {
      const res = await gw.request('/api/hello?case=rotate-stale', { token: oldKeyToken });
      return res.status === 401 ? res : undefined;
    }, 3000, 100);
    assert.ok(stale);
    assert.equal(stale.json().error.code, 'ERR_TOKEN_KEY_NOT_FOUND', 'refused as signed by a key the issuer no longer publishes');
    const current = await freshToken();
    assert.equal((await gw.request('/api/hello?case=rotate-current', { token: current })).status, 200);
  });

  test('hot reload: an edit takes effect within 2 s; a broken file keeps the last good policy live', async () => {
    const file = path.join(gw.policyDir, 'demo.yaml');
    const original = readFileSync(file, 'utf8');
    const reports = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    secretTokens.push(reports);
    assert.equal((await gw.request('/reports/q3?case=reload-before', { token: reports })).status, 403);

    writeFileSync(file, original.replace('paths: ["/api/**"]', 'paths: ["/api/**", "/reports/**"]'));
    const { elapsedMs } = await waitFor(async () => (await gw.request('/reports/q3?case=reload-after', { token: reports })).status === 200, 2000, 50);
    assert.ok(elapsedMs <= 2000, `reload took ${elapsedMs} ms`);

    writeFileSync(file, `${original}\n  - name: broken\n    targets: [demo-api\n`);
    await waitFor(() => gw.logs.text().includes('demo.yaml:'), 2000, 50);
    assert.match(gw.logs.text(), /demo\.yaml:\d+:\d+/, 'the error names file, line and column');
    assert.equal((await gw.request('/reports/q3?case=reload-broken', { token: reports })).status, 200, 'last good policy stays live');
    writeFileSync(file, original);
    await waitFor(async () => (await gw.request('/reports/q3?case=reload-restored', { token: reports })).status === 403, 2000, 50);
  });

  test('ext-authz down: requests are denied, never forwarded; it recovers after a restart', async () => {
    const aliceToken = await freshToken();
    await gw.stopExtAuthz();
    const res = await gw.request('/api/hello?case=authz-down', { token: aliceToken });
    assert.equal(res.status, 503);
    assert.equal(upstreamHitsFor('case=authz-down'), 0);
    await gw.restartExtAuthz();
    await waitFor(async () => (await gw.request('/api/hello?case=authz-back', { token: aliceToken })).status === 200, 5000, 100);
  });

  test('ext-authz hung: Envoy times out and denies; nothing is forwarded', async () => {
    const aliceToken = await freshToken();
    await gw.stopExtAuthz();
    const hung = new grpc.Server();
    hung.addService(authorizationService().service, { Check: () => { /* never answers */ } });
    await bindInsecure(hung, '127.0.0.1', gw.extAuthzPort);
    try {
      const started = Date.now();
      const res = await gw.request('/api/hello?case=authz-hung', { token: aliceToken });
      assert.equal(res.status, 503);
      assert.ok(Date.now() - started < 5000, 'denied after the ext_authz timeout, not left hanging');
      assert.equal(upstreamHitsFor('case=authz-hung'), 0);
    } finally {
      hung.forceShutdown();
      await shutdown(hung, 10);
      await gw.restartExtAuthz();
    }
  });

  test('decision log has one line per decision and no token appears in any log', async () => {
    const decisions = gw.decisions.lines.map((l) => JSON.parse(l));
    assert.ok(decisions.length >= 10);
    const allowed = decisions.find((d) => d.request_id && d.effect === 'allow' && d.subject === 'alice');
    assert.ok(allowed, 'an allow decision for alice');
    assert.equal(allowed.target, 'demo-api');
    assert.equal(allowed.rule, 'engineers-read/read-api');
    assert.equal(typeof allowed.latency_ms, 'number');
    const everything = `${gw.logs.text()}\n${gw.decisions.text()}`;
    for (const token of secretTokens) {
      assert.ok(!everything.includes(token), 'a token leaked into the logs');
      const signature = token.split('.')[2];
      if (signature && signature.length > 16) assert.ok(!everything.includes(signature), 'a token signature leaked into the logs');
    }
  });
});
