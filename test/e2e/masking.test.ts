import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gateway, TEST_SECRETS, type GatewayOptions } from '../harness/gateway.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

const PII_PROFILE = {
  name: 'pii',
  recognizers: [
    { use: 'card', strategy: 'keep-last-4' },
    { use: 'email', strategy: 'redact' },
    { use: 'ssn', strategy: 'redact' },
    { use: 'jwt', strategy: 'redact' },
  ],
  binary: 'refuse',
};

/** A gateway over the fixture policies whose demo-api responses are masked with PII_PROFILE. */
function startPiiGateway(options: Omit<GatewayOptions, 'policySource' | 'masking'> = {}): Promise<Gateway> {
  return Gateway.start({ policySource: FIXTURE_POLICIES, masking: { profiles: [PII_PROFILE], targets: { 'demo-api': 'pii' } }, ...options });
}

describe('streaming response masking through real Envoy', () => {
  let gw: Gateway;
  let alice: string;

  before(async () => {
    gw = await startPiiGateway();
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
  });

  /** Asks the upstream to send `chunks` as separate, delayed network writes. */
  const streamed = (marker: string, chunks: string[], headers: Record<string, string> = {}) =>
    gw.request(`/api/stream?case=${marker}`, {
      token: alice,
      headers: { 'x-demo-chunks': JSON.stringify(chunks), 'x-demo-delay-ms': '40', ...headers },
    });

  test('PII split across delayed chunks reaches the caller masked', async () => {
    const res = await streamed('split', [
      '{"name":"Ada","card":"4111 1111 ', '1111 1111","email":"ada.love', 'lace@example.com","ssn":"123-45-', '6789","ok":true}',
    ]);
    assert.equal(res.status, 200);
    assert.ok(!res.text.includes('4111 1111 1111 1111'), res.text);
    assert.match(res.text, /\*{4} \*{4} \*{4} 1111/);
    assert.ok(!res.text.includes('ada.lovelace@example.com'));
    assert.ok(!res.text.includes('123-45-6789'));
    assert.match(res.text, /"ok":true}$/, 'everything else arrives unchanged');
    assert.equal(res.headers.get('content-length'), null, 'the length changed, so it is not announced');
  });

  test('JSON: values hidden behind string escapes are masked as a JSON reader decodes them, split inside an escape too', async () => {
    // "\u0034" is "4", "\u0040" is "@": JSON.parse gives the caller a card and an email the
    // raw bytes do not show.
    const body = '{"card":"\\u0034111 1111 1111 1111","email":"jane\\u0040example.com","ok":true}';
    const cut = body.indexOf('0034') + 2;
    const cut2 = body.indexOf('u0040') + 3;
    const res = await streamed('json-escapes', [body.slice(0, cut), body.slice(cut, cut2), body.slice(cut2)], { 'x-demo-content-type': 'application/json' });
    assert.equal(res.status, 200);
    const parsed = JSON.parse(res.text) as { card: string; email: string; ok: boolean };
    assert.ok(!parsed.card.includes('4111 1111 1111 1111'), res.text);
    assert.match(parsed.card, /1111$/, 'keep-last-4 applied to the decoded value');
    assert.ok(!parsed.email.includes('jane@example.com'), res.text);
    assert.ok(!res.text.includes('jane\\u0040example.com'), res.text);
    assert.equal(parsed.ok, true, 'the rest is intact and the body is still valid JSON');
  });

  test('a gzip-compressed response is decoded and masked, never passed through', async () => {
    const res = await streamed('gzip', ['{"email":"grace@exam', 'ple.com","n":1}'], { 'x-demo-gzip': '1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), null, 'delivered decoded');
    assert.ok(!res.text.includes('grace@example.com'), res.text);
    assert.match(res.text, /"n":1}/);
  });

  test('a Luhn-invalid number is left alone (validators keep false positives down)', async () => {
    const res = await streamed('luhn', ['{"order":"4111 1111 1111 1112"}']);
    assert.match(res.text, /4111 1111 1111 1112/);
  });

  test('a binary body under a refuse profile is not delivered', async () => {
    const res = await streamed('binary', ['\u0000\u0001secret-bytes'], { 'x-demo-content-type': 'application/octet-stream' });
    assert.equal(res.status, 502);
    assert.equal(res.json().error.code, 'ERR_BODY_REFUSED');
    assert.ok(!res.text.includes('secret-bytes'));
  });

  test('server-sent events reach the caller masked as each event is sent, not held for a window', async () => {
    const started = performance.now();
    const response = await fetch(gw.url('/api/stream?case=sse'), {
      headers: {
        authorization: `Bearer ${alice}`, 'x-demo-content-type': 'text/event-stream', 'x-demo-delay-ms': '1500',
        'x-demo-chunks': JSON.stringify(['data: {"card":"4111 1111 1111 1111"}\n\n', 'data: {"email":"sse@example.com"}\n\n']),
      },
    });
    const reader = response.body!.getReader();
    let first = '';
    while (!first.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      first += Buffer.from(value).toString('utf8');
    }
    const firstAt = performance.now() - started;
    assert.equal(first, 'data: {"card":"**** **** **** 1111"}\n\n', 'the whole first event, masked');
    assert.ok(firstAt < 1200, `the first event arrived after ${firstAt.toFixed(0)} ms, before the upstream sent the second (1500 ms)`);
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += Buffer.from(value).toString('utf8');
    }
    assert.equal(rest, 'data: {"email":"[REDACTED:email]"}\n\n');
  });

  test('a gzip bomb is cut off at the decompression limit: the response fails, the bomb is never inflated to the caller', async () => {
    // 16 MiB of spaces gzip to ~16 KiB: a ratio of ~1000, far past the limit of 100 (after 1 MiB of grace).
    const response = await fetch(gw.url('/api/stream?case=bomb'), {
      headers: { authorization: `Bearer ${alice}`, 'x-demo-chunks': JSON.stringify(['{"card":"4111 1111 1111 1111"}']), 'x-demo-gzip': '1', 'x-demo-pad-bytes': String(16 << 20) },
    });
    let received = 0;
    let failed = false;
    try {
      for await (const chunk of response.body!) received += (chunk as Uint8Array).byteLength;
    } catch {
      failed = true;
    }
    assert.ok(failed || response.status >= 500, `the response must not complete normally (status ${response.status}, ${received} bytes)`);
    assert.ok(received < 4 << 20, `at most the grace allowance was delivered, got ${received} bytes`);
    assert.ok(gw.procLogs.lines.some((l) => l.includes('ERR_BODY_DECOMPRESSION_LIMIT')), 'the refusal is logged with its reason');
    const next = await streamed('after-bomb', ['{"card":"4111 1111 1111 1111"}']);
    assert.equal(next.status, 200, 'the next exchange is unaffected');
    assert.match(next.text, /\*{4} 1111/);
  });

  test('targets without a profile stream untouched', async () => {
    const res = await gw.request('/ops/status?case=no-profile', {
      token: alice, headers: { 'x-demo-chunks': JSON.stringify(['{"email":"x@example.com"}']) },
    });
    assert.equal(res.status, 200);
    assert.match(res.text, /x@example\.com/);
  });
});

