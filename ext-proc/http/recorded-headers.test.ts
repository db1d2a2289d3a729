import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileProfile } from '../masking/index.ts';
import { HASH_KEY, JWT_SAMPLE } from '../masking/test-fixtures.ts';
import { ALWAYS_REDACTED_HEADERS, REDACTED } from '../sessions/index.ts';
import { headerRecord } from './mutations.ts';
import { recordedHeaders, recordedValue } from './recorded-headers.ts';

const PII = compileProfile({
  name: 'pii',
  recognizers: [{ use: 'card', strategy: 'keep-last-4' }, { use: 'email', strategy: 'redact' }, { use: 'jwt', strategy: 'redact' }],
  patterns: [{ name: 'employee-id', pattern: 'EMP-[0-9]{6}', strategy: 'hash' }],
}, { hashKey: HASH_KEY });

const CARD = '4111 1111 1111 1111';
const EMAIL = 'jane.doe@example.com';

/** An ext_proc HeaderMap as Envoy sends it: raw_value bytes, one entry per header line. */
const envoyHeaders = (...lines: [string, string][]) => headerRecord({ headers: lines.map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'utf8') })) });

describe('recordedHeaders', () => {
  test('values are masked with the profile\'s recognizers, patterns and strategies, and counted by entry', () => {
    const { headers, masked } = recordedHeaders({ ':method': 'GET', ':path': '/x', 'x-card': `card ${CARD} on file`, 'x-contact': `${EMAIL}, ops@example.com`, 'x-staff': 'EMP-123456', accept: 'application/json' }, PII);
    assert.deepEqual(headers, {
      'x-card': 'card **** **** **** 1111 on file',
      'x-contact': '[REDACTED:email], [REDACTED:email]',
      'x-staff': PII.maskValue(Buffer.from('EMP-123456')).out.toString(),
      accept: 'application/json',
    });
    assert.match(headers['x-staff']!, /^\[H:[0-9a-f]{8}\]$/);
    assert.deepEqual(masked, { card: 1, email: 2, 'employee-id': 1 });
  });

  test('without a profile values are kept as they came, and nothing is counted', () => {
    const { headers, masked } = recordedHeaders({ ':status': '200', 'x-card': CARD, 'x-contact': EMAIL }, undefined);
    assert.deepEqual(headers, { 'x-card': CARD, 'x-contact': EMAIL });
    assert.deepEqual(masked, {});
  });

  test('credential headers are redacted with or without a profile, never masked or counted first', () => {
    for (const profile of [PII, undefined]) {
      const sent = Object.fromEntries(ALWAYS_REDACTED_HEADERS.map((name) => [name, `Bearer ${JWT_SAMPLE} ${EMAIL}`]));
      const { headers, masked } = recordedHeaders({ ...sent, 'Proxy-Authorization': 'Basic x', 'x-other': 'ok' }, profile);
      for (const name of ALWAYS_REDACTED_HEADERS) assert.equal(headers[name], REDACTED, name);
      assert.equal(headers['Proxy-Authorization'], REDACTED, 'names in any case');
      assert.equal(headers['x-other'], 'ok');
      assert.deepEqual(masked, {});
    }
  });

  test('a repeated header is masked as the one joined value the record shows, every value in it', () => {
    const headers = envoyHeaders(['x-card', CARD], ['x-card', '5500-0000-0000-0004'], ['x-contact', EMAIL], ['x-contact', 'none']);
    assert.equal(headers['x-card'], `${CARD},5500-0000-0000-0004`, 'headerRecord joins repeated lines');
    const recorded = recordedHeaders(headers, PII);
    assert.deepEqual(recorded.headers, { 'x-card': '**** **** **** 1111,****-****-****-0004', 'x-contact': '[REDACTED:email],none' });
    assert.deepEqual(recorded.masked, { card: 2, email: 1 });
  });

  test('a card and an email anywhere in a long value, or in UTF-8 text, are found; other bytes are kept', () => {
    const recorded = recordedHeaders(envoyHeaders(['x-note', `Zoë ☕ ${'a'.repeat(2000)} ${CARD}; mail ${EMAIL}`]), PII);
    const note = Buffer.from(recorded.headers['x-note']!, 'latin1').toString('utf8');
    assert.equal(note, `Zoë ☕ ${'a'.repeat(2000)} **** **** **** 1111; mail [REDACTED:email]`);
    assert.deepEqual(recorded.masked, { card: 1, email: 1 });
  });

  test('a header named __proto__ stays a header', () => {
    const { headers, masked } = recordedHeaders(JSON.parse(`{"__proto__":"${EMAIL}"}`), PII);
    assert.deepEqual(Object.keys(headers), ['__proto__']);
    assert.equal(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value, '[REDACTED:email]');
    assert.deepEqual(masked, { email: 1 });
  });
});

describe('recordedValue', () => {
  test('adds its matches to the counts it is given (the path counts with the request headers)', () => {
    const masked: Record<string, number> = { email: 1 };
    assert.equal(recordedValue(`/users/${EMAIL}?card=4111111111111111`, PII, masked), '/users/[REDACTED:email]?card=************1111');
    assert.deepEqual(masked, { email: 2, card: 1 });
    assert.equal(recordedValue('/plain', PII, masked), '/plain');
    assert.deepEqual(masked, { email: 2, card: 1 });
  });
});
