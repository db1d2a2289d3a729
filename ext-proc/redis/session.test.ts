import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger.ts';
import { encodeCommand } from '../../common/redis/resp.ts';
import type { RedisCheckResult } from '../../common/redis-check.ts';
import type { NetworkResponse } from '../postgres/outbox.ts';
import type { SessionRecord } from '../sessions/types.ts';
import { RedisSession } from './session.ts';

const WORKER: RedisCheckResult = {
  allowed: true, subject: 'w1', issuer: 'dev', groups: ['workers'], rule: 'workers/redis', masking: null, expiresAt: Date.now() + 60_000,
  rules: [{ id: 'workers/jobs', effect: 'allow', commands: ['GET', 'SET', 'INCR'], keys: ['jobs:*'] }],
};

function session(result: RedisCheckResult = WORKER, options: { mask?: boolean; recording?: 'commands' | 'commands+replies' } = {}) {
  const sent: NetworkResponse[] = [];
  const records: SessionRecord[] = [];
  const s = new RedisSession({
    target: 'cache', sessionId: '00000000-0000-4000-8000-000000000001', check: async () => result, denied: new Set(['CONFIG']),
    maxRecordedCommands: 100, valueMasker: () => (options.mask ? (v) => v.replace(/\d/g, '#') : null), record: (r) => records.push(r),
    recording: options.recording ?? 'commands+replies', logger: createLogger('test', { level: 'silent' }),
  }, (r) => sent.push(r));
  const toServer = () => Buffer.concat(sent.flatMap((r) => (r.read_data ? [r.read_data.data] : []))).toString();
  const toClient = () => Buffer.concat(sent.flatMap((r) => (r.write_data ? [r.write_data.data] : []))).toString();
  return { s, sent, records, toServer, toClient };
}
const cmd = (...args: string[]) => encodeCommand(args);
const commandsOnly = (result: RedisCheckResult = WORKER) => session(result, { recording: 'commands' });

// ---- recording: commands+replies (the gateway reads every reply and writes its own answers) ----

test('a pipeline with a refused command: the allowed ones go upstream, the refusal takes its place among the replies', async () => {
  const { s, toServer, toClient, sent } = session();
  await s.onClientData(Buffer.concat([cmd('AUTH', 'tok'), cmd('GET', 'jobs:1'), cmd('GET', 'users:1'), cmd('SET', 'jobs:2', 'v')]), false);
  assert.equal(toServer(), [cmd('AUTH', 'tok'), cmd('GET', 'jobs:1'), cmd('SET', 'jobs:2', 'v')].join(''));
  assert.equal(sent.filter((r) => r.read_data).length, 1, 'one response per client chunk');
  assert.equal(toClient(), '', 'the refusal waits for the replies before it');
  await s.onServerData(Buffer.from('+OK\r\n$1\r\na'), false);
  assert.equal(toClient(), '+OK\r\n$1\r\na');
  await s.onServerData(Buffer.from('\r\n+OK\r\n'), false);
  assert.equal(toClient(), '+OK\r\n$1\r\na\r\n-NOPERM ERR_REDIS_COMMAND_DENIED: GET on "users:1" is not allowed for "w1" by policy\r\n+OK\r\n');
});

test('before AUTH every command is refused NOAUTH; CONFIG is refused even when logged in; a refused re-AUTH logs out', async () => {
  const { s, toClient } = session();
  await s.onClientData(cmd('GET', 'jobs:1'), false);
  assert.match(toClient(), /^-NOAUTH ERR_REDIS_NOT_LOGGED_IN: /);
  const denied = session({ allowed: false, code: 'ERR_TOKEN_EXPIRED', message: 'expired' });
  await denied.s.onClientData(Buffer.concat([cmd('AUTH', 'x'), cmd('GET', 'jobs:1')]), false);
  assert.equal(denied.toServer(), cmd('AUTH', 'x').toString(), 'AUTH goes to redis_proxy, which answers it');
  await denied.s.onServerData(Buffer.from('-ERR ERR_TOKEN_EXPIRED: expired\r\n'), false);
  assert.match(denied.toClient(), /^-ERR ERR_TOKEN_EXPIRED: expired\r\n-NOAUTH ERR_REDIS_NOT_LOGGED_IN/);
});

