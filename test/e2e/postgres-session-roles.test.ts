import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import pg from 'pg';
import { freePort } from '../../common/free-port.ts';
import { encodeMarker } from '../../ext-proc/postgres/session-roles/role-sql.ts';
import type { SessionRecord } from '../../ext-proc/sessions/index.ts';
import { Gateway } from '../harness/gateway.ts';
import { startPostgresServer, type PostgresServer } from '../harness/postgres-server.ts';
import { waitFor } from '../harness/wait.ts';

/*
 * Per-session roles through real Envoy against a throwaway SCRAM cluster: the admin is an
 * ordinary CREATEROLE role (not a superuser), as the README tells operators to set it up.
 */

const ADMIN_PASSWORD = 'admin-pw-Zq81-never-in-a-log';
const PREFIX = 'sluice_s_';

const POLICY = `
policies:
  - name: analysts
    targets: [pgroles, pgnoadmin, pgbadadmin]
    subjects: [{ issuer: dev, groups: [analysts] }]
    database: { users: [analyst], databases: [app], grant: [readonly] }
    rules:
      - { name: reads, effect: allow, statements: [read] }
`;

interface PsqlResult { code: number; stdout: string; stderr: string }

function psql(port: number, token: string, commands: string[]): Promise<PsqlResult> {
  const args = [`host=127.0.0.1 port=${port} user=analyst dbname=app password=${token} connect_timeout=10`, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=0'];
  for (const c of commands) args.push('-c', c);
  return new Promise((resolve) => {
    execFile('psql', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout, stderr });
    });
  });
}

const expOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;

const records = (gw: Gateway): Promise<SessionRecord[]> => gw.records({ protocol: 'postgres' });