describe('session recording through real Envoy', () => {
  let gw: Gateway;

  before(async () => {
    gw = await startPiiGateway();
  });
  after(async () => {
    await gw?.stop();
  });

  test('each exchange lands in the session store: identity, decision, status, masked body, no credential', async () => {
    const alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    const res = await gw.request('/api/stream?case=recorded', {
      token: alice,
      headers: {
        'x-demo-chunks': JSON.stringify(['{"card":"4111 1111 ', '1111 1111","email":"eve@example.com"}']), 'x-demo-delay-ms': '20',
        'x-note': 'customer card 5555 5555 5555 4444',
      },
    });
    assert.equal(res.status, 200);
    const plain = await gw.request('/ops/status?case=recorded-unmasked', { token: alice });
    assert.equal(plain.status, 200);
    await gw.proc!.recordingQueue!.flush();

    const { FileSessionStore, httpRequestOf, httpResponseOf } = await import('../../ext-proc/sessions/index.ts');
    const store = await FileSessionStore.open({ dir: gw.sessionsDir, readOnly: true });
    try {
      const { records } = await store.list({ subject: 'alice', protocol: 'http' });
      const path = (r: (typeof records)[number]) => httpRequestOf(r)?.path ?? '';
      const masked = records.find((r) => path(r).includes('case=recorded') && !path(r).includes('unmasked'));
      assert.ok(masked, 'the masked exchange was recorded');
      assert.equal(masked.target, 'demo-api');
      assert.equal(masked.rule, 'engineers-read/read-api');
      assert.equal(masked.outcome, 'completed');
      assert.equal(httpResponseOf(masked)?.status, 200);
      assert.equal(httpRequestOf(masked)?.method, 'GET');
      assert.match(masked.summary, /^GET \/api\/stream\?case=recorded → 200$/);
      assert.deepEqual(masked.events.map((e) => e.kind).filter((kind) => kind !== 'body'), ['http.request', 'http.response', 'end']);
      const response = httpResponseOf(masked)!.body;
      const body = 'text' in response ? response.text : '';
      assert.match(body, /\*{4} \*{4} \*{4} 1111/, 'the record holds the body as delivered: masked');
      assert.ok(!body.includes('eve@example.com'));
      assert.ok(masked.events.some((e) => e.kind === 'body' && e.direction === 'response'), 'chunks are in the replay events');
      assert.match(httpRequestOf(masked)?.headers['x-note'] ?? '', /customer card \*{4} \*{4} \*{4} 4444/, 'PII in request headers is masked in the record too');
      const unmasked = records.find((r) => path(r).includes('case=recorded-unmasked'));
      assert.ok(unmasked, 'an unmasked target is recorded too');
      assert.equal(unmasked.target, 'ops-api');
      const everything = JSON.stringify(records);
      assert.ok(!everything.includes(alice), 'no caller token in session records');
      for (const secret of Object.values(TEST_SECRETS)) assert.ok(!everything.includes(secret), 'no injected secret in session records');
    } finally {
      await store.close();
    }
  });
});

