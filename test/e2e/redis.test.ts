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
  let alice: string;

  before(async () => {
    server = await startRedisServer({ users: ['user default off', gatewayAcl(PASSWORD_1)] });
    port = await freePort();
    gw = await Gateway.start({
      extraPolicies: { 'cache.yaml': POLICY },
      targets: [{ name: 'cache', protocol: 'redis', endpoints: [`127.0.0.1:${server.port}`], redis: { port } }],
      credentials: [{ target: 'cache', secret: 'cache-password', redis: { user: GW_USER } }],
      secrets: { 'cache-password': PASSWORD_1 },
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
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