describe('PostgreSQL per-session roles through real Envoy', () => {
  let db: PostgresServer;
  let gw: Gateway;
  let port: number;
  let noAdminPort: number;
  let badAdminPort: number;
  const minted = () => db.sql(`SELECT rolname FROM pg_roles WHERE rolname LIKE '${PREFIX.replaceAll('_', '\\_')}%' ORDER BY 1`).then((out) => out.split('\n').filter(Boolean));

  before(async () => {
    db = await startPostgresServer({ auth: 'scram-sha-256', user: 'app_user' });
    await db.sql(`CREATE ROLE readonly NOLOGIN; CREATE ROLE reporting NOLOGIN;
      CREATE TABLE public.orders (id int, item text); INSERT INTO public.orders VALUES (1, 'tea'), (2, 'cake');
      CREATE TABLE public.payroll (id int, salary int); INSERT INTO public.payroll VALUES (1, 100);
      GRANT USAGE ON SCHEMA public TO readonly; GRANT SELECT ON public.orders TO readonly;
      CREATE ROLE sluice_admin LOGIN CREATEROLE PASSWORD '${ADMIN_PASSWORD}';
      GRANT readonly, reporting TO sluice_admin WITH ADMIN OPTION;`);
    [port, noAdminPort, badAdminPort] = [await freePort(), await freePort(), await freePort()];
    const target = (name: string, listen: number, secret: string) => ({
      name, protocol: 'postgres', endpoints: [`127.0.0.1:${db.port}`],
      postgres: { port: listen, recheck: '1s', sessionRoles: { admin: { user: 'sluice_admin', secret, database: 'app' }, grantable: ['readonly', 'reporting'], namePrefix: PREFIX } },
    });
    gw = await Gateway.start({
      extraPolicies: { 'pg-roles.yaml': POLICY },
      targets: [target('pgroles', port, 'pg-admin'), target('pgnoadmin', noAdminPort, 'pg-admin-not-stored'), target('pgbadadmin', badAdminPort, 'pg-admin-wrong')],
      secrets: { 'pg-admin': ADMIN_PASSWORD, 'pg-admin-wrong': 'not-the-admin-password' },
    });
  });
  after(async () => {
    await gw?.stop();
    await db?.stop();
  });

  test('login mints a role valid until the token\'s exp with the granted role\'s privileges only; when the session ends the role is gone', async () => {
    const token = await gw.issuer.mint({ sub: 'ann', groups: ['analysts'], ttlSeconds: 600 });
    const r = await psql(port, token, [
      `SELECT current_user, extract(epoch FROM rolvaliduntil)::bigint, rolconnlimit, rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user`,
      'SELECT pg_has_role(current_user, \'readonly\', \'USAGE\'), pg_has_role(current_user, \'reporting\', \'MEMBER\')',
      'SELECT item FROM public.orders ORDER BY id',
      'SELECT salary FROM public.payroll',
    ]);
    const [who, inherits, tea, cake] = r.stdout.trim().split('\n');
    const [name, validUntil, connLimit, powerful] = who!.split('|');
    assert.match(name!, /^sluice_s_[0-9a-f]{16}$/);
    assert.equal(Number(validUntil), expOf(token)); // expiryGrace 0s
    assert.equal(connLimit, '1');
    assert.equal(powerful, 'f');
    assert.equal(inherits, 't|f');
    assert.deepEqual([tea, cake], ['tea', 'cake']);
    assert.match(r.stderr, /ERROR:\s+permission denied for table payroll/);
    await waitFor(async () => !(await minted()).includes(name!), 10_000);

    const [record] = (await records(gw)).filter((x) => x.target === 'pgroles' && x.subject === 'ann');
    const login = record!.events.find((e) => e.kind === 'pg.login') as any;
    assert.equal(login.upstreamUser, name);
    assert.deepEqual(login.sessionRole, { granted: ['readonly'], validUntil: expOf(token) * 1000 });
    const payroll = record!.events.find((e) => e.kind === 'pg.statement' && (e as any).text.includes('payroll')) as any;
    assert.equal(payroll.outcome, 'error');
    const decision = gw.decisions.lines.map((l) => JSON.parse(l)).find((d) => d.target === 'pgroles' && d.phase === 'login' && d.subject === 'ann');
    assert.deepEqual(decision.db_roles, ['readonly']);
  });

  test('a live session\'s role is marked with its replica and session; the token\'s expiry ends the session and the role', async () => {
    const token = await gw.issuer.mint({ sub: 'ben', groups: ['analysts'], ttlSeconds: 4 });
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'analyst', database: 'app', password: token });
    const ended = new Promise<Error>((resolve) => client.on('error', resolve));
    await client.connect();
    const { rows } = await client.query('SELECT current_user AS name');
    const name = rows[0].name as string;
    const comment = JSON.parse(await db.sql(`SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '${name}'`));
    assert.equal(comment.replica, hostname());
    assert.equal(comment.target, 'pgroles');
    assert.equal(comment.database, 'app');
    const err = await ended;
    assert.match(err.message, /token expired/);
    await waitFor(async () => !(await minted()).includes(name), 10_000);
    await client.end().catch(() => undefined);
  });

  test('ext-proc stopping ends live roles; a crashed one\'s leftovers are swept on the next start: its own, and others\' expired ones only', async () => {
    const token = await gw.issuer.mint({ sub: 'cat', groups: ['analysts'], ttlSeconds: 600 });
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'analyst', database: 'app', password: token });
    client.on('error', () => undefined);
    await client.connect();
    const live = (await client.query('SELECT current_user AS name')).rows[0].name as string;
    await gw.stopExtProc({ crash: true });
    await waitFor(async () => !(await minted()).includes(live), 10_000);
    await client.end().catch(() => undefined);

    // What a process killed with SIGKILL leaves behind (it runs no code): roles as the gateway
    // mints them (the admin a member), one owning a table; plus roles the sweep must not touch.
    const marker = (replica: string, validUntil: number) => encodeMarker({ replica, session: 's', target: 'pgroles', database: 'app', validUntil });
    const future = Date.now() + 3_600_000;
    await db.sql(`CREATE ROLE sluice_s_deadbeef00000001 LOGIN ROLE sluice_admin; COMMENT ON ROLE sluice_s_deadbeef00000001 IS '${marker(hostname(), future)}';
      CREATE TABLE public.left_behind (a int); ALTER TABLE public.left_behind OWNER TO sluice_s_deadbeef00000001;
      CREATE ROLE sluice_s_otherlive0000001 LOGIN ROLE sluice_admin; COMMENT ON ROLE sluice_s_otherlive0000001 IS '${marker('another-replica', future)}';
      CREATE ROLE sluice_s_otherold00000001 LOGIN ROLE sluice_admin; COMMENT ON ROLE sluice_s_otherold00000001 IS '${marker('another-replica', Date.now() - 1000)}';
      CREATE ROLE sluice_s_handmade0000001 LOGIN;`);
    await gw.restartExtProc();
    await gw.proc!.sessionRolesSwept;
    assert.deepEqual(await minted(), ['sluice_s_handmade0000001', 'sluice_s_otherlive0000001']);
    // The leftover's table went with it (ownedObjects: drop), so nothing blocked the drop.
    assert.equal((await db.sql(`SELECT count(*) FROM pg_tables WHERE tablename = 'left_behind'`)).trim(), '0');
    assert.match(gw.procLogs.text(), /swept leftover session roles/);
    await db.sql('DROP ROLE sluice_s_handmade0000001; DROP ROLE sluice_s_otherlive0000001');
    // And the restarted ext-proc mints again.
    const again = await psql(port, token, ['SELECT 1']);
    assert.equal(again.stdout.trim(), '1', again.stderr);
  });

  test('an admin credential that is missing or refused is a clean FATAL 08004, and nothing is created', async () => {
    const token = await gw.issuer.mint({ sub: 'dan', groups: ['analysts'] });
    for (const listen of [noAdminPort, badAdminPort]) {
      const r = await psql(listen, token, ['SELECT 1']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /FATAL:\s+the gateway cannot create your database user right now/);
      assert.doesNotMatch(r.stderr, /server closed the connection unexpectedly/);
    }
    assert.deepEqual(await minted(), []);
    const client = new pg.Client({ host: '127.0.0.1', port: badAdminPort, user: 'analyst', database: 'app', password: token });
    await assert.rejects(client.connect(), (err: any) => err.code === '08004');
    await client.end().catch(() => undefined);
    assert.match(gw.procLogs.text(), /ERR_PG_ROLE_ADMIN_UNAVAILABLE/);
  });

  test('no admin password, minted password or verifier in logs, decisions or records', async () => {
    const all = [gw.procLogs.text(), gw.logs.text(), gw.decisions.text(), JSON.stringify(await records(gw))].join('\n');
    assert.doesNotMatch(all, new RegExp(ADMIN_PASSWORD));
    assert.doesNotMatch(all, /not-the-admin-password/);
    assert.doesNotMatch(all, /SCRAM-SHA-256\$/);
    assert.doesNotMatch(all, /PASSWORD '/i);
  });
});
