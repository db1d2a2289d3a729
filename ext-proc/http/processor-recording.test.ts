import assert from 'node:assert/strict';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { parseConfig } from '../../common/config.ts';
import { encodeDecision, HTTP_DECISION_NAMESPACE } from '../../common/decision-metadata.ts';
import { silentLogger } from '../../common/logger.ts';
import type { ProtoStruct, ProtoValue } from '../../common/struct.ts';
import { compileCredentials } from '../credentials.ts';
import { compileMaskingPlans } from '../masking-plans.ts';
import { SecretVersions } from '../secrets/secret-versions.ts';
import { checkRecord, httpRequestOf, httpResponseOf, type RecordingQueue, type SessionRecord } from '../sessions/index.ts';
import { HttpExchangeProcessor } from './processor.ts';

const SECRET = 'upstream-secret-value-0001';
const CARD = '4111 1111 1111 1111';
const EMAIL = 'jane.doe@example.com';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW5vdC1jaGVja2Vk';

const config = parseConfig(JSON.stringify({
  targets: ['orders-api', 'open-api', 'locked-api'].map((name) => ({ name, endpoints: ['127.0.0.1:9'], http: { pathPrefix: `/${name}/` } })),
  extProc: {
    credentials: [{ target: 'orders-api', secret: 'orders-key' }, { target: 'locked-api', secret: 'missing-key' }],
    masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }, { use: 'email', strategy: 'redact' }] }], targets: { 'orders-api': 'pii' } },
    sessions: { store: 'off' },
  },
}), path.join(tmpdir(), 'sluice.yaml'));

/** An ext_proc HeaderMap: one entry per header line, as Envoy sends a repeated header. */
const headerMap = (lines: [string, string][]) => ({ headers: lines.map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) });
/** ext-authz's decision as Envoy forwards it and proto-loader decodes it (oneofs name each value's kind). */
const metadata = (target: string, masking: string | null) => ({
  filter_metadata: {
    [HTTP_DECISION_NAMESPACE]: decoded(encodeDecision({
      v: 1, protocol: 'http', sessionId: '6f1c1f6e-34b5-4d8e-9a51-1d2b3c4d5e6f', requestId: 'req-1', target, rule: 'p/r',
      subject: 'alice', issuer: 'dev', groups: [], approvalId: null, masking,
    })),
  },
});
const decoded = (struct: ProtoStruct): unknown => ({ fields: Object.fromEntries(Object.entries(struct.fields).map(([key, value]) => [key, decodedValue(value)])) });
const decodedValue = (value: ProtoValue): unknown => {
  const [kind, inner] = Object.entries(value)[0] as [string, any];
  return { kind, [kind]: kind === 'structValue' ? decoded(inner) : kind === 'listValue' ? { values: inner.values.map(decodedValue) } : inner };
};

/** A processor whose records land in `records` (the queue always has room). */
function processor(records: SessionRecord[]) {
  const queue = { canAccept: () => true, offer: (record: SessionRecord) => (records.push(record), true), stats: () => ({}) } as unknown as RecordingQueue;
  return processorOn(queue);
}

/** A processor recording into `queue`; `storedWithinMs` as recording-setup.ts gives it (0: no wait). */
function processorOn(queue: RecordingQueue, storedWithinMs = 0) {
  const secrets = { get: (name: string) => (name === 'orders-key' ? SECRET : undefined), close: async () => {} };
  return new HttpExchangeProcessor({
    credentials: compileCredentials(config.extProc.credentials, secrets),
    masking: compileMaskingPlans(config.extProc.masking, secrets),
    secrets,
    versions: new SecretVersions(secrets, Buffer.alloc(32, 7)),
    removeRequestHeaders: [],
    logger: silentLogger(),
    recording: { queue, maxBodyBytes: 4096, storedWithinMs },
  });
}

