import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { httpRequestOf, httpResponseOf } from './http-events.ts';
import { checkRecord, prepareRecord, recordPolicy, REDACTED } from './prepare-record.ts';
import { sessionRecord, T0 } from './store-suite.ts';
import type { SessionRecord } from './types.ts';

const policy = recordPolicy('test', { redactHeaders: ['X-Secret'] });

describe('prepareRecord', () => {
  test('redacts credential headers of every http event in any case, keeps the rest, and never changes the input', () => {
    const record = sessionRecord({
      request: { headers: { AUTHORIZATION: 'Bearer t', 'x-secret': 's', 'X-Api-Key': 'k', host: 'api' } },
      response: { headers: { 'SET-COOKIE': 'a=b', cookie: 'c=d', 'proxy-authorization': 'p' } },
    });
    // A second response (a refusal recorded after the upstream's): redacted too.
    record.events.push({ at: T0 + 50, kind: 'http.response', status: 502, headers: { 'Set-Cookie': 'x=y' }, body: { text: '', bytes: 0, truncated: false } });
    const copy = structuredClone(record);
    const prepared = prepareRecord(record, policy);
    assert.deepEqual(record, copy);
    assert.deepEqual(httpRequestOf(prepared)?.headers, { AUTHORIZATION: REDACTED, 'x-secret': REDACTED, 'X-Api-Key': REDACTED, host: 'api' });
    const responses = prepared.events.filter((e) => e.kind === 'http.response');
    assert.deepEqual(responses.map((e) => e.headers), [{ 'SET-COOKIE': REDACTED, cookie: REDACTED, 'proxy-authorization': REDACTED }, { 'Set-Cookie': REDACTED }]);
  });

  test('drops unknown fields of the record and of its events, lower-cases the id, keeps a __proto__ header as a header', () => {
    const record = { ...sessionRecord(), extra: 'field', id: 'ABCDEF01-2345-4789-8BCD-EF0123456789' } as SessionRecord;
    const headers = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    record.events[0] = { ...httpRequestOf(record)!, headers, extra: 1 } as SessionRecord['events'][number];
    record.events.push({ at: T0 + 43, kind: 'end', extra: 2 } as SessionRecord['events'][number]);
    const prepared = prepareRecord(record, policy);
    assert.equal('extra' in prepared, false);
    assert.equal('extra' in prepared.events[0]!, false);
    assert.deepEqual(prepared.events.at(-1), { at: T0 + 43, kind: 'end' });
    assert.equal(prepared.id, 'abcdef01-2345-4789-8bcd-ef0123456789');
    assert.deepEqual(Object.keys(httpRequestOf(prepared)!.headers), ['__proto__', 'a']);
    assert.equal(Object.getPrototypeOf(httpRequestOf(prepared)!.headers), Object.prototype);
  });

  test('NUL and lone surrogates become U+FFFD in text fields', () => {
    const prepared = prepareRecord(sessionRecord({ subject: 'a\u0000b', path: '/x\uD800y', request: { headers: { h: 'v\uDC00' }, body: { text: 'ok\uD83D', bytes: 6, truncated: true } } }), policy);
    assert.equal(prepared.subject, 'a\uFFFDb');
    assert.equal(httpRequestOf(prepared)?.path, '/x\uFFFDy');
    assert.equal(prepared.summary, 'POST /x\uFFFDy → 201');
    assert.equal(httpRequestOf(prepared)?.headers.h, 'v\uFFFD');
    assert.deepEqual(httpRequestOf(prepared)?.body, { text: 'ok\uFFFD', bytes: 6, truncated: true });
    assert.equal(httpResponseOf(prepared)?.status, 201);
  });

  test('checkRecord names every problem', () => {
    const problems = checkRecord({
      version: 1, id: 1, decision: 'x', protocol: 'ftp', outcome: 'ok', startedAt: -1, endedAt: 1.5,
      events: [null, { at: 'now', kind: 'end' }, { at: 1, kind: 'http.response', status: 'ok', headers: [], body: {} }, { at: 1, kind: 'nope' }],
    });
    for (const field of ['version', 'id', 'requestId', 'summary', 'protocol', 'outcome', 'decision', 'startedAt', 'endedAt', 'events[0]', 'events[1].at', 'events[2]', 'events[3].kind']) {
      assert.ok(problems.some((p) => p.startsWith(field)), `${field} in ${problems.join('; ')}`);
    }
    const http = checkRecord({ ...sessionRecord(), events: [{ at: 1, kind: 'http.response', status: 'ok', headers: [], body: {} }] });
    for (const field of ['events[0].status', 'events[0].headers', 'events[0].body']) assert.ok(http.some((p) => p.startsWith(field)), `${field} in ${http.join('; ')}`);
    assert.deepEqual(checkRecord(sessionRecord()), []);
  });
});
