import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { startPostgresServer, type PostgresAuth, type PostgresServer } from '../harness/postgres-server.ts';

const execFileAsync = promisify(execFile);

/** psql over TCP with PGPASSWORD, as a client outside the harness would log in. */
async function psqlOverTcp(server: PostgresServer, password: string): Promise<{ ok: true; stdout: string } | { ok: false; stderr: string }> {
  try {
    const { stdout } = await execFileAsync('psql', ['-X', '-A', '-t', '-w', '-h', server.host, '-p', String(server.port), '-U', server.user, '-d', server.database, '-c', 'SELECT current_user'], {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: password },
    });
    return { ok: true, stdout };
  } catch (err) {
    return { ok: false, stderr: String((err as { stderr?: string }).stderr) };
  }
}

async function pgLogin(server: PostgresServer, password: string): Promise<string> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password, database: server.database });
  await client.connect();
  try {
    const { rows } = await client.query<{ user: string }>('SELECT current_user AS user');
    return rows[0]!.user;
  } finally {
    await client.end();
  }
}

const pgCode = (expected: string) => (err: unknown) => (err as { code?: string }).code === expected;

for (const auth of ['scram-sha-256', 'md5'] as const satisfies readonly PostgresAuth[]) {
  describe(`startPostgresServer({ auth: '${auth}' })`, () => {
    let server: PostgresServer;
    before(async () => { server = await startPostgresServer({ auth }); });
    after(() => server?.stop());

    test('the role and database exist; the stored password has the matching format', async () => {
      assert.equal(server.database, 'app');
      assert.equal(server.user, 'sluice_app');
      assert.ok(server.password.length >= 16, 'a random default password');
      assert.equal((await server.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'")).trim(), 'sluice_app');
      const stored = (await server.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'sluice_app'")).trim();
      assert.match(stored, auth === 'md5' ? /^md5[0-9a-f]{32}$/ : /^SCRAM-SHA-256\$4096:/);
    });

    test('psql with PGPASSWORD logs in; a wrong password is refused', async () => {
      const good = await psqlOverTcp(server, server.password);
      assert.deepEqual(good, { ok: true, stdout: 'sluice_app\n' });
      const bad = await psqlOverTcp(server, 'wrong');
      assert.equal(bad.ok, false);
      assert.match((bad as { stderr: string }).stderr, /password authentication failed for user "sluice_app"/);
    });

    test('the pg client logs in with the method asked for; a wrong password fails with 28P01', async () => {
      assert.equal(await pgLogin(server, server.password), 'sluice_app');
      await assert.rejects(pgLogin(server, 'wrong'), pgCode('28P01'));
      assert.match(server.log(), new RegExp(`connection authenticated: identity="sluice_app" method=${auth}`));
    });

    test('sql() runs as the superuser in app and rejects on an SQL error', async () => {
      assert.equal(await server.sql('SELECT current_user, current_database()'), 'postgres|app\n');
      await server.sql('CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2)');
      assert.equal(await server.sql('SELECT sum(n) FROM t'), '3\n');
      await assert.rejects(server.sql('SELECT * FROM no_such_table'), /no_such_table/);
    });
  });
}

describe('startPostgresServer: other methods, options, stop and a failed start', () => {
  test("'password' and 'trust', with a chosen user and password", async () => {
    const password = await startPostgresServer({ auth: 'password', user: 'app "owner"', password: "it's a secret" });
    const trust = await startPostgresServer({ auth: 'trust' });
    try {
      assert.equal(await pgLogin(password, "it's a secret"), 'app "owner"');
      await assert.rejects(pgLogin(password, 'wrong'), pgCode('28P01'));
      assert.match(password.log(), /method=password/);
      assert.equal(await pgLogin(trust, 'anything'), 'sluice_app', 'trust ignores the password');
    } finally {
      await Promise.all([password.stop(), trust.stop()]);
    }
  });

  test('stop() shuts the server down and removes its directory; a second stop is a no-op', async () => {
    const server = await startPostgresServer({ auth: 'scram-sha-256' });
    const dataDir = (await server.sql('SHOW data_directory')).trim();
    assert.ok(existsSync(dataDir));
    await server.stop();
    assert.equal(existsSync(dataDir), false);
    assert.equal(existsSync(dataDir.replace(/\/data$/, '')), false);
    await server.stop();
    await assert.rejects(pgLogin(server, server.password), pgCode('ECONNREFUSED'));
  });

  test('a start that fails (here: the role cannot be created) stops the server and removes the directory', async () => {
    const err: Error = await startPostgresServer({ auth: 'md5', user: 'postgres' }).then(() => assert.fail('started'), (e: Error) => e);
    assert.match(err.message, /role "postgres" already exists/);
    assert.match(err.message, /--- server log ---/);
    const dir = /in (\/tmp\/sluice-pg-\S+) did not start/.exec(err.message)?.[1];
    assert.ok(dir, err.message);
    assert.equal(existsSync(dir), false, 'the directory is removed');
  });
});

describe('startPostgresServer({ durable: true }): down() and up()', () => {
  let server: PostgresServer;
  before(async () => { server = await startPostgresServer({ auth: 'scram-sha-256', durable: true }); });
  after(async () => { await server?.stop(); });

  test('a commit survives an immediate stop; logins fail while down and work again on the same port after up()', async () => {
    assert.equal((await server.sql('SHOW synchronous_commit')).trim(), 'on');
    assert.equal((await server.sql('SHOW fsync')).trim(), 'on');
    await server.sql('CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    await server.down();
    await assert.rejects(pgLogin(server, server.password));
    await server.up();
    assert.equal(await pgLogin(server, server.password), server.user);
    assert.equal((await server.sql('SELECT n FROM kept')).trim(), '42');
  });
});
