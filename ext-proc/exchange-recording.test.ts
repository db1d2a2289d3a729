import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { ExchangeRecording } from './exchange-recording.ts';
import { compileProfile } from './masking/index.ts';
import { checkRecord, httpRequestOf, httpResponseOf } from './sessions/index.ts';

const T0 = Date.UTC(2025, 0, 1);
const decision = { v: 1, protocol: 'http', sessionId: randomUUID(), requestId: 'req-1', target: 'orders-api', rule: 'prod/allow', subject: 'alice', issuer: 'corp', groups: [], approvalId: null, masking: null } as const;

const PII = compileProfile({ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }, { use: 'email', strategy: 'redact' }] });

function recording(audit: ConstructorParameters<typeof ExchangeRecording>[4] = { credential: undefined, profile: undefined }, maxBodyBytes = 1024, headers: Record<string, string> = {}): ExchangeRecording {
  return new ExchangeRecording(decision, { method: 'POST', path: '/orders', headers: { ':method': 'POST', 'content-type': 'application/json', ...headers } }, T0, maxBodyBytes, audit);
}

describe('ExchangeRecording', () => {
  test('the record names the credential and carries the masking report, also for bodies it does not keep', () => {
    const credential = { target: 'orders-api', kind: 'secret' as const, secret: { name: 'orders-key', version: 'v1:0123456789abcdef' } };
    const r = recording({ credential, profile: PII }, 0);
    r.bodySink('request', () => T0).push(Buffer.from('{"email":"a@b.example"}'));
    r.onMasking('request', { masked: { email: 1 }, delivered: false });
    r.onResponseHeaders({ ':status': '200' }, T0 + 1);
    r.bodySink('response', () => T0 + 2).push(Buffer.from('card [REDACTED:card]'));
    r.onMasking('response', { masked: { card: 1 }, delivered: true });
    const record = r.finish(T0 + 3, false);
    assert.deepEqual(checkRecord(record), []);
    assert.deepEqual(record.credential, credential);
    assert.deepEqual(record.masking, {
      profile: 'pii',
      request: { masked: { email: 1 }, delivered: false, recordedTruncated: true },
      response: { masked: { card: 1 }, delivered: true, recordedTruncated: true },
    });
    const bare = recording().finish(T0, false);
    assert.equal(bare.credential, undefined);
    assert.deepEqual(bare.masking, { profile: null, request: { masked: {}, delivered: false, recordedTruncated: false }, response: { masked: {}, delivered: false, recordedTruncated: false } });
  });

  test('a completed exchange: http.request with its body, chunks, http.response, end', () => {
    const r = recording();
    const now = () => T0 + 5;
    r.bodySink('request', now).push(Buffer.from('{"a":1}'));
    r.onResponseHeaders({ ':status': '201', 'x-up': '1' }, T0 + 10);
    r.bodySink('response', () => T0 + 11).push(Buffer.from('ok'));
    const record = r.finish(T0 + 12, false);
    assert.deepEqual(checkRecord(record), []);
    assert.equal(record.outcome, 'completed');
    assert.equal(record.summary, 'POST /orders → 201');
    assert.deepEqual(record.events.map((e) => e.kind), ['http.request', 'body', 'http.response', 'body', 'end']);
    assert.deepEqual(httpRequestOf(record), { at: T0, kind: 'http.request', method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: { text: '{"a":1}', bytes: 7, truncated: false } });
    assert.deepEqual(httpResponseOf(record), { at: T0 + 10, kind: 'http.response', status: 201, headers: { 'x-up': '1' }, body: { text: 'ok', bytes: 2, truncated: false } });
  });

  test('cut mid-body: incomplete, the status the caller got, an error last', () => {
    const r = recording();
    r.onResponseHeaders({ ':status': '200' }, T0 + 10);
    r.bodySink('response', () => T0 + 11).push(Buffer.from('par'));
    const record = r.finish(T0 + 20, true);
    assert.equal(record.outcome, 'incomplete');
    assert.equal(httpResponseOf(record)?.status, 200);
    assert.deepEqual(record.events.at(-1), { at: T0 + 20, kind: 'error', reason: 'the exchange ended before the response did' });
  });

  test('refused: the gateway\'s response replaces the upstream\'s, whatever became of the stream', () => {
    const r = recording();
    r.onResponseHeaders({ ':status': '200', 'x-up': '1' }, T0 + 10);
    r.refuse({ code: 'ERR_BODY_REFUSED', reason: 'no', status: 502, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"error":{}}') }, T0 + 11);
    const record = r.finish(T0 + 12, true);
    assert.deepEqual(checkRecord(record), []);
    assert.equal(record.outcome, 'refused');
    assert.equal(record.summary, 'POST /orders → 502');
    assert.deepEqual(record.events.filter((e) => e.kind === 'http.response'), [
      { at: T0 + 11, kind: 'http.response', status: 502, headers: { 'content-type': 'application/json' }, body: { text: '{"error":{}}', bytes: 12, truncated: false } },
    ]);
    assert.deepEqual(record.events.at(-1), { at: T0 + 12, kind: 'error', code: 'ERR_BODY_REFUSED', reason: 'no' });
  });

  test('header values are masked with the profile in the record and counted per direction; a refusal drops the upstream\'s', () => {
    const r = recording({ credential: undefined, profile: PII }, 1024, { 'x-card': '4111 1111 1111 1111', authorization: 'Bearer a@b.example' });
    r.onResponseHeaders({ ':status': '200', 'x-owner': 'jane@example.com', 'x-up': '1' }, T0 + 1);
    const record = r.finish(T0 + 2, false);
    assert.deepEqual(checkRecord(record), []);
    assert.deepEqual(httpRequestOf(record)?.headers, { 'content-type': 'application/json', 'x-card': '**** **** **** 1111', authorization: '[redacted]' });
    assert.deepEqual(httpResponseOf(record)?.headers, { 'x-owner': '[REDACTED:email]', 'x-up': '1' });
    assert.deepEqual(record.masking?.request.headers, { card: 1 });
    assert.deepEqual(record.masking?.response.headers, { email: 1 });

    const refused = recording({ credential: undefined, profile: PII }, 1024, { 'x-card': '4111 1111 1111 1111' });
    refused.onResponseHeaders({ ':status': '200', 'x-owner': 'jane@example.com' }, T0 + 1);
    refused.refuse({ code: 'ERR_BODY_REFUSED', reason: 'no', status: 502, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') }, T0 + 2);
    const after = refused.finish(T0 + 3, false);
    assert.deepEqual(after.masking?.request.headers, { card: 1 });
    assert.equal('headers' in after.masking!.response, false, 'the caller got the gateway\'s headers');
  });

  test('past 256 events, chunks merge into the last event of their direction', () => {
    const r = recording();
    const sink = r.bodySink('response', () => T0 + 1);
    for (let i = 0; i < 1000; i += 1) sink.push(Buffer.from('x'));
    const record = r.finish(T0 + 2, false);
    assert.equal(record.events.length, 257);
    const chunks = record.events.filter((e) => e.kind === 'body');
    assert.equal(chunks.reduce((sum, e) => sum + e.bytes, 0), 1000);
  });
});
