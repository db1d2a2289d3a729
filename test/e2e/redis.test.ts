import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Gateway } from '../harness/gateway.ts';
import { startRedisServer, type RedisServer } from '../harness/redis-server.ts';
import { RespConnection } from '../harness/resp-client.ts';
import { waitFor } from '../harness/wait.ts';
import { freePort } from '../../common/free-port.ts';
import type { SessionRecord } from '../../ext-proc/sessions/index.ts';
import { replaySession } from '../../cli/commands/sessions.ts';

const GW_USER = 'sluice-gw';
const PASSWORD_1 = 'upstream-pass-one-7f3a9c';
const PASSWORD_2 = 'upstream-pass-two-b81e44';
/** The ACL README asks operators to create for the gateway. */
const gatewayAcl = (password: string) => `user ${GW_USER} on >${password} ~* &* +@all -@dangerous -select -client`;

const POLICY = `
policies:
  - name: cache-engineers
    targets: [cache]
    subjects:
      - issuer: dev
        groups: [engineering]
    redis: {}
    rules:
      - name: everything
        effect: allow
        commands: ["*"]
  - name: jobs-workers
    targets: [jobs, queue]
    subjects:
      - issuer: dev
        groups: [workers]
    redis: {}
    rules:
      - name: jobs
        effect: allow
        commands: [GET, SET, INCR, DEL, MGET]
        keys: ["jobs:*"]
  - name: jobs-analysts
    targets: [jobs, queue]
    subjects:
      - issuer: dev
        groups: [analysts]
    redis: {}
    rules:
      - name: read-only
        effect: allow
        commands: [read]
  - name: cache-short
    targets: [cache]
    subjects:
      - issuer: dev
        groups: [contractors]
    redis:
      maxSession: 3s
    rules:
      - name: everything
        effect: allow
        commands: ["*"]
`;

function redisCli(port: number, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? 1 : 0, stdout, stderr });
    });
  });
}