/** Every header the answer sets or removes, by name. */
const touched = (answer: any, phase: string): string[] => {
  const mutation = answer?.[phase]?.response?.header_mutation ?? {};
  return [...(mutation.set_headers ?? []).map((h: any) => h.header.key), ...(mutation.remove_headers ?? [])];
};

const REQUEST: [string, string][] = [
  [':method', 'GET'], [':path', `/orders-api/by-mail/${EMAIL}`],
  ['authorization', `Bearer ${TOKEN}`],
  ['x-card', CARD], ['x-card', '5500-0000-0000-0004'],
  ['x-contact', `Jane <${EMAIL}>`],
  ['accept', 'application/json'],
];

async function exchange(target: string, masking: string | null) {
  const records: SessionRecord[] = [];
  const p = processor(records);
  const [requestAnswer] = await p.handle({ request: 'request_headers', request_headers: { headers: headerMap(REQUEST), end_of_stream: true }, metadata_context: metadata(target, masking) });
  const [responseAnswer] = await p.handle({ request: 'response_headers', response_headers: { headers: headerMap([[':status', '200'], ['x-reflected', EMAIL], ['content-type', 'text/plain']]), end_of_stream: true } });
  p.close(false);
  assert.equal(records.length, 1);
  const record = records[0]!;
  assert.deepEqual(checkRecord(record), []);
  return { record, requestAnswer, responseAnswer };
}

describe('HTTP session records: headers under the exchange\'s masking profile', () => {
  test('request and response header values are masked in the record and counted by recognizer; what travels is untouched', async () => {
    const { record, requestAnswer, responseAnswer } = await exchange('orders-api', 'pii');
    // The caller's own headers go upstream as sent: only its credential is replaced by the target's.
    assert.deepEqual(touched(requestAnswer, 'request_headers'), ['authorization']);
    assert.deepEqual(touched(responseAnswer, 'response_headers'), [], 'response headers reach the caller as the upstream sent them');
    const request = httpRequestOf(record)!;
    assert.deepEqual(request.headers, {
      authorization: '[redacted]',
      'x-card': '**** **** **** 1111,****-****-****-0004',
      'x-contact': 'Jane <[REDACTED:email]>',
      accept: 'application/json',
    });
    assert.equal(request.path, '/orders-api/by-mail/[REDACTED:email]');
    assert.deepEqual(httpResponseOf(record)!.headers, { 'x-reflected': '[REDACTED:email]', 'content-type': 'text/plain' });
    assert.deepEqual(record.masking, {
      profile: 'pii',
      request: { masked: {}, delivered: false, recordedTruncated: false, headers: { card: 2, email: 2 } },
      response: { masked: {}, delivered: true, recordedTruncated: false, headers: { email: 1 } },
    });
    const everything = JSON.stringify(record);
    for (const leak of [CARD, '5500-0000-0000-0004', EMAIL, TOKEN, SECRET]) assert.equal(everything.includes(leak), false, leak);
  });

  test('without a profile the record keeps header values as sent, credentials redacted, and counts nothing', async () => {
    const { record } = await exchange('open-api', null);
    assert.deepEqual(httpRequestOf(record)!.headers, { authorization: '[redacted]', 'x-card': `${CARD},5500-0000-0000-0004`, 'x-contact': `Jane <${EMAIL}>`, accept: 'application/json' });
    assert.deepEqual(httpResponseOf(record)!.headers, { 'x-reflected': EMAIL, 'content-type': 'text/plain' });
    assert.equal('headers' in record.masking!.request, false);
    assert.equal('headers' in record.masking!.response, false);
  });

  test('an exchange refused after admission records its request headers masked too', async () => {
    const records: SessionRecord[] = [];
    const p = processor(records);
    const [answer] = await p.handle({ request: 'request_headers', request_headers: { headers: headerMap(REQUEST), end_of_stream: true }, metadata_context: metadata('locked-api', 'pii') });
    assert.ok(answer?.immediate_response, 'the secret is missing: refused');
    p.close(false);
    const record = records[0]!;
    assert.equal(record.outcome, 'refused');
    assert.equal(httpRequestOf(record)!.headers['x-contact'], 'Jane <[REDACTED:email]>');
    assert.deepEqual(record.masking!.request.headers, { card: 2, email: 2 });
    assert.equal('headers' in record.masking!.response, false, 'the gateway\'s own answer masks nothing');
  });
});

