import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { RedisUpstreamLogins } from '../../envoy/redis-upstream/logins.ts';
import { startRedisServer, type RedisServer } from '../harness/redis-server.ts';

const logger = createLogger('test', { level: 'silent' });

/** A sluice.yaml with one redis target on `port`, its credential naming secret `pw` (as `user` when given). */
function config(port: number, options: { user?: string; allowPrivilegedUpstream?: boolean; credential?: boolean } = {}) {
  return parseConfig(JSON.stringify({
    targets: [{ name: 'cache', protocol: 'redis', endpoints: [`127.0.0.1:${port}`], redis: { port: 16399, ...(options.allowPrivilegedUpstream ? { allowPrivilegedUpstream: true } : {}) } }],
    extProc: { credentials: options.credential === false ? [] : [{ target: 'cache', secret: 'pw', ...(options.user ? { redis: { user: options.user } } : {}) }] },
  }), '/tmp/sluice-redis-upstream.yaml');
}

const secrets = (values: Record<string, string>) => ({ get: (name: string) => values[name], close: async () => undefined });

describe('the start-time check of a redis target\'s upstream user (real redis-server)', () => {
  let server: RedisServer;
  let dir: string;
  before(async () => {
    server = await startRedisServer({
      requirepass: 'default-pass-123',
      users: ['user gw on >gw-pass-123 ~* &* +@all -@dangerous -select -client', 'user root on >root-pass-123 ~* &* +@all'],
    });
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-logins-'));
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the least-privilege ACL user passes; its login files are private and hold the values only', async () => {
    const logins = new RedisUpstreamLogins({ dir, secrets: secrets({ pw: 'gw-pass-123' }), logger });
    const files = (await logins.prepare(config(server.port, { user: 'gw' }))).get('cache')!;
    assert.equal(readFileSync(files.passwordFile, 'utf8'), 'gw-pass-123');
    assert.equal(readFileSync(files.usernameFile!, 'utf8'), 'gw');
    assert.equal(statSync(files.passwordFile).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.ok(!path.basename(files.passwordFile).includes('gw-pass'), 'the file name is a digest, not the value');
  });

  test('a user that can run CONFIG is refused with ERR_REDIS_UPSTREAM_PRIVILEGED, naming the target and user, never the password', async () => {
    for (const [user, pw] of [['root', 'root-pass-123'], [undefined, 'default-pass-123']] as const) {
      const logins = new RedisUpstreamLogins({ dir, secrets: secrets({ pw }), logger });
      await assert.rejects(logins.prepare(config(server.port, user ? { user } : {})), (err: any) => {
        assert.equal(err.code, 'ERR_REDIS_UPSTREAM_PRIVILEGED');
        assert.match(err.message, /redis target "cache"/);
        assert.match(err.message, new RegExp(`user "${user ?? 'default'}" can run CONFIG`));
        assert.ok(!err.message.includes(pw));
        return true;
      });
    }
  });

  test('allowPrivilegedUpstream lets a development target through (with a warning)', async () => {
    const logins = new RedisUpstreamLogins({ dir, secrets: secrets({ pw: 'root-pass-123' }), logger });
    assert.ok((await logins.prepare(config(server.port, { user: 'root', allowPrivilegedUpstream: true }))).get('cache'));
  });

  test('a wrong password, a missing secret, no credential for a server that wants one, and an unreachable server are each refused with their code', async () => {
    const wrong = new RedisUpstreamLogins({ dir, secrets: secrets({ pw: 'nope-nope' }), logger });
    await assert.rejects(wrong.prepare(config(server.port, { user: 'gw' })), (err: any) => err.code === 'ERR_REDIS_UPSTREAM_LOGIN' && !err.message.includes('nope-nope'));
    const missing = new RedisUpstreamLogins({ dir, secrets: secrets({}), logger });
    await assert.rejects(missing.prepare(config(server.port, { user: 'gw' })), (err: any) => err.code === 'ERR_REDIS_NO_CREDENTIAL' && err.details.target === 'cache');
    const none = new RedisUpstreamLogins({ dir, secrets: secrets({}), logger });
    await assert.rejects(none.prepare(config(server.port, { credential: false })), (err: any) => err.code === 'ERR_REDIS_UPSTREAM_LOGIN' && /needs a password/.test(err.message));
    await assert.rejects(none.prepare(config(1, { credential: false })), (err: any) => err.code === 'ERR_REDIS_UPSTREAM_UNREACHABLE');
  });

  test('a rotated password is a new file; prune keeps only the live ones', async () => {
    const values: Record<string, string> = { pw: 'gw-pass-123' };
    const logins = new RedisUpstreamLogins({ dir, secrets: secrets(values), logger });
    const first = await logins.prepare(config(server.port, { user: 'gw' }));
    await server.command(['ACL', 'SETUSER', 'gw', '>gw-pass-456']);
    values.pw = 'gw-pass-456';
    const second = await logins.prepare(config(server.port, { user: 'gw' }));
    assert.notEqual(first.get('cache')!.passwordFile, second.get('cache')!.passwordFile);
    await logins.prune(second);
    assert.deepEqual(readdirSync(dir).sort(), [path.basename(second.get('cache')!.passwordFile), path.basename(second.get('cache')!.usernameFile!)].sort());
  });
});
