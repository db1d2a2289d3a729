import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gateway, TEST_SECRETS } from '../harness/gateway.ts';
import { waitFor } from '../harness/wait.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

describe('ext-proc credential injection through real Envoy', () => {
  let gw: Gateway;
  let alice: string;
  const secretsSeen = new Set<string>(Object.values(TEST_SECRETS));

  before(async () => {
    gw = await Gateway.start({ policySource: FIXTURE_POLICIES });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
  });

  const hit = (marker: string) => gw.upstream.seen.find((r) => r.path.includes(marker));

  test('each target gets its own credential in its own header; caller credentials never pass', async () => {
    const demo = await gw.request('/api/items?case=inject-demo', { token: alice, headers: { cookie: 'session=caller', 'x-api-key': 'caller-key' } });
    assert.equal(demo.status, 200);
    const seenDemo = hit('case=inject-demo')!;
    assert.equal(seenDemo.headers.authorization, `Bearer ${TEST_SECRETS['demo-api-token']}`);
    assert.equal(seenDemo.headers.cookie, undefined, 'caller cookies are removed');
    assert.equal(seenDemo.headers['x-api-key'], undefined, 'caller API keys are removed');
    assert.ok(!demo.text.includes(TEST_SECRETS['demo-api-token']), 'the caller never sees the secret');

    const ops = await gw.request('/ops/status?case=inject-ops', { token: alice });
    assert.equal(ops.status, 200);
    const seenOps = hit('case=inject-ops')!;
    assert.equal(seenOps.headers['x-api-key'], TEST_SECRETS['ops-api-key']);
    assert.equal(seenOps.headers.authorization, undefined, 'ops-api takes an API key; no bearer of any kind goes up');
  });

  test('a rotated secret is used by the next request, with no restart', async () => {
    const rotated = { ...TEST_SECRETS, 'demo-api-token': 'demo-upstream-secret-0002' };
    secretsSeen.add(rotated['demo-api-token']);
    Gateway.writeSecretsFile(gw.secretsFile, rotated);
    const { elapsedMs } = await waitFor(async () => {
      const marker = `case=rotate-${Date.now()}`;
      await gw.request(`/api/items?${marker}`, { token: alice });
      return hit(marker)?.headers.authorization === 'Bearer demo-upstream-secret-0002';
    }, 3000, 50);
    assert.ok(elapsedMs < 3000);
  });

  test('a secrets file with a syntax error keeps the old secrets live and logs no secret', async () => {
    Gateway.writeSecretsText(gw.secretsFile, 'secrets:\n  demo-api-token: "demo-upstream-secret-0003\n  ops-api-key: [oops\n');
    await waitFor(() => gw.procLogs.text().includes('secrets file rejected'), 3000, 50);
    const res = await gw.request('/api/items?case=broken-secrets', { token: alice });
    assert.equal(res.status, 200);
    assert.equal(hit('case=broken-secrets')!.headers.authorization, 'Bearer demo-upstream-secret-0002', 'last good secret still used');
    assert.match(gw.procLogs.text(), /secrets\.yaml:\d+:\d+/, 'the error names file, line and column');
    assert.ok(!gw.procLogs.text().includes('demo-upstream-secret-0003'), 'the broken file\'s secret text is not logged');
    Gateway.writeSecretsFile(gw.secretsFile, { ...TEST_SECRETS, 'demo-api-token': 'demo-upstream-secret-0002' });
  });

  test('a target whose secret is missing is refused (503), never forwarded without its credential', async () => {
    Gateway.writeSecretsFile(gw.secretsFile, { 'demo-api-token': 'demo-upstream-secret-0002' });
    await waitFor(async () => (await gw.request('/ops/status?case=probe-no-secret', { token: alice })).status === 503, 3000, 50);
    const res = await gw.request('/ops/status?case=missing-secret', { token: alice });
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'ERR_SECRET_UNAVAILABLE');
    assert.equal(hit('case=missing-secret'), undefined);
    Gateway.writeSecretsFile(gw.secretsFile, { ...TEST_SECRETS, 'demo-api-token': 'demo-upstream-secret-0002' });
    await waitFor(async () => (await gw.request('/ops/status?case=secret-back', { token: alice })).status === 200, 3000, 50);
  });

  test('ext-proc down: the request fails closed and never reaches the upstream; it recovers on restart', async () => {
    await gw.stopExtProc();
    const res = await gw.request('/api/items?case=proc-down', { token: alice });
    assert.ok(res.status >= 500, `failed closed with ${res.status}`);
    assert.equal(hit('case=proc-down'), undefined);
    await gw.restartExtProc();
    await waitFor(async () => (await gw.request('/api/items?case=proc-back', { token: alice })).status === 200, 5000, 100);
  });

  test('no secret and no caller token appears in any log', async () => {
    const logs = [gw.procLogs.text(), ...gw.replicas.map((r) => `${r.logs.text()}\n${r.decisions.text()}`)].join('\n');
    for (const secret of secretsSeen) assert.ok(!logs.includes(secret), 'a secret leaked into the logs');
    assert.ok(!logs.includes(alice.split('.')[2]!), 'a caller token leaked into the logs');
  });
});

describe('ext-proc scrubs a credential the upstream echoes back', () => {
  let gw: Gateway;

  before(async () => {
    gw = await Gateway.start({ policySource: FIXTURE_POLICIES });
  });
  after(async () => {
    await gw?.stop();
  });

  test('a response header repeating the injected secret is removed before the caller sees it', async () => {
    // The demo upstream never echoes credentials; a careless API might. `x-reflect: authorization`
    // makes the fixture upstream copy that request header into its x-reflected response header.
    const alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    const res = await gw.request('/api/items?case=echo', { token: alice, headers: { 'x-reflect': 'authorization' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-reflected'), null, 'the echoed credential header is scrubbed');
    for (const [, value] of res.headers) assert.ok(!value.includes(TEST_SECRETS['demo-api-token']));
  });
});