describe('session recording into PostgreSQL through real Envoy', () => {
  const DATABASE_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  let gw: Gateway;

  before(async () => {
    gw = await startPiiGateway({ sessions: { store: 'postgres', databaseUrl: DATABASE_URL } });
  });
  after(async () => {
    await gw?.stop();
  });

  test('the exchange lands in PostgreSQL, masked, without any credential', async () => {
    const subject = `pg-e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const token = await gw.issuer.mint({ sub: subject, groups: ['engineering'] });
    const res = await gw.request('/api/stream?case=pg', { token, headers: { 'x-demo-chunks': JSON.stringify(['{"email":"pg@exa', 'mple.com"}']) } });
    assert.equal(res.status, 200);
    await gw.proc!.recordingQueue!.flush();
    const { PostgresSessionStore, httpResponseOf } = await import('../../ext-proc/sessions/index.ts');
    const store = await PostgresSessionStore.connect({ connectionString: DATABASE_URL });
    try {
      const { records } = await store.list({ subject, outcome: 'completed' });
      assert.equal(records.length, 1);
      const record = records[0]!;
      assert.equal(record.target, 'demo-api');
      assert.equal(httpResponseOf(record)?.status, 200);
      const response = httpResponseOf(record)!.body;
      const body = 'text' in response ? response.text : '';
      assert.ok(body.length > 0 && !body.includes('pg@example.com'), body);
      const everything = JSON.stringify(record);
      assert.ok(!everything.includes(token));
      for (const secret of Object.values(TEST_SECRETS)) assert.ok(!everything.includes(secret));
    } finally {
      await store.close();
    }
  });
});

describe('broken exchanges through real Envoy: upstream dies mid-body, client aborts', () => {
  let gw: Gateway;
  let alice: string;

  before(async () => {
    gw = await startPiiGateway();
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
  });

  /** Reads a response body to its end or its failure. */
  async function drain(response: Response): Promise<{ text: string; failed: boolean }> {
    const parts: Buffer[] = [];
    try {
      for await (const chunk of response.body!) parts.push(Buffer.from(chunk as Uint8Array));
      return { text: Buffer.concat(parts).toString('utf8'), failed: false };
    } catch {
      return { text: Buffer.concat(parts).toString('utf8'), failed: true };
    }
  }

  test('upstream closes mid-body: the caller\'s response fails, the held-back half card never leaks, the record says so', async () => {
    const response = await fetch(gw.url('/api/stream?case=upstream-cut'), {
      headers: {
        authorization: `Bearer ${alice}`,
        // The card's first half is the last thing the upstream sends before it dies.
        'x-demo-chunks': JSON.stringify(['{"a":1,"card":"4111 1111 ']), 'x-demo-delay-ms': '50', 'x-demo-cut': '1',
      },
    });
    const { text, failed } = await drain(response);
    assert.ok(failed || response.status >= 500, `the response must not complete normally (status ${response.status})`);
    assert.ok(!text.includes('4111 1111'), `no part of the card the masker held back reaches the caller: ${text}`);
    await gw.proc!.recordingQueue!.flush();
    const { FileSessionStore, httpRequestOf, httpResponseOf } = await import('../../ext-proc/sessions/index.ts');
    const store = await FileSessionStore.open({ dir: gw.sessionsDir, readOnly: true });
    try {
      const record = (await store.list({ subject: 'alice', outcome: 'incomplete' })).records.find((r) => httpRequestOf(r)?.path.includes('case=upstream-cut'));
      assert.ok(record, 'the broken exchange is recorded, as incomplete');
      assert.equal(httpResponseOf(record)?.status, 200, 'the caller did get the status line before the cut');
      assert.equal(record.events.at(-1)!.kind, 'error');
    } finally {
      await store.close();
    }
    const next = await gw.request('/api/stream?case=after-cut', { token: alice, headers: { 'x-demo-chunks': JSON.stringify(['{"card":"4111 1111 1111 1111"}']) } });
    assert.equal(next.status, 200);
    assert.match(next.text, /\*{4} 1111/);
  });

  test('client aborts mid-stream: ext-proc lets the exchange go and serves the next one', async () => {
    const controller = new AbortController();
    const response = await fetch(gw.url('/api/stream?case=client-abort'), {
      signal: controller.signal,
      headers: {
        authorization: `Bearer ${alice}`,
        'x-demo-pad-bytes': String(64 * 1024),
        'x-demo-chunks': JSON.stringify(['{"x":1,', '"card":"4111 1111 1111 1111"}']), 'x-demo-delay-ms': '400',
      },
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await assert.rejects(reader.read());
    await gw.proc!.recordingQueue!.flush();
    const next = await gw.request('/api/stream?case=after-abort', { token: alice, headers: { 'x-demo-chunks': JSON.stringify(['{"email":"x@example.com"}']) } });
    assert.equal(next.status, 200);
    assert.ok(!next.text.includes('x@example.com'));
    assert.ok(!gw.procLogs.lines.some((l) => l.includes('"level":50') && l.includes('client-abort')), 'no error logged for an ordinary client abort');
  });
});

describe('ext-proc restarted mid-stream', () => {
  let gw: Gateway;

  before(async () => {
    gw = await startPiiGateway();
  });
  after(async () => {
    await gw?.stop();
  });

  test('the affected response fails, no unmasked byte reaches the caller, and the next request succeeds', async () => {
    const alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    const response = await fetch(gw.url('/api/stream?case=restart-mid-stream'), {
      headers: {
        authorization: `Bearer ${alice}`,
        // 64 KiB of padding first: more than the masker's window, so part of it is delivered
        // before the crash, while the card is still upstream.
        'x-demo-pad-bytes': String(64 * 1024),
        'x-demo-chunks': JSON.stringify(['{"intro":"hello",', '"card":"4111 1111 1111 1111","email":"mid@example.com"}']),
        'x-demo-delay-ms': '600',
      },
    });
    assert.equal(response.status, 200, 'headers were already on their way');
    const reader = response.body!.getReader();
    const received: Buffer[] = [];
    const first = await reader.read();
    if (first.value) received.push(Buffer.from(first.value));
    await gw.stopExtProc({ crash: true }); // the second chunk (with the card) is still upstream
    let failed = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        received.push(Buffer.from(value));
      }
    } catch {
      failed = true;
    }
    const text = Buffer.concat(received).toString('utf8');
    assert.ok(!text.includes('4111 1111 1111 1111'), 'no unmasked card reached the caller');
    assert.ok(!text.includes('mid@example.com'), 'no unmasked email reached the caller');
    assert.ok(failed || !text.endsWith('}'), 'the affected response did not complete normally');

    await gw.restartExtProc();
    const next = await gw.request('/api/stream?case=after-restart', { token: alice, headers: { 'x-demo-chunks': JSON.stringify(['{"card":"4111 1111 1111 1111"}']) } });
    assert.equal(next.status, 200);
    assert.match(next.text, /\*{4} \*{4} \*{4} 1111/);
  });
});