test('MULTI with a refused command: EXEC becomes DISCARD upstream and the client gets EXECABORT', async () => {
  const { s, toServer, toClient } = session();
  await s.onClientData(cmd('AUTH', 't'), false);
  await s.onServerData(Buffer.from('+OK\r\n'), false);
  await s.onClientData(Buffer.concat([cmd('MULTI'), cmd('INCR', 'jobs:n'), cmd('INCR', 'other'), cmd('EXEC')]), false);
  assert.ok(toServer().endsWith([cmd('MULTI'), cmd('INCR', 'jobs:n'), cmd('DISCARD')].join('')));
  await s.onServerData(Buffer.from('+OK\r\n+QUEUED\r\n+OK\r\n'), false);
  assert.equal(toClient(), '+OK\r\n+OK\r\n+QUEUED\r\n-NOPERM ERR_REDIS_COMMAND_DENIED: INCR on "other" is not allowed for "w1" by policy\r\n-EXECABORT Transaction discarded because a command was refused by the gateway\r\n');
});

test('the record: one per connection, every command with keys, reply size and outcome; values only through the mask; never the token', async () => {
  const { s, records } = session(WORKER, { mask: true });
  await s.onClientData(Buffer.concat([cmd('AUTH', 'secret-token-123'), cmd('SET', 'jobs:1', 'card 4111'), cmd('GET', 'nope')]), false);
  await s.onServerData(Buffer.from('+OK\r\n+OK\r\n'), false);
  s.closed(false);
  assert.equal(records.length, 1);
  const r = records[0]!;
  assert.equal(r.protocol, 'redis');
  assert.equal(r.subject, 'w1');
  assert.equal(r.summary, '2 commands, 1 refused');
  const commands = r.events.filter((e) => e.kind === 'redis.command') as any[];
  assert.deepEqual(commands.map((e) => [e.command, e.keys, e.values, e.outcome, e.replyBytes]), [
    ['SET', ['jobs:1'], ['card ####'], 'ok', 5],
    ['GET', ['nope'], [], 'refused', undefined],
  ]);
  assert.ok(!JSON.stringify(r).includes('secret-token-123'));
});

test('QUIT is answered after the replies before it, then the connection is closed; nothing after it is read', async () => {
  const { s, sent, toServer, toClient } = session();
  await s.onClientData(cmd('AUTH', 't'), false);
  await s.onServerData(Buffer.from('+OK\r\n'), false);
  await s.onClientData(Buffer.concat([cmd('GET', 'jobs:1'), cmd('QUIT'), cmd('SET', 'jobs:2', 'x')]), false);
  assert.ok(!toServer().includes('QUIT') && !toServer().includes('jobs:2'));
  assert.ok(!sent.some((r) => r.connection_status === 'CLOSE'), 'not before the GET is answered');
  await s.onServerData(Buffer.from('$-1\r\n'), false);
  assert.ok(toClient().endsWith('$-1\r\n+OK\r\n'));
  assert.ok(sent.some((r) => r.connection_status === 'CLOSE'));
});

// ---- recording: commands (client bytes only; redis_proxy answers every command) ----

test('commands only: a chunk whose commands all pass is answered with its own bytes, in one response, and nothing goes to the client', async () => {
  const { s, sent, toClient } = commandsOnly();
  const login = cmd('AUTH', 'tok');
  await s.onClientData(login, false);
  const chunk = Buffer.concat([cmd('GET', 'jobs:1'), cmd('SET', 'jobs:2', 'v'), cmd('INCR', 'jobs:n')]);
  await s.onClientData(chunk, false);
  const last = sent.at(-1)!.read_data!.data;
  assert.equal(last.buffer, chunk.buffer, 'the chunk itself, not a copy');
  assert.equal(last.length, chunk.length);
  assert.equal(sent.filter((r) => r.read_data).length, 2);
  assert.equal(toClient(), '');
});

test('commands only: a refusal becomes a command redis_proxy answers in its place (an unknown name carrying the refusal); the rest pass unchanged', async () => {
  const { s, toServer, toClient } = commandsOnly();
  await s.onClientData(Buffer.concat([cmd('AUTH', 'tok'), cmd('GET', 'jobs:1'), cmd('GET', 'users:1'), cmd('CONFIG', 'GET', 'requirepass'), cmd('SET', 'jobs:2', 'v')]), false);
  assert.equal(toServer(), [
    cmd('AUTH', 'tok'), cmd('GET', 'jobs:1'),
    cmd('NOPERM ERR_REDIS_COMMAND_DENIED: GET on "users:1" is not allowed for "w1" by policy', '(refused by the gateway)'),
    cmd('NOPERM ERR_REDIS_COMMAND_DENIED: CONFIG is refused on this target for everyone', '(refused by the gateway)'),
    cmd('SET', 'jobs:2', 'v'),
  ].join(''));
  assert.ok(!toServer().includes('requirepass'), 'the refused command\'s arguments are not forwarded');
  assert.equal(toClient(), '', 'the gateway writes nothing to the client itself');
});