describe('Redis through real Envoy: AUTH with a token, least-privilege upstream, deny list, fail closed, rotation', () => {
  let server: RedisServer & { admin: { user: string; password: string } };
  let gw: Gateway;
  let port: number;
  let jobsPort: number;
  let queuePort: number;
  let alice: string;
  let worker: string;
  let analyst: string;

  before(async () => {
    server = await startRedisServer({ users: ['user default off', gatewayAcl(PASSWORD_1)] });
    port = await freePort();
    jobsPort = await freePort();
    queuePort = await freePort();
    gw = await Gateway.start({
      extraPolicies: { 'cache.yaml': POLICY },
      targets: [
        { name: 'cache', protocol: 'redis', endpoints: [`127.0.0.1:${server.port}`], redis: { port } },
        // Its policies name commands and keys: command checks (ext-proc in front of redis_proxy) turn on
        // by themselves. jobs records the replies too (ext-proc reads them); queue, by default, does not.
        { name: 'jobs', protocol: 'redis', endpoints: [`127.0.0.1:${server.port}`], redis: { port: jobsPort, recording: 'commands+replies' } },
        { name: 'queue', protocol: 'redis', endpoints: [`127.0.0.1:${server.port}`], redis: { port: queuePort } },
      ],
      credentials: ['cache', 'jobs', 'queue'].map((target) => ({ target, secret: 'cache-password', redis: { user: GW_USER } })),
      secrets: { 'cache-password': PASSWORD_1 },
      masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }] }], targets: { jobs: 'pii', queue: 'pii' } },
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    worker = await gw.issuer.mint({ sub: 'worker-1', groups: ['workers'] });
    analyst = await gw.issuer.mint({ sub: 'ann', groups: ['analysts'] });
  });
  after(async () => {
    await gw?.stop();
    await server?.stop();
  });

  test('redis-cli logs in with AUTH <token>; SET and GET reach the ACL-protected server as the gateway user', async () => {
    const set = await redisCli(port, ['--no-auth-warning', '-a', alice, 'SET', 'e2e:k1', 'v1']);
    assert.equal(set.stdout.trim(), 'OK', set.stderr);
    const get = await redisCli(port, ['--no-auth-warning', '-a', alice, 'GET', 'e2e:k1']);
    assert.equal(get.stdout.trim(), 'v1');
    assert.equal(await server.command(['GET', 'e2e:k1']), '$2\r\nv1\r\n');
    assert.match(await server.command(['CLIENT', 'LIST']), new RegExp(`user=${GW_USER}`));
  });

  test('commands before AUTH get NOAUTH; AUTH, SET and GET pipelined in one write all succeed', async () => {
    const c = await RespConnection.open(port);
    assert.match(await c.command('GET', 'e2e:k1'), /^-NOAUTH/);
    c.sendRaw(Buffer.concat([enc('AUTH', alice), enc('SET', 'e2e:pipe', 'p'), enc('GET', 'e2e:pipe')]));
    assert.deepEqual(await c.replies(3), ['+OK\r\n', '+OK\r\n', '$1\r\np\r\n']);
    c.close();
  });

  test('a wrong token, an expired token and a subject without a grant are refused with a stable code; the decision log has each', async () => {
    const c = await RespConnection.open(port);
    assert.match(await c.command('AUTH', 'not-a-token'), /^-ERR ERR_TOKEN_MALFORMED: /);
    const expired = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: -120 });
    assert.match(await c.command('AUTH', expired), /^-ERR ERR_TOKEN_EXPIRED: /);
    const bob = await gw.issuer.mint({ sub: 'bob', groups: ['sales'] });
    assert.match(await c.command('AUTH', bob), /^-ERR ERR_REDIS_LOGIN_DENIED: identity "bob"/);
    assert.match(await c.command('GET', 'e2e:k1'), /^-NOAUTH/);
    assert.match(await c.command('AUTH', 'mallory', alice), /^-ERR ERR_REDIS_LOGIN_DENIED: AUTH names user "mallory"/);
    assert.equal(await c.command('AUTH', 'alice', alice), '+OK\r\n');
    c.close();
    const lines = gw.decisions.lines.map((l) => JSON.parse(l)).filter((l: any) => l.protocol === 'redis' && l.target === 'cache');
    assert.ok(lines.some((l: any) => l.effect === 'deny' && l.code === 'ERR_TOKEN_EXPIRED'));
    assert.ok(lines.some((l: any) => l.effect === 'deny' && l.code === 'ERR_REDIS_LOGIN_DENIED' && l.subject === 'bob'));
    assert.ok(lines.some((l: any) => l.effect === 'allow' && l.subject === 'alice' && l.rule === 'cache-engineers/redis'));
    assert.ok(!JSON.stringify(lines).includes(alice), 'no token in the decision log');
  });

  test('the login ends when the token does (mid-connection), and a new AUTH on the same connection works', async () => {
    const short = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 3 });
    const c = await RespConnection.open(port);
    assert.equal(await c.command('AUTH', short), '+OK\r\n');
    assert.equal(await c.command('SET', 'e2e:exp', '1'), '+OK\r\n');
    await new Promise((r) => setTimeout(r, 4200));
    assert.match(await c.command('GET', 'e2e:exp'), /^-NOAUTH/);
    assert.equal(await c.command('AUTH', alice), '+OK\r\n');
    assert.equal(await c.command('GET', 'e2e:exp'), '$1\r\n1\r\n');
    c.close();
  });

  test('a grant with maxSession ends the login before the token does', async () => {
    const carol = await gw.issuer.mint({ sub: 'carol', groups: ['contractors'], ttlSeconds: 3600 });
    const c = await RespConnection.open(port);
    assert.equal(await c.command('AUTH', carol), '+OK\r\n');
    assert.equal(await c.command('PING'), '+PONG\r\n');
    await new Promise((r) => setTimeout(r, 4200));
    assert.match(await c.command('GET', 'e2e:k1'), /^-NOAUTH/);
    c.close();
  });

  test('a refused re-AUTH ends an earlier login on the connection', async () => {
    const c = await RespConnection.open(port);
    assert.equal(await c.command('AUTH', alice), '+OK\r\n');
    const bob = await gw.issuer.mint({ sub: 'bob', groups: ['sales'] });
    assert.match(await c.command('AUTH', bob), /^-ERR ERR_REDIS_LOGIN_DENIED/);
    assert.match(await c.command('GET', 'e2e:k1'), /^-NOAUTH/);
    c.close();
  });

  test('CONFIG GET requirepass, SELECT, FLUSHALL, KEYS and SCRIPT FLUSH never reach the server; the connection stays usable', async () => {
    const c = await RespConnection.open(port);
    assert.equal(await c.command('AUTH', alice), '+OK\r\n');
    for (const command of [['CONFIG', 'GET', 'requirepass'], ['CONFIG', 'GET', '*'], ['SELECT', '1'], ['FLUSHALL'], ['FLUSHDB'], ['KEYS', '*'], ['SCRIPT', 'FLUSH'], ['DEBUG', 'SLEEP', '0']]) {
      const reply = await c.command(...command);
      assert.match(reply, /^-/, `${command.join(' ')} → ${reply}`);
      assert.ok(!reply.includes(PASSWORD_1), 'no password in a reply');
    }
    assert.equal(await c.command('GET', 'e2e:k1'), '$2\r\nv1\r\n');
    assert.equal(await server.command(['DBSIZE']).then((r) => r.startsWith(':0')), false, 'nothing was flushed');
    c.close();
  });

  test('ioredis with the token as its password; HELLO 2 AUTH logs in with a map reply, HELLO 3 is refused clearly (RESP2 listener)', async () => {
    const client = new Redis({ host: '127.0.0.1', port, password: alice, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await client.connect();
    await client.set('e2e:io', 'from-ioredis');
    assert.equal(await client.get('e2e:io'), 'from-ioredis');
    await assert.rejects(client.config('GET', 'requirepass'), /./);
    assert.equal(await client.get('e2e:io'), 'from-ioredis');
    client.disconnect();
    const c = await RespConnection.open(port);
    const hello = await c.command('HELLO', '2', 'AUTH', 'default', alice);
    assert.match(hello, /^\*/);
    assert.match(hello, /envoy-redis-proxy/);
    assert.equal(await c.command('GET', 'e2e:io'), '$12\r\nfrom-ioredis\r\n');
    assert.match(await c.command('HELLO', '3', 'AUTH', 'default', alice), /^-NOPROTO/);
    c.close();
  });

  test('command checks are on exactly where a policy needs them: ext_proc sits in front of redis_proxy on jobs and queue, not on cache; it reads replies on jobs only', () => {
    const listeners = JSON.parse(readFileSync(path.join(gw.xdsDir, 'lds.json'), 'utf8')).resources;
    const filters = (name: string) => listeners.find((l: any) => l.name === name).filter_chains[0].filters;
    assert.deepEqual(filters('redis_jobs').map((f: any) => f.name), ['envoy.filters.network.ext_proc', 'envoy.filters.network.redis_proxy']);
    assert.deepEqual(filters('redis_queue').map((f: any) => f.name), ['envoy.filters.network.ext_proc', 'envoy.filters.network.redis_proxy']);
    assert.deepEqual(filters('redis_cache').map((f: any) => f.name), ['envoy.filters.network.redis_proxy']);
    assert.equal(filters('redis_jobs')[0].typed_config.processing_mode, undefined);
    assert.deepEqual(filters('redis_queue')[0].typed_config.processing_mode, { process_write: 'SKIP' });
  });

  test('commands+replies: per-identity rules: a worker GETs and SETs jobs:* only, an analyst reads anything and writes nothing; refusals are answered in place, the connection stays usable', async () => {
    const w = await RespConnection.open(jobsPort);
    assert.equal(await w.command('AUTH', worker), '+OK\r\n');
    assert.equal(await w.command('SET', 'jobs:1', 'queued'), '+OK\r\n');
    assert.equal(await w.command('GET', 'jobs:1'), '$6\r\nqueued\r\n');
    assert.match(await w.command('SET', 'users:1', 'x'), /^-NOPERM ERR_REDIS_COMMAND_DENIED: SET on "users:1" is not allowed for "worker-1" by policy/);
    assert.match(await w.command('HGETALL', 'jobs:1'), /^-NOPERM ERR_REDIS_COMMAND_DENIED/);
    assert.match(await w.command('CONFIG', 'GET', 'requirepass'), /^-NOPERM ERR_REDIS_COMMAND_DENIED: CONFIG is refused on this target for everyone/);
    assert.equal(await server.command(['EXISTS', 'users:1']), ':0\r\n', 'the refused SET never reached the server');
    // A pipeline that mixes allowed and refused commands, plus an inline command: replies in order.
    w.sendRaw(Buffer.concat([enc('INCR', 'jobs:n'), enc('GET', 'users:2'), Buffer.from('GET jobs:1\r\n'), enc('DEL', 'other')]));
    const replies = await w.replies(4);
    assert.match(replies[0]!, /^:\d+\r\n$/);
    assert.match(replies[1]!, /^-NOPERM ERR_REDIS_COMMAND_DENIED: GET on "users:2"/);
    assert.equal(replies[2], '$6\r\nqueued\r\n');
    assert.match(replies[3]!, /^-NOPERM ERR_REDIS_COMMAND_DENIED/);
    w.close();

    const a = await RespConnection.open(jobsPort);
    assert.equal(await a.command('AUTH', analyst), '+OK\r\n');
    assert.equal(await a.command('GET', 'jobs:1'), '$6\r\nqueued\r\n');
    assert.match(await a.command('SET', 'jobs:1', 'hacked'), /^-NOPERM ERR_REDIS_COMMAND_DENIED/);
    assert.equal(await a.command('GET', 'jobs:1'), '$6\r\nqueued\r\n');
    a.close();
  });

  test('commands+replies: MULTI with a refused command is discarded whole (EXECABORT); nothing of it runs', async () => {
    const w = await RespConnection.open(jobsPort);
    assert.equal(await w.command('AUTH', worker), '+OK\r\n');
    await w.command('SET', 'jobs:tx', '0');
    w.sendRaw(Buffer.concat([enc('MULTI'), enc('INCR', 'jobs:tx'), enc('INCR', 'users:tx'), enc('EXEC')]));
    const [multi, queued, refused, exec] = await w.replies(4);
    assert.equal(multi, '+OK\r\n');
    assert.equal(queued, '+QUEUED\r\n');
    assert.match(refused!, /^-NOPERM ERR_REDIS_COMMAND_DENIED/);
    assert.match(exec!, /^-EXECABORT/);
    assert.equal(await w.command('GET', 'jobs:tx'), '$1\r\n0\r\n');
    w.close();
  });

  test('commands+replies: ioredis through command checks; every command is recorded as one session with its reply size, shown by sluice sessions replay (values masked, no token)', async () => {
    const client = new Redis({ host: '127.0.0.1', port: jobsPort, password: worker, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await client.connect();
    await client.set('jobs:card', 'paid with 4111 1111 1111 1111');
    assert.equal(await client.get('jobs:card'), 'paid with 4111 1111 1111 1111');
    await assert.rejects(client.get('secrets:x'), /ERR_REDIS_COMMAND_DENIED/);
    assert.equal(await client.quit(), 'OK');
    let record: SessionRecord | undefined;
    await waitFor(async () => {
      record = (await gw.records({ protocol: 'redis' })).find((r) => r.events.some((e) => e.kind === 'redis.command' && e.keys.includes('jobs:card')));
      return record !== undefined;
    }, 10_000);
    assert.equal(record!.subject, 'worker-1');
    assert.equal(record!.target, 'jobs');
    const set = record!.events.find((e) => e.kind === 'redis.command' && e.command === 'SET') as any;
    assert.deepEqual(set.values, ['paid with **** **** **** 1111']);
    const replay = replaySession(record!);
    assert.match(replay, /SET "jobs:card" "paid with \*{4} \*{4} \*{4} 1111" → ok, 5 bytes/);
    assert.match(replay, /GET "jobs:card" → ok, \d+ bytes/);
    assert.match(replay, /GET "secrets:x" → refused ERR_REDIS_COMMAND_DENIED/);
    assert.ok((await gw.records({ protocol: 'redis', refusals: true })).some((r) => r.id === record!.id), 'listed among the sessions with refusals (sessions list --refusals yes)');
    assert.ok(!(await gw.records({ protocol: 'redis', refusals: false })).some((r) => r.id === record!.id));
    assert.ok(!JSON.stringify(record).includes(worker), 'no token in the record');
    assert.ok(!JSON.stringify(record).includes('4111 1111 1111 1111'), 'the card is masked in the record');
  });

  test('commands (the default): refusals come from redis_proxy in their place in a pipeline, carrying the gateway\'s code; the refused command never reaches the server; the connection stays usable', async () => {
    const w = await RespConnection.open(queuePort);
    // Before AUTH: redis_proxy answers the stand-in (it looks names up before it checks the login).
    assert.match(await w.command('SET', 'jobs:q1', 'early'), /^-ERR unknown command 'NOAUTH ERR_REDIS_NOT_LOGGED_IN: log in with AUTH <token> first'/);
    assert.equal(await server.command(['EXISTS', 'jobs:q1']), ':0\r\n', 'nothing before AUTH reached the server');
    assert.equal(await w.command('AUTH', worker), '+OK\r\n');
    assert.equal(await w.command('SET', 'jobs:q1', 'queued'), '+OK\r\n');
    assert.match(await w.command('SET', 'users:q1', 'x'), /^-ERR unknown command 'NOPERM ERR_REDIS_COMMAND_DENIED: SET on "users:q1" is not allowed for "worker-1" by policy'/);
    assert.match(await w.command('CONFIG', 'GET', 'requirepass'), /^-ERR unknown command 'NOPERM ERR_REDIS_COMMAND_DENIED: CONFIG is refused on this target for everyone'/);
    assert.equal(await server.command(['EXISTS', 'users:q1']), ':0\r\n', 'the refused SET never reached the server');
    // Allowed, refused, inline, refused, allowed, in one write: every reply in its place.
    w.sendRaw(Buffer.concat([enc('INCR', 'jobs:qn'), enc('GET', 'users:q2'), Buffer.from('GET jobs:q1\r\n'), enc('DEL', 'other'), enc('GET', 'jobs:q1')]));
    const replies = await w.replies(5);
    assert.match(replies[0]!, /^:\d+\r\n$/);
    assert.match(replies[1]!, /^-ERR unknown command 'NOPERM ERR_REDIS_COMMAND_DENIED: GET on "users:q2"/);
    assert.equal(replies[2], '$6\r\nqueued\r\n');
    assert.match(replies[3]!, /ERR_REDIS_COMMAND_DENIED: DEL on "other"/);
    assert.equal(replies[4], '$6\r\nqueued\r\n');
    assert.equal(await w.command('GET', 'jobs:q1'), '$6\r\nqueued\r\n', 'still usable');
    w.close();
    const a = await RespConnection.open(queuePort);
    assert.equal(await a.command('AUTH', analyst), '+OK\r\n');
    assert.match(await a.command('SET', 'jobs:q1', 'hacked'), /ERR_REDIS_COMMAND_DENIED/);
    assert.equal(await a.command('GET', 'jobs:q1'), '$6\r\nqueued\r\n');
    a.close();
  });

  test('commands (the default): MULTI with a refused command is discarded whole by Redis (EXECABORT); the refusal names the gateway\'s code; nothing of it runs', async () => {
    const w = await RespConnection.open(queuePort);
    assert.equal(await w.command('AUTH', worker), '+OK\r\n');
    await w.command('SET', 'jobs:qtx', '0');
    w.sendRaw(Buffer.concat([enc('MULTI'), enc('INCR', 'jobs:qtx'), enc('INCR', 'users:qtx'), enc('INCR', 'jobs:qtx'), enc('EXEC')]));
    const [multi, queued, refused, queued2, exec] = await w.replies(5);
    assert.equal(multi, '+OK\r\n');
    assert.equal(queued, '+QUEUED\r\n');
    assert.match(refused!, /^-ERR unknown command 'sluice\.refused', with args beginning with: 'NOPERM ERR_REDIS_COMMAND_DENIED: INCR on "users:qtx"/);
    assert.equal(queued2, '+QUEUED\r\n');
    assert.match(exec!, /^-EXECABORT/);
    assert.equal(await w.command('GET', 'jobs:qtx'), '$1\r\n0\r\n', 'the transaction did not run');
    assert.equal(await server.command(['EXISTS', 'users:qtx']), ':0\r\n');
    // A transaction without refusals still commits.
    w.sendRaw(Buffer.concat([enc('MULTI'), enc('INCR', 'jobs:qtx'), enc('EXEC')]));
    assert.deepEqual(await w.replies(3), ['+OK\r\n', '+QUEUED\r\n', '*1\r\n:1\r\n']);
    w.close();
  });

  test('commands (the default): QUIT in a pipeline gets +OK after the replies before it and ends the connection; nothing after it runs', async () => {
    const w = await RespConnection.open(queuePort);
    assert.equal(await w.command('AUTH', worker), '+OK\r\n');
    await w.command('SET', 'jobs:qquit', 'before');
    w.sendRaw(Buffer.concat([enc('GET', 'jobs:qquit'), enc('QUIT'), enc('SET', 'jobs:qquit', 'after')]));
    assert.deepEqual(await w.replies(2), ['$6\r\nbefore\r\n', '+OK\r\n']);
    await waitFor(() => w.closed, 5000);
    assert.equal(await server.command(['GET', 'jobs:qquit']), '$6\r\nbefore\r\n');
  });

  test('commands (the default): bytes that are not RESP get ERR_REDIS_PROTOCOL and the connection ends', async () => {
    const w = await RespConnection.open(queuePort);
    assert.equal(await w.command('AUTH', worker), '+OK\r\n');
    w.sendRaw('*1\r\n:5\r\n');
    assert.match(await w.reply(), /ERR_REDIS_PROTOCOL: a command argument that is not a bulk string/);
    await waitFor(() => w.closed, 5000);
  });

  test('commands (the default): ioredis works through it (its ready check too); the record has every command, forwarded ones as "sent" without reply sizes; values masked, no token', async () => {
    const client = new Redis({ host: '127.0.0.1', port: queuePort, password: worker, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await client.connect();
    await client.set('jobs:qcard', 'paid with 4111 1111 1111 1111');
    assert.equal(await client.get('jobs:qcard'), 'paid with 4111 1111 1111 1111');
    await assert.rejects(client.get('secrets:qx'), /NOPERM ERR_REDIS_COMMAND_DENIED: GET on "secrets:qx"/);
    // A pipeline with a refusal in the middle: each result in its place.
    const results = (await client.pipeline().get('jobs:qcard').get('secrets:qy').set('jobs:qp', '1').exec())!;
    assert.equal(results[0]![1], 'paid with 4111 1111 1111 1111');
    assert.match(String(results[1]![0]), /ERR_REDIS_COMMAND_DENIED: GET on "secrets:qy"/);
    assert.equal(results[2]![1], 'OK');
    assert.equal(await client.quit(), 'OK');
    let record: SessionRecord | undefined;
    await waitFor(async () => {
      record = (await gw.records({ protocol: 'redis' })).find((r) => r.target === 'queue' && r.events.some((e) => e.kind === 'redis.command' && e.keys.includes('jobs:qcard')));
      return record !== undefined;
    }, 10_000);
    assert.equal(record!.subject, 'worker-1');
    const commands = record!.events.filter((e) => e.kind === 'redis.command') as any[];
    const set = commands.find((e) => e.command === 'SET');
    assert.deepEqual([set.outcome, set.values, set.replyBytes, set.durationMs], ['sent', ['paid with **** **** **** 1111'], undefined, undefined]);
    assert.ok(commands.some((e) => e.command === 'GET' && e.keys[0] === 'secrets:qx' && e.outcome === 'refused' && e.code === 'ERR_REDIS_COMMAND_DENIED'));
    const replay = replaySession(record!);
    assert.match(replay, /SET "jobs:qcard" "paid with \*{4} \*{4} \*{4} 1111" → sent\n/);
    assert.match(replay, /GET "secrets:qx" → refused ERR_REDIS_COMMAND_DENIED/);
    assert.ok(!JSON.stringify(record).includes(worker), 'no token in the record');
    assert.ok(!JSON.stringify(record).includes('4111 1111 1111 1111'), 'the card is masked in the record');
  });

  test('ext-proc down: a connection to a target with command checks is closed (fail closed), nothing reaches the server, whichever the recording', async () => {
    await gw.stopExtProc();
    try {
      for (const [p, key] of [[jobsPort, 'jobs:down'], [queuePort, 'jobs:qdown']] as const) {
        const c = await RespConnection.open(p);
        c.send('AUTH', worker).send('SET', key, '1');
        await assert.rejects(c.reply(5000));
        assert.equal(await server.command(['EXISTS', key]), ':0\r\n');
      }
    } finally {
      await gw.restartExtProc();
    }
  });

  test('the embedded default: demo-cache (policies/redis.yaml) in front of the shared local Redis lets alice GET and SET under demo:; CONFIG is refused', async () => {
    const demo = gw.config.targets.find((t) => t.name === 'demo-cache')!.redis!.port;
    const key = `demo:e2e:${process.pid}`;
    assert.equal((await redisCli(demo, ['--no-auth-warning', '-a', alice, 'SET', key, 'hello'])).stdout.trim(), 'OK');
    assert.equal((await redisCli(demo, ['--no-auth-warning', '-a', alice, 'GET', key])).stdout.trim(), 'hello');
    const outside = await redisCli(demo, ['--no-auth-warning', '-a', alice, 'SET', `other:${process.pid}`, 'x']);
    assert.match(outside.stdout + outside.stderr, /ERR_REDIS_COMMAND_DENIED/);
    const config = await redisCli(demo, ['--no-auth-warning', '-a', alice, 'CONFIG', 'GET', '*']);
    assert.match(config.stdout + config.stderr, /ERR_REDIS_COMMAND_DENIED: CONFIG is refused/);
    assert.doesNotMatch(config.stdout, /maxmemory/);
    await redisCli(demo, ['--no-auth-warning', '-a', alice, 'DEL', key]);
  });

  test('ext-authz down: AUTH fails closed ("external authentication failed"), commands get NOAUTH; back up, logins work', async () => {
    await gw.stopExtAuthz();
    try {
      const c = await RespConnection.open(port);
      assert.match(await c.command('AUTH', alice), /^-ERR external authentication failed/);
      assert.match(await c.command('GET', 'e2e:k1'), /^-NOAUTH/);
      c.close();
    } finally {
      await gw.restartExtAuthz();
    }
    const c = await RespConnection.open(port);
    await waitFor(async () => (await c.command('AUTH', alice)) === '+OK\r\n', 10_000);
    c.close();
  });

  test('rotation: a new upstream password reaches Envoy\'s new upstream connections without a restart; no password in files, logs or replies', async () => {
    const secretsDir = path.join(gw.xdsDir, 'secrets');
    const before = readdirSync(secretsDir);
    await server.command(['ACL', 'SETUSER', GW_USER, `>${PASSWORD_2}`]);
    Gateway.writeSecretsFile(gw.secretsFile, { 'demo-api-token': 'demo-upstream-secret-0001', 'ops-api-key': 'ops-upstream-secret-0001', 'cache-password': PASSWORD_2 });
    await waitFor(() => readdirSync(secretsDir).some((f) => f.startsWith('cache.password.') && !before.includes(f)) && readdirSync(secretsDir).filter((f) => f.startsWith('cache.password.')).length === 1, 15_000);
    // The old password is gone from the server and every upstream connection is cut: only the new one can log in.
    await server.command(['ACL', 'SETUSER', GW_USER, `<${PASSWORD_1}`]);
    await new Promise((r) => setTimeout(r, 1500));
    await server.command(['CLIENT', 'KILL', 'USER', GW_USER]);
    await waitFor(async () => {
      const c = await RespConnection.open(port);
      try {
        return (await c.command('AUTH', alice)) === '+OK\r\n' && (await c.command('GET', 'e2e:k1')) === '$2\r\nv1\r\n';
      } finally {
        c.close();
      }
    }, 15_000);
    for (const file of readdirSync(secretsDir)) assert.equal(statSync(path.join(secretsDir, file)).mode & 0o077, 0, `${file} is private`);
    for (const file of ['cds.json', 'lds.json', 'rds.json']) {
      const text = readFileSync(path.join(gw.xdsDir, file), 'utf8');
      assert.ok(!text.includes(PASSWORD_1) && !text.includes(PASSWORD_2), `${file} holds no password`);
    }
    const logs = [gw.logs.text(), gw.decisions.text(), gw.procLogs.text()].join('\n');
    assert.ok(!logs.includes(PASSWORD_1) && !logs.includes(PASSWORD_2), 'no password in any log');
  });
});

function enc(...args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
}
