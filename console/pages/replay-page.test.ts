import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionRecord } from '../../ext-proc/sessions/types.ts';
import type { ConsoleUser } from '../browser-sessions.ts';
import { replayPage } from './replay-page.ts';

const user: ConsoleUser = {
  id: 'u', idToken: 'id-token-never-shown', csrf: 'csrf-1', expiresAt: Date.now() + 60_000,
  identity: { issuerName: 'dev', issuer: 'https://dev', subject: 'carol', groups: ['auditors'], claims: {}, expiresAt: 2_000_000_000 },
};

const start = 1_700_000_000_000;
const record: SessionRecord = {
  version: 2, id: 'r1', requestId: '', protocol: 'redis', subject: 'alice', issuer: 'dev', target: 'demo-cache',
  rule: 'demo-cache-engineers/redis', decision: 'allow', startedAt: start, endedAt: start + 40, outcome: 'completed', summary: 'redis demo-cache: 3 commands',
  events: [
    { at: start + 1, kind: 'redis.login', subject: 'alice', issuer: 'dev', outcome: 'ok' },
    { at: start + 5, kind: 'redis.command', command: 'SET', keys: ['demo:card'], values: ['**** **** **** 1111'], args: 2, bytes: 48, outcome: 'ok', replyBytes: 5, durationMs: 0.4 },
    { at: start + 9, kind: 'redis.command', command: 'GET', keys: ['demo:card'], args: 1, bytes: 30, outcome: 'ok', replyBytes: 27, durationMs: 0.3 },
    { at: start + 10, kind: 'redis.command', command: 'INCR', keys: ['demo:n'], args: 1, bytes: 28, outcome: 'sent' },
    { at: start + 12, kind: 'redis.command', command: 'FLUSHALL', keys: [], args: 0, bytes: 14, outcome: 'refused', code: 'ERR_REDIS_COMMAND_DENIED', error: '-NOPERM ERR_REDIS_COMMAND_DENIED: FLUSHALL is not allowed' },
    { at: start + 40, kind: 'end', reason: 'the client closed the connection' },
  ],
} as SessionRecord;

test('a Redis session replays as a login and one command log: numbered rows, keys, masked values, reply sizes, the refusal code', () => {
  const page = replayPage(user, record);
  assert.match(page, /<h3>Redis login <\/h3><p>as <strong>alice<\/strong> \(dev\)/);
  assert.match(page, /<h3>4 commands: 2 ok, 1 sent, 1 refused<\/h3>/);
  const rows = [...page.matchAll(/<tr class="redis-command (\w+)"><td class="num">(\d+)<\/td>/g)].map((m) => `${m[2]}:${m[1]}`);
  assert.deepEqual(rows, ['1:ok', '2:ok', '3:sent', '4:refused']);
  assert.match(page, /<strong>INCR<\/strong> <code>demo:n<\/code> .*reply not recorded/s);
  assert.match(page, /<strong>SET<\/strong> <code>demo:card<\/code>/);
  assert.match(page, /Values: <code>\*\*\*\* \*\*\*\* \*\*\*\* 1111<\/code>/);
  assert.match(page, /27 bytes/);
  assert.match(page, /<code>ERR_REDIS_COMMAND_DENIED<\/code><p class="message">-NOPERM ERR_REDIS_COMMAND_DENIED: FLUSHALL is not allowed<\/p>/);
  assert.doesNotMatch(page, /id-token-never-shown/);
});
