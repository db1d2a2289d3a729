import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { encodeBind, encodeDescribe, encodeExecute, encodeParse, encodeSync } from '../../ext-proc/postgres/wire/frontend.ts';
import { rawLogin, readUntilReady } from '../harness/pg-wire-client.ts';
import { Gateway } from '../harness/gateway.ts';
import { startPostgresServer } from '../harness/postgres-server.ts';
import { waitFor } from '../harness/wait.ts';
import { approvalsCall, pendingFor } from '../harness/approvals-client.ts';
import { freePort } from '../../common/free-port.ts';
import type { SessionRecord } from '../../ext-proc/sessions/index.ts';

const POLICY = `
policies:
  - name: pg-engineers
    targets: [pgdb]
    subjects:
      - issuer: dev
        groups: [engineering]
    database:
      users: [app_user]
      databases: [app]
    rules:
      - name: reads
        effect: allow
        statements: [read]
      - name: write-jobs
        effect: allow
        statements: [write]
        tables: [jobs]
      - name: deletes-need-approval
        effect: approve
        statements: [DELETE]
        tables: [accounts]
        approval:
          approvers: [sre]
          quorum: any
          grant: request
          hold: 20s
      - name: no-ddl
        effect: deny
        statements: [ddl]
`;

interface PsqlResult { code: number; stdout: string; stderr: string }

function psql(port: number, user: string, password: string, commands: string[], database = 'app'): Promise<PsqlResult> {
  const args = [`host=127.0.0.1 port=${port} user=${user} dbname=${database} password=${password} connect_timeout=10`, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=0'];
  for (const c of commands) args.push('-c', c);
  return new Promise((resolve) => {
    execFile('psql', args, { timeout: 30_000, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, PGAPPNAME: 'e2e-psql' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout, stderr });
    });
  });
}

const records = (gw: Gateway): Promise<SessionRecord[]> => gw.records({ protocol: 'postgres' });

function statements(record: SessionRecord): any[] {
  return record.events.filter((e) => e.kind === 'pg.statement');
}

