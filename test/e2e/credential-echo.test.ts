import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gateway, TEST_SECRETS } from '../harness/gateway.ts';
import type { SessionRecord } from '../../ext-proc/sessions/index.ts';
import { CREDENTIAL_MARKER } from '../../ext-proc/http/credential-scrubber.ts';
import { CREDENTIAL_ENTRY } from '../../ext-proc/http/masked-body.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const PII_PROFILE = { name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }], binary: 'refuse' };
const CARD = '4111 1111 1111 1111';

/**
 * An upstream that answers its request headers verbatim in its JSON body (`x-demo-echo-headers: 1`)
 * hands back the credential ext-proc injected: demo-api (bearer, no masking profile) and ops-api
 * (API key, masked with a profile) must both deliver and record the body without it.
 */
describe('ext-proc scrubs the injected credential from echoing response bodies', () => {
  let gw: Gateway;
  let alice: string;

  before(async () => {
    gw = await Gateway.start({ policySource: FIXTURE_POLICIES, masking: { profiles: [PII_PROFILE], targets: { 'ops-api': 'pii' } } });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
  });

  const echo = (path: string, headers: Record<string, string> = {}) => gw.request(path, { token: alice, headers: { 'x-demo-echo-headers': '1', 'x-note': 'kept as is', ...headers } });
  const seen = (marker: string) => gw.upstream.seen.find((r) => r.path.includes(marker));

  const recordOf = (marker: string): Promise<SessionRecord> => gw.recordFor(marker);

  const responseBodyOf = (record: SessionRecord): string => {
    const response = record.events.find((e) => e.kind === 'http.response') as { body: { text: string } } | undefined;
    return response?.body.text ?? '';
  };

  test('a target with no masking profile: the echoed bearer is replaced, the rest is intact, the record holds no secret', async () => {
    const secret = TEST_SECRETS['demo-api-token'];
    const res = await echo('/api/items?case=echo-plain');
    assert.equal(res.status, 200);
    assert.equal(seen('case=echo-plain')!.headers.authorization, `Bearer ${secret}`, 'the upstream did get the real credential');
    assert.ok(!res.text.includes(secret), res.text);
    const body = res.json();
    assert.equal(body.headers.authorization, `Bearer ${CREDENTIAL_MARKER}`);
    assert.equal(body.headers['x-note'], 'kept as is');
    assert.equal(body.path, '/api/items?case=echo-plain');

    const record = await recordOf('case=echo-plain');
    assert.ok(!JSON.stringify(record).includes(secret), 'the record never holds the secret');
    assert.ok(responseBodyOf(record).includes(CREDENTIAL_MARKER), 'the record keeps what the caller got');
    assert.equal(record.masking?.profile, null);
    assert.equal(record.masking?.response.masked[CREDENTIAL_ENTRY], 1);
    assert.equal(record.masking?.response.delivered, true);
  });

  test('a target with a masking profile: the echoed API key is replaced and the profile still masks', async () => {
    const secret = TEST_SECRETS['ops-api-key'];
    const res = await echo('/ops/status?case=echo-masked', { 'x-card': CARD });
    assert.equal(res.status, 200);
    assert.equal(seen('case=echo-masked')!.headers['x-api-key'], secret);
    assert.ok(!res.text.includes(secret), res.text);
    const body = res.json();
    assert.equal(body.headers['x-api-key'], CREDENTIAL_MARKER);
    assert.match(body.headers['x-card'], /\*{4} \*{4} \*{4} 1111/, 'the profile\'s masking still applies');
    assert.equal(body.headers['x-note'], 'kept as is');

    const record = await recordOf('case=echo-masked');
    assert.ok(!JSON.stringify(record).includes(secret));
    assert.ok(!JSON.stringify(record).includes(CARD));
    assert.equal(record.masking?.profile, 'pii');
    assert.equal(record.masking?.response.masked[CREDENTIAL_ENTRY], 1);
  });

  test('a gzip-encoded echo is decoded and scrubbed, never passed encoded', async () => {
    const secret = TEST_SECRETS['demo-api-token'];
    const res = await echo('/api/items?case=echo-gzip', { 'x-demo-gzip': '1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), null, 'delivered decoded');
    assert.ok(!res.text.includes(secret), res.text);
    assert.equal(res.json().headers.authorization, `Bearer ${CREDENTIAL_MARKER}`);
    assert.ok(!JSON.stringify(await recordOf('case=echo-gzip')).includes(secret));
  });

  test('a response without an echo is delivered unchanged', async () => {
    const res = await gw.request('/api/items?case=no-echo', { token: alice });
    assert.equal(res.status, 200);
    assert.ok(!res.text.includes(CREDENTIAL_MARKER));
    assert.match(res.json().headers.authorization, /^\[received, fingerprint sha256:[0-9a-f]{12}\]$/);
  });

  test('each echo is logged as a warning that names the exchange, never the secret', () => {
    const logs = gw.procLogs.text();
    assert.match(logs, /upstream echoed the injected credential in the response body/);
    for (const secret of Object.values(TEST_SECRETS)) assert.ok(!logs.includes(secret), 'a secret leaked into the logs');
  });
});
