import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkRecord, prepareRecord, recordPolicy, REDACTED } from './prepare-record.ts';
import { sessionRecord } from './store-suite.ts';
import type { SessionRecord } from './types.ts';

const policy = recordPolicy('test', { redactHeaders: ['X-Secret'] });

describe('prepareRecord', () => {
  test('redacts credential headers in any case, keeps the rest, and never changes the input', () => {
    const record = sessionRecord({
      request: { headers: { AUTHORIZATION: 'Bearer t', 'x-secret': 's', 'X-Api-Key': 'k', host: 'api' }, body: { text: '', bytes: 0, truncated: false } },
      response: { headers: { 'SET-COOKIE': 'a=b', cookie: 'c=d', 'proxy-authorization': 'p' }, body: { text: '', bytes: 0, truncated: false } },
    });
    const copy = structuredClone(record);
    const prepared = prepareRecord(record, policy);
    assert.deepEqual(record, copy);
    assert.deepEqual(prepared.request.headers, { AUTHORIZATION: REDACTED, 'x-secret': REDACTED, 'X-Api-Key': REDACTED, host: 'api' });
    assert.deepEqual(prepared.response.headers, { 'SET-COOKIE': REDACTED, cookie: REDACTED, 'proxy-authorization': REDACTED });
  });

  test('drops unknown fields, lower-cases the id, keeps a __proto__ header as a header', () => {
    const record = { ...sessionRecord(), extra: 'field', id: 'ABCDEF01-2345-4789-8BCD-EF0123456789' } as SessionRecord;
    const headers = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    record.request = { headers, body: { text: '', bytes: 0, truncated: false } };
    const prepared = prepareRecord(record, policy);
    assert.equal('extra' in prepared, false);
    assert.equal(prepared.id, 'abcdef01-2345-4789-8bcd-ef0123456789');
    assert.deepEqual(Object.keys(prepared.request.headers), ['__proto__', 'a']);
    assert.equal(Object.getPrototypeOf(prepared.request.headers), Object.prototype);
  });

  test('NUL and lone surrogates become U+FFFD in text fields', () => {
    const prepared = prepareRecord(sessionRecord({ subject: 'a\u0000b', path: '/x\uD800y', request: { headers: { h: 'v\uDC00' }, body: { text: 'ok\uD83D', bytes: 6, truncated: true } } }), policy);
    assert.equal(prepared.subject, 'a\uFFFDb');
    assert.equal(prepared.path, '/x\uFFFDy');
    assert.equal(prepared.request.headers.h, 'v\uFFFD');
    assert.deepEqual(prepared.request.body, { text: 'ok\uFFFD', bytes: 6, truncated: true });
  });

  test('checkRecord names every problem', () => {
    const problems = checkRecord({ id: 1, decision: 'x', status: 'ok', startedAt: -1, endedAt: 1.5, timings: {}, request: null, response: { headers: [], body: {} } });
    for (const field of ['id', 'requestId', 'decision', 'status', 'startedAt', 'endedAt', 'timings.totalMs', 'request must', 'response.headers', 'response.body']) {
      assert.ok(problems.some((p) => p.startsWith(field)), `${field} in ${problems.join('; ')}`);
    }
    assert.deepEqual(checkRecord(sessionRecord()), []);
  });
});
