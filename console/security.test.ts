import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import type { Identity } from '../ext-authz/identity/types.ts';
import { BrowserSessions } from './browser-sessions.ts';
import { redactHeaders } from './redact.ts';
import { checkCsrf } from './security.ts';
import { apiQuery, readFilters } from './session-filters.ts';
import { safeNext } from './sign-in.ts';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const ORIGIN = 'http://127.0.0.1:9080';
const TOKEN = 'x'.repeat(43);

describe('console safety checks', () => {
  it('CSRF: the token (header or form) and, when given, the origin must match', () => {
    checkCsrf(req({ 'x-csrf-token': TOKEN, origin: ORIGIN }), TOKEN, undefined, ORIGIN);
    checkCsrf(req({}), TOKEN, TOKEN, ORIGIN);
    for (const [headers, form] of [[{}, undefined], [{ 'x-csrf-token': 'y'.repeat(43) }, undefined], [{ 'x-csrf-token': 'short' }, undefined], [{ origin: 'http://evil.example' }, TOKEN], [{ origin: 'null' }, TOKEN], [{ 'sec-fetch-site': 'cross-site' }, TOKEN]] as const) {
      assert.throws(() => checkCsrf(req(headers as Record<string, string>), TOKEN, form, ORIGIN), { code: 'ERR_CONSOLE_CSRF' }, JSON.stringify(headers));
    }
  });

  it('after sign-in, only console paths are followed (no open redirect)', () => {
    assert.equal(safeNext('/console/sessions?subject=alice'), '/console/sessions?subject=alice');
    for (const bad of ['https://evil.example/', '//evil.example/console', '/consolex', '/admin', 'javascript:alert(1)', '/console/../x\\y']) assert.equal(safeNext(bad), '/console', bad);
  });

  it('a sign-in ends at its TTL or the ID token\'s expiry, whichever is first', () => {
    let now = 1_000_000;
    const sessions = new BrowserSessions({ ttlMs: 60_000, now: () => now });
    const identity = (exp: number): Identity => ({ issuerName: 'dev', issuer: 'http://dev', subject: 'sam', groups: ['sre'], claims: {}, expiresAt: exp });
    const long = sessions.create(identity(10_000), 'token-a');
    const short = sessions.create(identity(1_030), 'token-b');
    assert.notEqual(long.csrf, long.id);
    now += 29_000;
    assert.ok(sessions.get(long.id) && sessions.get(short.id));
    now += 2_000;
    assert.equal(sessions.get(short.id), undefined, 'the token expired first');
    now += 30_000;
    assert.equal(sessions.get(long.id), undefined, 'the TTL ended');
    assert.equal(sessions.get(undefined), undefined);
  });

  it('credential headers are never shown, whatever a record holds', () => {
    assert.deepEqual(redactHeaders({ authorization: 'Bearer abc', 'x-api-key': 'k', cookie: 'c', 'x-upstream-token': 't', accept: '*/*' }), {
      authorization: '[redacted]', 'x-api-key': '[redacted]', cookie: '[redacted]', 'x-upstream-token': '[redacted]', accept: '*/*',
    });
  });

  it('session filters: checked, and sent to the sessions API as UTC times', () => {
    const filters = readFilters(new URLSearchParams('subject=alice&outcome=refused&from=2030-01-01T10:00'));
    assert.equal(apiQuery(filters).toString(), 'limit=50&subject=alice&outcome=refused&from=2030-01-01T10%3A00%3A00Z');
    assert.throws(() => readFilters(new URLSearchParams('outcome=done')), { code: 'ERR_CONSOLE_INVALID' });
    assert.throws(() => readFilters(new URLSearchParams('from=yesterday')), { code: 'ERR_CONSOLE_INVALID' });
  });
});