test('commands only: a refusal text never carries a line break (a key with CRLF is quoted), and is bounded', async () => {
  const { s, toServer } = commandsOnly();
  await s.onClientData(Buffer.concat([cmd('AUTH', 'tok'), cmd('GET', `users:\r\n${'x'.repeat(2000)}`)]), false);
  const sent = toServer().split('*2\r\n').at(-1)!;
  const name = sent.split('\r\n')[1]!;
  assert.match(name, /^NOPERM ERR_REDIS_COMMAND_DENIED: GET on "users:\\r\\nx+…" is not allowed/);
  assert.ok(Buffer.byteLength(name) <= 512);
});

test('commands only: inside MULTI a refusal goes upstream as the stand-in Redis refuses when queueing (so EXEC aborts there); EXEC passes unchanged', async () => {
  const { s, toServer } = commandsOnly();
  await s.onClientData(cmd('AUTH', 't'), false);
  await s.onClientData(Buffer.concat([cmd('MULTI'), cmd('INCR', 'jobs:n'), cmd('INCR', 'other'), cmd('EXEC'), cmd('GET', 'nope')]), false);
  assert.ok(toServer().endsWith([
    cmd('MULTI'), cmd('INCR', 'jobs:n'),
    cmd('sluice.refused', 'NOPERM ERR_REDIS_COMMAND_DENIED: INCR on "other" is not allowed for "w1" by policy'),
    cmd('EXEC'),
    // Out of the transaction again: the local refusal.
    cmd('NOPERM ERR_REDIS_COMMAND_DENIED: GET on "nope" is not allowed for "w1" by policy', '(refused by the gateway)'),
  ].join('')));
});

test('commands only: QUIT goes to redis_proxy (which answers it and closes); nothing after it is forwarded, in this chunk or later ones', async () => {
  const { s, sent, toServer } = commandsOnly();
  await s.onClientData(cmd('AUTH', 't'), false);
  await s.onClientData(Buffer.concat([cmd('GET', 'jobs:1'), cmd('QUIT'), cmd('SET', 'jobs:2', 'x')]), false);
  await s.onClientData(cmd('SET', 'jobs:3', 'y'), false);
  assert.ok(toServer().endsWith([cmd('GET', 'jobs:1'), cmd('QUIT')].join('')));
  assert.ok(!sent.some((r) => r.connection_status === 'CLOSE'), 'redis_proxy closes after its +OK; the gateway does not cut it short');
  assert.equal(sent.filter((r) => r.read_data).length, 3, 'every chunk is still answered (the last with nothing)');
});

test('commands only: bytes that are not RESP get the protocol refusal, then QUIT, so the client reads why and the connection ends', async () => {
  const { s, toServer } = commandsOnly();
  await s.onClientData(cmd('AUTH', 't'), false);
  await s.onClientData(Buffer.from('*1\r\n:5\r\n'), false);
  assert.ok(toServer().endsWith(cmd('ERR ERR_REDIS_PROTOCOL: a command argument that is not a bulk string', '(refused by the gateway)').toString() + cmd('QUIT').toString()));
  await s.onClientData(cmd('GET', 'jobs:1'), false);
  assert.ok(!toServer().includes('jobs:1'));
});

test('commands only: before AUTH a command becomes the NOAUTH refusal, never the command itself', async () => {
  const { s, toServer } = commandsOnly();
  await s.onClientData(cmd('SET', 'jobs:1', 'x'), false);
  assert.equal(toServer(), cmd('NOAUTH ERR_REDIS_NOT_LOGGED_IN: log in with AUTH <token> first', '(refused by the gateway)').toString());
});

test('commands only: the record has every command with its keys and masked values, forwarded ones as "sent" without reply sizes', async () => {
  const { s, records } = session(WORKER, { mask: true, recording: 'commands' });
  await s.onClientData(Buffer.concat([cmd('AUTH', 'secret-token-123'), cmd('SET', 'jobs:1', 'card 4111'), cmd('GET', 'nope')]), false);
  s.closed(false);
  const commands = records[0]!.events.filter((e) => e.kind === 'redis.command') as any[];
  assert.deepEqual(commands.map((e) => [e.command, e.keys, e.values, e.outcome, e.replyBytes, e.durationMs]), [
    ['SET', ['jobs:1'], ['card ####'], 'sent', undefined, undefined],
    ['GET', ['nope'], [], 'refused', undefined, undefined],
  ]);
  assert.equal(records[0]!.summary, '2 commands, 1 refused');
  assert.ok(!JSON.stringify(records[0]).includes('secret-token-123'));
});
