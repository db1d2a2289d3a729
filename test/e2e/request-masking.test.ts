import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Gateway, TEST_SECRETS } from '../harness/gateway.ts';
import { httpRequestOf, httpResponseOf } from '../../ext-proc/sessions/index.ts';
import type { ReloadResult } from '../../ext-authz/policy/index.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

const RECOGNIZERS = [
  { use: 'card', strategy: 'keep-last-4' },
  { use: 'email', strategy: 'redact' },
  { use: 'ssn', strategy: 'redact' },
];
/** The operator's default for demo-api: responses only. */
const PII = { name: 'pii', recognizers: RECOGNIZERS, binary: 'refuse' };
/** Named by the uploads policy below: request bodies are masked on their way upstream too. */
const PII_IN = { name: 'pii-in', recognizers: RECOGNIZERS, binary: 'refuse', requestBodies: true };

const UPLOADS_POLICY = `policies:
  - name: uploads
    targets: [demo-api]
    subjects:
      - users: [alice]
    rules:
      - name: upload
        effect: allow
        methods: [POST, PUT]
        paths: ["/upload/**"]
        masking: pii-in
`;

const CARD = '4111 1111 1111 1111';

describe('masking profiles chosen by policy, and request bodies, through real Envoy', () => {
  let gw: Gateway;
  let alice: string;

  before(async () => {
    gw = await Gateway.start({
      policySource: FIXTURE_POLICIES,
      masking: { profiles: [PII, PII_IN], targets: { 'demo-api': 'pii' } },
      extraPolicies: { 'uploads.yaml': UPLOADS_POLICY },
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
  });

  const lastSeen = (fragment: string) => [...gw.upstream.seen].reverse().find((s) => s.path.includes(fragment));

  test('a rule naming a profile with requestBodies masks the upload before the upstream sees it', async () => {
    const body = JSON.stringify({ note: 'pay with', card: CARD, email: 'ada@example.com', n: 1 });
    const res = await gw.request('/upload/one?case=req-mask', { method: 'POST', token: alice, body, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200, res.text);
    const seen = lastSeen('case=req-mask');
    assert.ok(seen, 'the upstream got the request');
    assert.ok(!seen.body.includes(CARD), seen.body);
    assert.ok(!seen.body.includes('ada@example.com'), seen.body);
    assert.match(seen.body, /\*{4} \*{4} \*{4} 1111/);
    assert.match(seen.body, /"n":1}$/, 'the rest arrives unchanged');
    assert.equal(seen.headers['content-length'], undefined, 'the original length is not announced for a changed body');
  });

  test('an upload streamed in 1-byte chunks is still masked', async () => {
    const text = JSON.stringify({ card: CARD, ssn: '123-45-6789' });
    const bytes = Buffer.from(text);
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (i >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(i, i + 1));
        i += 1;
        if (i % 8 === 0) await new Promise((r) => setTimeout(r, 1));
      },
    });
    const res = await fetch(gw.url('/upload/bytes?case=req-1byte'), {
      method: 'PUT', body: stream, duplex: 'half', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    } as RequestInit);
    assert.equal(res.status, 200, await res.text());
    const seen = lastSeen('case=req-1byte');
    assert.ok(seen);
    assert.ok(!seen.body.includes(CARD) && !seen.body.includes('123-45-6789'), seen.body);
    assert.match(seen.body, /\*{4} \*{4} \*{4} 1111/);
  });

  test('a 1-byte body and an empty body pass', async () => {
    const one = await gw.request('/upload/x?case=req-1', { method: 'POST', token: alice, body: '7', headers: { 'content-type': 'text/plain' } });
    assert.equal(one.status, 200, one.text);
    assert.equal(lastSeen('case=req-1')?.body, '7');
    const empty = await gw.request('/upload/x?case=req-0', { method: 'POST', token: alice, body: '', headers: { 'content-type': 'text/plain' } });
    assert.equal(empty.status, 200, empty.text);
  });

  test('a gzip-encoded upload is decoded and masked, never passed through encoded', async () => {
    const res = await fetch(gw.url('/upload/gz?case=req-gzip'), {
      method: 'POST',
      body: gzipSync(JSON.stringify({ email: 'grace@example.com', card: CARD })),
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    assert.equal(res.status, 200, await res.text());
    const seen = lastSeen('case=req-gzip');
    assert.ok(seen);
    assert.equal(seen.headers['content-encoding'], undefined, 'delivered decoded');
    assert.ok(!seen.body.includes('grace@example.com') && !seen.body.includes(CARD), seen.body);
  });

  test('a binary upload under a refuse profile is stopped (415) and never reaches the upstream', async () => {
    const before = gw.upstream.seen.length;
    const res = await fetch(gw.url('/upload/bin?case=req-binary'), {
      method: 'POST', body: Buffer.from([0, 1, 2, 3, 0xff]), headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.status, 415);
    assert.equal((await res.json() as { error: { code: string } }).error.code, 'ERR_REQUEST_BODY_REFUSED');
    assert.equal(gw.upstream.seen.length, before);
    await gw.proc!.recordingQueue!.flush();
    const record = await gw.recordFor('case=req-binary', { subject: 'alice' });
    assert.equal(record.outcome, 'refused', 'the record says what the caller got: a refusal');
    const response = httpResponseOf(record)!;
    assert.equal(response.status, 415);
    assert.match('text' in response.body ? response.body.text : '', /ERR_REQUEST_BODY_REFUSED/);
    assert.deepEqual(record.events.at(-1), { at: record.endedAt, kind: 'error', code: 'ERR_REQUEST_BODY_REFUSED', reason: 'the request body cannot be sent under this target\'s masking profile' });
  });

  test('a target\'s default profile (responses only) leaves uploads unmasked upstream but masks them in the record', async () => {
    const body = JSON.stringify({ order: 1, card: CARD });
    const res = await gw.request('/api/orders?case=req-default', { method: 'POST', token: alice, body, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(lastSeen('case=req-default')?.body, body, 'pii masks responses only: the upstream gets the order as sent');
    await gw.proc!.recordingQueue!.flush();
    const record = await gw.recordFor('case=req-default', { subject: 'alice' });
    const request = httpRequestOf(record)!.body;
    const recorded = 'text' in request ? request.text : '';
    assert.ok(!recorded.includes(CARD), recorded);
    assert.match(recorded, /\*{4} \*{4} \*{4} 1111/, 'the record keeps a masked copy of the request body');
    assert.equal(request.bytes, body.length);
    assert.ok(record.events.some((e) => e.kind === 'body' && e.direction === 'request'), 'the upload is in the replay events');
    assert.equal(record.outcome, 'completed');
  });

  test('a masked upload is recorded as delivered upstream', async () => {
    await gw.proc!.recordingQueue!.flush();
    const record = await gw.recordFor('case=req-mask', { subject: 'alice' });
    const request = httpRequestOf(record)!.body;
    const recorded = 'text' in request ? request.text : '';
    assert.match(recorded, /\*{4} \*{4} \*{4} 1111/);
    assert.equal(record.rule, 'uploads/upload');
    const everything = JSON.stringify(record);
    assert.ok(!everything.includes(CARD) && !everything.includes(alice));
    for (const secret of Object.values(TEST_SECRETS)) assert.ok(!everything.includes(secret));
  });

  test('a policy naming an unknown masking profile is rejected at load (file and line); the old policy stays live', async () => {
    const store = gw.replicas[0]!.service!.policies;
    const reloaded = new Promise<ReloadResult>((resolve) => {
      const off = store.onReload((result) => {
        off();
        resolve(result);
      });
    });
    writeFileSync(path.join(gw.policyDir, 'uploads.yaml'), UPLOADS_POLICY.replace('masking: pii-in', 'masking: pii-typo'));
    const result = await reloaded;
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.match(result.error.message, /uploads\.yaml:11:\d+/);
      assert.match(result.error.message, /unknown masking profile "pii-typo"/);
    }
    assert.ok(gw.logs.lines.some((l) => l.includes('pii-typo')), 'the error is logged');
    const res = await gw.request('/upload/one?case=after-typo', { method: 'POST', token: alice, body: JSON.stringify({ card: CARD }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    assert.ok(!lastSeen('case=after-typo')!.body.includes(CARD), 'the last good policy (with pii-in) is still applied');
  });
});

describe('an upload of 1 GB through Envoy + ext-proc (request masking on)', () => {
  let gw: Gateway;

  before(async () => {
    gw = await Gateway.start({
      policySource: FIXTURE_POLICIES,
      masking: { profiles: [PII_IN], targets: {} },
      extraPolicies: { 'uploads.yaml': UPLOADS_POLICY },
    });
  });
  after(async () => {
    await gw?.stop();
  });

  test('streams through in bounded memory; not one raw card number reaches the upstream', async () => {
    const alice = await gw.issuer.mint({ sub: 'alice' });
    // 64 KiB blocks, each a JSON-ish line with a card number; 16,384 of them = 1 GiB.
    const line = Buffer.from(`{"card":"${CARD}","pad":"${'x'.repeat(64 * 1024 - 40)}"}\n`);
    const blocks = 16_384;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === blocks) return controller.close();
        controller.enqueue(line);
        sent += 1;
      },
    }, { highWaterMark: 4 });
    const rssBefore = process.memoryUsage().rss;
    const res = await fetch(gw.url('/upload/big?case=1g'), {
      method: 'POST', body, duplex: 'half',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/x-ndjson', 'x-demo-count': CARD },
    } as RequestInit);
    const answer = await res.json() as { bytes: number; found: number };
    assert.equal(res.status, 200);
    assert.equal(answer.found, 0, 'no raw card number reached the upstream');
    // keep-last-4 keeps the length: every byte arrives.
    assert.equal(answer.bytes, line.length * blocks);
    // ext-proc runs in this process here: it must not have buffered the body.
    assert.ok(process.memoryUsage().rss - rssBefore < 256 * 1024 * 1024, 'memory stayed bounded');
  });
});