describe('HTTP session records are stored before the answer that completes the exchange', () => {
  /** A queue that takes records at once and reports them out of the process only when the test says so. */
  function heldQueue() {
    const records: SessionRecord[] = [];
    const outs: (() => void)[] = [];
    const queue = {
      canAccept: () => true,
      offer: (record: SessionRecord, out?: () => void) => {
        records.push(record);
        if (out) outs.push(out);
        return true;
      },
      stats: () => ({}),
    } as unknown as RecordingQueue;
    return { queue, records, outs, release: () => outs.forEach((out) => out()) };
  }

  async function upToLastChunk(p: HttpExchangeProcessor) {
    await p.handle({ request: 'request_headers', request_headers: { headers: headerMap([[':method', 'GET'], [':path', '/orders-api/x']]), end_of_stream: true }, metadata_context: metadata('orders-api', 'pii') });
    await p.handle({ request: 'response_headers', response_headers: { headers: headerMap([[':status', '200'], ['content-type', 'text/plain']]), end_of_stream: false } });
    await p.handle({ request: 'response_body', response_body: { body: Buffer.from(`card ${CARD} `), end_of_stream: false } });
  }

  test('the last body chunk is answered only once the record is stored, and the record is handed over once', async () => {
    const held = heldQueue();
    const p = processorOn(held.queue, 5000);
    await upToLastChunk(p);
    assert.equal(held.records.length, 0, 'nothing is recorded before the exchange completes');
    let answered = false;
    const last = p.handle({ request: 'response_body', response_body: { body: Buffer.from(`mail ${EMAIL}`), end_of_stream: true } }).then((answers) => { answered = true; return answers; });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(held.records.length, 1, 'the record is queued as the last chunk arrives');
    assert.equal(held.records[0]!.outcome, 'completed');
    assert.equal(answered, false, 'the caller does not get the last chunk while the record is not stored');
    const releasedAt = performance.now();
    held.release();
    const answers = await last;
    assert.ok(performance.now() - releasedAt < 1000, 'the answer went out when the record left the process, not at the bound');
    assert.equal(answered, true);
    const body = Buffer.from(answers.map((a: any) => a.response_body?.response?.body_mutation?.body ?? '').join('')).toString();
    assert.equal(body.includes(EMAIL), false, 'the held chunk is still masked');
    assert.equal(p.finished, true);
    p.close(false);
    assert.equal(held.records.length, 1, 'close() after a completed exchange does not record it twice');
  });

  test('a store that does not answer within the bound leaves the record queued and the answer goes out', async () => {
    const held = heldQueue();
    const p = processorOn(held.queue, 60);
    await upToLastChunk(p);
    const started = performance.now();
    await p.handle({ request: 'response_body', response_body: { body: Buffer.from('end'), end_of_stream: true } });
    const waited = performance.now() - started;
    assert.ok(waited >= 55 && waited < 1000, `waited ${waited.toFixed(0)} ms for a bound of 60 ms`);
    assert.equal(held.records.length, 1, 'the record stays with the queue');
    assert.equal(held.outs.length, 1, 'the exchange waited on its own record');
  });

  test('without a bound (onFull: drop) the answer does not wait for the store', async () => {
    const held = heldQueue();
    const p = processorOn(held.queue, 0);
    await upToLastChunk(p);
    await p.handle({ request: 'response_body', response_body: { body: Buffer.from('end'), end_of_stream: true } });
    assert.equal(held.records.length, 1);
  });
});