describe('PostgreSQL through real Envoy: token login, SCRAM to the server, statement policy, masking, records', () => {
  let db: Awaited<ReturnType<typeof startPostgresServer>>;
  let gw: Gateway;
  let port: number;
  let alice: string;
  let sam: string;

  before(async () => {
    db = await startPostgresServer({ auth: 'scram-sha-256', user: 'app_user' });
    await db.sql(`CREATE TABLE public.jobs (id serial primary key, name text); CREATE TABLE public.accounts (id int, owner text, card text, email text);
      INSERT INTO public.accounts VALUES (1, 'jane', '4111 1111 1111 1111', 'jane@example.com'), (2, 'joe', '5500 0000 0000 0004', 'joe@example.org'), (3, 'ann', '4012 8888 8888 1881', 'none');
      GRANT ALL ON ALL TABLES IN SCHEMA public TO app_user; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO app_user;`);
    port = await freePort();
    gw = await Gateway.start({
      extraPolicies: { 'pg.yaml': POLICY },
      targets: [{ name: 'pgdb', protocol: 'postgres', endpoints: [`127.0.0.1:${db.port}`], postgres: { port, recheck: '1s' } }],
      credentials: [{ target: 'pgdb', secret: 'pg-password' }],
      secrets: { 'pg-password': db.password },
      masking: {
        profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }, { use: 'email', strategy: 'redact' }] }],
        targets: { pgdb: 'pii' },
      },
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
    sam = await gw.issuer.mint({ sub: 'sam', groups: ['sre'] });
  });
  after(async () => {
    await gw?.stop();
    await db?.stop();
  });

  test('psql logs in with a token as the password; the gateway logs in upstream with SCRAM and the real password', async () => {
    const r = await psql(port, 'app_user', alice, ['select current_user, 40 + 2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'app_user|42');
    assert.match(db.log(), /authenticated|connection authorized/i);
  });

  test('a wrong token, an expired token and a db user the policy does not allow get ErrorResponses, not a dropped connection', async () => {
    const wrong = await psql(port, 'app_user', 'not-a-token', ['select 1']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /FATAL/);
    assert.match(wrong.stderr, /token/i);
    const expired = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: -120 });
    const old = await psql(port, 'app_user', expired, ['select 1']);
    assert.match(old.stderr, /FATAL/);
    assert.match(old.stderr, /expired/i);
    const otherUser = await psql(port, 'postgres', alice, ['select 1']);
    assert.match(otherUser.stderr, /FATAL/);
    assert.match(otherUser.stderr, /may not log in|not allowed/i);
    const nobody = await gw.issuer.mint({ sub: 'mallory', groups: ['guests'] });
    const guest = await psql(port, 'app_user', nobody, ['select 1']);
    assert.match(guest.stderr, /FATAL/);
  });

  test('a denied statement gets an ErrorResponse and the same session goes on; inside a transaction the server state stays honest', async () => {
    const r = await psql(port, 'app_user', alice, ['create table evil (a int)', 'select 7']);
    assert.match(r.stderr, /ERROR:.*(not allowed|denied)/i);
    assert.equal(r.stdout.trim(), '7');
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'app_user', database: 'app', password: alice });
    await client.connect();
    try {
      await client.query('BEGIN');
      await assert.rejects(client.query('DROP TABLE public.jobs'), (err: any) => err.code === '42501');
      // The server aborted the transaction, exactly as the client was told.
      await assert.rejects(client.query('SELECT 1'), (err: any) => err.code === '25P02');
      await client.query('ROLLBACK');
      const ok = await client.query('SELECT count(*)::int AS n FROM public.jobs');
      assert.equal(ok.rows[0].n, 0);
    } finally {
      await client.end();
    }
    const still = await db.sql(`select count(*) from pg_tables where tablename in ('evil')`);
    assert.match(still, /\b0\b/);
  });

  test('node-pg: parameterised queries (extended protocol) are checked; a write outside the allowed tables is refused', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'app_user', database: 'app', password: alice });
    await client.connect();
    try {
      const inserted = await client.query('INSERT INTO public.jobs (name) VALUES ($1), ($2) RETURNING id', ['build', 'test']);
      assert.equal(inserted.rowCount, 2);
      const read = await client.query('SELECT name FROM public.jobs WHERE name = $1', ['build']);
      assert.deepEqual(read.rows, [{ name: 'build' }]);
      await assert.rejects(client.query('UPDATE public.accounts SET owner = $1', ['x']), (err: any) => err.code === '42501');
      // Same prepared text again: the session is fine and the statement still checked.
      const again = await client.query('SELECT name FROM public.jobs WHERE name = $1', ['test']);
      assert.deepEqual(again.rows, [{ name: 'test' }]);
    } finally {
      await client.end();
    }
    const owners = await db.sql('select owner from public.accounts order by id');
    assert.doesNotMatch(owners, /\bx\b/);
  });

  test('results are masked row by row, column values rewritten with consistent lengths', async () => {
    const r = await psql(port, 'app_user', alice, ['select id, card, email from public.accounts order by id']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.doesNotMatch(r.stdout, /4111 1111 1111 1111|jane@example\.com|joe@example\.org/);
    assert.match(lines[0]!, /^1\|\*{4} \*{4} \*{4} 1111\|\[REDACTED:email\]$/);
    assert.match(lines[2]!, /^3\|\*{4} \*{4} \*{4} 1881\|none$/);
  });

  test('COPY OUT is masked row by row, in order, with nothing lost', async () => {
    const rows = 50_000;
    const r = await psql(port, 'app_user', alice, [`COPY (SELECT g, '4111 1111 1111 1111' AS card, 'user' || g || '@example.com' AS email FROM generate_series(1, ${rows}) g) TO STDOUT`]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, rows);
    assert.ok(!r.stdout.includes('4111 1111 1111 1111'));
    assert.ok(!r.stdout.includes('@example.com'));
    lines.forEach((line, i) => assert.equal(line, `${i + 1}\t**** **** **** 1111\t[REDACTED:email]`));
  });

  test('a pipelined extended-protocol batch: a refused statement fails, the server skips the rest up to Sync, the next batch runs', async () => {
    const socket = await rawLogin(port, 'app_user', 'app', alice);
    try {
      const batch = (sql: string) => [encodeParse({ statement: '', query: sql, paramTypes: [] }), encodeBind({ portal: '', statement: '', paramFormats: [], params: [], resultFormats: [] }), encodeExecute('')];
      socket.write(Buffer.concat([...batch('select 1'), ...batch('drop table public.jobs'), ...batch('select 2'), encodeSync()]));
      const first = await readUntilReady(socket);
      assert.deepEqual(first.map((m) => m.type), ['1', '2', 'D', 'C', '1', '2', 'E', 'Z']);
      assert.match(first[6]!.text, /42501/);
      socket.write(Buffer.concat([...batch('select 3'), encodeSync()]));
      const second = await readUntilReady(socket);
      assert.deepEqual(second.map((m) => m.type), ['1', '2', 'D', 'C', 'Z']);
      assert.match(second[2]!.text, /3/);
    } finally {
      socket.destroy();
    }
    assert.match(await db.sql(`select count(*) from pg_tables where tablename = 'jobs'`), /\b1\b/);
  });

  test('rows of a prepared statement executed later (no RowDescription in front of them) are masked too', async () => {
    const socket = await rawLogin(port, 'app_user', 'app', alice);
    try {
      socket.write(Buffer.concat([
        encodeParse({ statement: 's1', query: 'select id, card, email from public.accounts where id = $1', paramTypes: [] }),
        encodeDescribe('S', 's1'), encodeSync(),
      ]));
      const prepared = await readUntilReady(socket);
      assert.deepEqual(prepared.map((m) => m.type), ['1', 't', 'T', 'Z']);
      for (const id of ['1', '2']) {
        socket.write(Buffer.concat([
          encodeBind({ portal: '', statement: 's1', paramFormats: [], params: [Buffer.from(id)], resultFormats: [] }),
          encodeExecute(''), encodeSync(),
        ]));
        const rows = await readUntilReady(socket);
        assert.deepEqual(rows.map((m) => m.type), ['2', 'D', 'C', 'Z']);
        const text = rows[1]!.text;
        assert.doesNotMatch(text, /4111 1111 1111 1111|5500 0000 0000 0004|@example/);
        assert.match(text, /\*\*\*\* \*\*\*\* \*\*\*\* (1111|0004)/);
        assert.match(text, /\[REDACTED:email\]/);
      }
    } finally {
      socket.destroy();
    }
  });

  test('a statement on an approve rule waits for an approver, then runs', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'app_user', database: 'app', password: alice });
    await client.connect();
    try {
      const held = client.query('DELETE FROM public.accounts WHERE id = 3');
      const { value: pending } = await waitFor(async () => (await pendingFor(gw.replicas[0]!.approvalsUrl, sam, 'alice'))[0], 10_000, 50);
      assert.match(JSON.stringify(pending), /DELETE FROM public\.accounts/i);
      const decided = await approvalsCall(gw.replicas[0]!.approvalsUrl, sam, 'POST', `/approvals/${pending.id}/approve`, { reason: 'cleanup' });
      assert.equal(decided.status, 200, JSON.stringify(decided.body));
      const result = await held;
      assert.equal(result.rowCount, 1);
    } finally {
      await client.end();
    }
  });

  test('the session is one record: identity, db user, statements with outcome, rows and masking; no secret anywhere', async () => {
    const all = await records(gw);
    const masked = all.find((r) => statements(r).some((e) => /from public\.accounts order by id/.test(e.text)));
    assert.ok(masked, 'the masked session is recorded');
    assert.equal(masked.subject, 'alice');
    assert.equal(masked.target, 'pgdb');
    const login = masked.events.find((e) => e.kind === 'pg.login') as any;
    assert.equal(login.user, 'app_user');
    assert.equal(login.database, 'app');
    const select = statements(masked).find((e) => /order by id/.test(e.text));
    assert.equal(select.outcome, 'ok');
    assert.equal(select.rows, 3);
    assert.equal(select.masked, 5, 'values masked: three cards, two emails');
    assert.deepEqual(masked.masking?.response.masked, { card: 3, email: 2 });
    assert.equal(masked.masking?.profile, 'pii');
    const refused = all.flatMap(statements).find((e) => /create table evil/i.test(e.text));
    assert.equal(refused.outcome, 'refused');
    assert.equal(refused.code, 'ERR_STATEMENT_DENIED');
    const params = all.flatMap(statements).find((e) => /INSERT INTO public\.jobs/.test(e.text));
    assert.deepEqual(params.params, ['build', 'test']);
    assert.equal(params.rows, 2);
    const approved = all.flatMap(statements).find((e) => /DELETE FROM public\.accounts/.test(e.text));
    assert.ok(approved.approvalId);
    assert.equal(approved.outcome, 'ok');
    const everything = [JSON.stringify(all), gw.procLogs.text(), gw.logs.text(), gw.decisions.text()].join('\n');
    assert.ok(!everything.includes(db.password), 'the database password never reaches records or logs');
    assert.ok(!everything.includes(alice), 'the token never reaches records or logs');
  });

  test('a session ends at the token\'s exp with a FATAL error, and the record says why', async () => {
    const short = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 3 });
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'app_user', database: 'app', password: short, application_name: 'expiring' });
    const ended = new Promise<any>((resolve) => client.on('error', resolve));
    await client.connect();
    assert.equal((await client.query('select 1 as one')).rows[0].one, 1);
    const err = await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the session outlived its token')), 10_000))]);
    assert.match(String(err.message), /expired/i);
    await client.end().catch(() => {});
    const { value: record } = await waitFor(async () => (await records(gw)).find((r) => r.events.some((e: any) => e.kind === 'pg.login' && e.applicationName === 'expiring')), 5000);
    assert.ok(record!.events.some((e: any) => e.kind === 'end' && /expired/.test(e.reason)));
  });

  test('a policy reload that withdraws the grant ends a running session with a FATAL error', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'app_user', database: 'app', password: alice, application_name: 'revoked' });
    const ended = new Promise<any>((resolve) => client.on('error', resolve));
    await client.connect();
    await client.query('select 1');
    const file = path.join(gw.policyDir, 'pg.yaml');
    writeFileSync(file, POLICY.replace('groups: [engineering]', 'groups: [nobody]'));
    try {
      const err = await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the session outlived its revocation')), 10_000))]);
      assert.match(String(err.message), /revoked/i);
    } finally {
      writeFileSync(file, POLICY);
      await client.end().catch(() => {});
    }
    const { value: record } = await waitFor(async () => (await records(gw)).find((r) => r.events.some((e: any) => e.kind === 'pg.login' && e.applicationName === 'revoked')), 5000);
    assert.ok(record!.events.some((e: any) => e.kind === 'end' && /revoked/.test(e.reason)));
    // The restored policy lets alice in again.
    const { value } = await waitFor(async () => {
      const r = await psql(port, 'app_user', alice, ['select 9']);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, 10_000, 200);
    assert.equal(value, '9');
  });

  test('ext-proc killed mid-session: the client sees an error, the next session works after it is back', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'app_user', database: 'app', password: alice });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    await client.connect();
    await client.query('select 1');
    await gw.stopExtProc({ crash: true });
    await assert.rejects(client.query('select 2'));
    await client.end().catch(() => {});
    await gw.restartExtProc();
    const { value } = await waitFor(async () => {
      const r = await psql(port, 'app_user', alice, ['select 3']);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, 15_000, 200);
    assert.equal(value, '3');
  });

  test('rotation: a new password in the secrets file reaches the next session, no restart', async () => {
    const next = 'rotated-' + Math.random().toString(36).slice(2);
    await db.sql(`ALTER ROLE app_user PASSWORD '${next}'`);
    const stale = await psql(port, 'app_user', alice, ['select 1']);
    assert.match(stale.stderr, /could not log in to the database/);
    Gateway.writeSecretsFile(gw.secretsFile, { 'demo-api-token': 'demo-upstream-secret-0001', 'ops-api-key': 'ops-upstream-secret-0001', 'pg-password': next });
    const { value } = await waitFor(async () => {
      const r = await psql(port, 'app_user', alice, ['select 5']);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, 10_000, 200);
    assert.equal(value, '5');
    const logs = gw.procLogs.text();
    assert.ok(!logs.includes(next));
  });
});
