import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedisServer, type RedisServer } from '../harness/redis-server.ts';

describe('startRedisServer(): down() and up()', () => {
  let server: RedisServer;
  before(async () => { server = await startRedisServer(); });
  after(async () => { await server?.stop(); });

  test('down() kills it (commands fail), up() brings it back on the same port, empty (no persistence)', async () => {
    assert.equal(await server.command(['SET', 'k', 'v']), '+OK\r\n');
    await server.down();
    await assert.rejects(server.command(['PING']));
    await server.up();
    assert.equal(await server.command(['PING']), '+PONG\r\n');
    assert.equal(await server.command(['GET', 'k']), '$-1\r\n', 'what it held went with it');
  });
});
