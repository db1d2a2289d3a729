import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { SessionRolesConfig } from '../../../common/config.ts';
import { capturedLogger } from '../../../test/harness/log-capture.ts';
import type { AdminSql } from './admin-sql.ts';
import { SessionRoleError } from './errors.ts';
import { encodeMarker } from './role-sql.ts';
import { SessionRoles } from './session-roles.ts';

const CONFIG: SessionRolesConfig = {
  admin: { user: 'sluice_admin', secret: 'db-admin', database: 'postgres' }, grantable: ['readonly', 'reporting'],
  namePrefix: 'sluice_', onEnd: 'drop', ownedObjects: 'drop', adminTimeout: '5s',
};
const NOW = Date.UTC(2030, 0, 1);

/** An admin connection that answers from a script and remembers what it was sent. */
class FakeAdmin implements AdminSql {
  readonly sent: { database: string; text: string; params: unknown[] | undefined }[] = [];
  reach: Record<string, unknown>[] = [{ rolname: 'readonly', powerful: false, granted: true }];
  minted: Record<string, unknown>[] = [];
  fail: ((text: string) => unknown) | null = null;
  closed = false;
  async query(database: string, text: string, params?: unknown[]): Promise<Record<string, unknown>[]> {
    this.sent.push({ database, text, params });
    const failure = this.fail?.(text);
    if (failure) throw failure;
    if (text.includes('WITH RECURSIVE reach')) return this.reach;
    if (text.includes('shobj_description')) return this.minted;
    return [];
  }
  async close(): Promise<void> { this.closed = true; }
}

function roles(admin: FakeAdmin, config: Partial<SessionRolesConfig> = {}, replica = 'proc-a') {
  const logs = capturedLogger('ext-proc');
  let n = 0;
  const sessionRoles = new SessionRoles({
    target: 'orders-db', config: { ...CONFIG, ...config }, expiryGraceMs: 30_000, replica, admin, logger: logs.logger,
    now: () => NOW, newId: () => `00000000000000${String(++n).padStart(2, '0')}`,
  });
  return { sessionRoles, logs };
}
const mintCode = (code: string) => (err: unknown) => err instanceof SessionRoleError && err.code === code;
const request = { sessionId: 's-1', database: 'orders', granted: ['readonly'], expiresAt: NOW + 600_000 };

test('mint checks the grant on the server, then creates the role in the session\'s database with VALID UNTIL = exp + grace', async () => {
  const admin = new FakeAdmin();
  const { sessionRoles, logs } = roles(admin);
  const role = await sessionRoles.mint(request);
  assert.equal(role.name, 'sluice_0000000000000001');
  assert.equal(role.validUntil, NOW + 630_000);
  assert.deepEqual(role.granted, ['readonly']);
  assert.deepEqual(admin.sent.map((s) => s.database), ['orders', 'orders']);
  assert.deepEqual(admin.sent[0]!.params, [['readonly']]);
  const create = admin.sent[1]!.text;
  assert.match(create, /^CREATE ROLE "sluice_0000000000000001" WITH LOGIN NOSUPERUSER .* PASSWORD 'SCRAM-SHA-256\$4096:/);
  assert.match(create, new RegExp(`VALID UNTIL '${new Date(NOW + 630_000).toISOString()}' IN ROLE "readonly" ROLE "sluice_admin"`));
  assert.match(create, /"replica":"proc-a","session":"s-1","target":"orders-db","database":"orders"/);
  // The cleartext never crosses the wire, nor reaches a log.
  assert.ok(!create.includes(role.password));
  assert.ok(!logs.text().includes(role.password));
  assert.equal(sessionRoles.liveCount, 1);
});

test('mint refuses, before any CREATE, a grant outside the allow-list, none at all, a missing role, and one that reaches superuser powers', async () => {
  const admin = new FakeAdmin();
  const { sessionRoles } = roles(admin);
  await assert.rejects(sessionRoles.mint({ ...request, granted: ['readonly', 'postgres'] }), mintCode('ERR_PG_ROLE_NOT_GRANTABLE'));
  await assert.rejects(sessionRoles.mint({ ...request, granted: [] }), mintCode('ERR_PG_ROLE_NOT_GRANTABLE'));
  await assert.rejects(sessionRoles.mint({ ...request, granted: undefined }), mintCode('ERR_PG_ROLE_NOT_GRANTABLE'));
  await assert.rejects(sessionRoles.mint({ ...request, expiresAt: undefined }), mintCode('ERR_PG_ROLE_MINT_FAILED'));
  assert.equal(admin.sent.length, 0);
  admin.reach = [];
  await assert.rejects(sessionRoles.mint(request), mintCode('ERR_PG_ROLE_MINT_FAILED'));
  admin.reach = [{ rolname: 'readonly', powerful: false, granted: true }, { rolname: 'dba', powerful: true, granted: false }];
  await assert.rejects(sessionRoles.mint(request), (err) => mintCode('ERR_PG_ROLE_NOT_GRANTABLE')(err) && /dba/.test((err as Error).message));
  admin.reach = [{ rolname: 'readonly', powerful: false, granted: true }, { rolname: 'pg_read_server_files', powerful: false, granted: false }];
  await assert.rejects(sessionRoles.mint(request), mintCode('ERR_PG_ROLE_NOT_GRANTABLE'));
  assert.ok(admin.sent.every((s) => !s.text.startsWith('CREATE ROLE')));
  assert.equal(sessionRoles.liveCount, 0);
});

test('an unreachable admin fails the mint closed with ERR_PG_ROLE_ADMIN_UNAVAILABLE; a refused CREATE with ERR_PG_ROLE_MINT_FAILED', async () => {
  const admin = new FakeAdmin();
  const { sessionRoles } = roles(admin);
  admin.fail = () => new SessionRoleError('ERR_PG_ROLE_ADMIN_UNAVAILABLE', 'connect ECONNREFUSED');
  await assert.rejects(sessionRoles.mint(request), mintCode('ERR_PG_ROLE_ADMIN_UNAVAILABLE'));
  admin.fail = (text) => (text.startsWith('CREATE ROLE') ? Object.assign(new pg.DatabaseError('permission denied to create role', 0, 'error'), { code: '42501' }) : null);
  await assert.rejects(sessionRoles.mint(request), (err) => mintCode('ERR_PG_ROLE_MINT_FAILED')(err) && (err as SessionRoleError).details.sqlstate === '42501');
  assert.equal(sessionRoles.liveCount, 0);
});

test('release terminates the role\'s backends and drops what it owns and the role, in its database, once', async () => {
  const admin = new FakeAdmin();
  const { sessionRoles } = roles(admin);
  const role = await sessionRoles.mint(request);
  admin.sent.length = 0;
  sessionRoles.release(role, 'the client closed the connection');
  sessionRoles.release(role, 'again');
  await sessionRoles.close();
  assert.deepEqual(admin.sent.map((s) => [s.database, s.text.split('\n')[0]!.slice(0, 40)]), [
    ['orders', 'SELECT pg_catalog.pg_terminate_backend(p'],
    ['orders', 'DROP OWNED BY "sluice_0000000000000001";'],
  ]);
  assert.deepEqual(admin.sent[0]!.params, ['sluice_0000000000000001', 5000]);
  assert.match(admin.sent[1]!.text, /DROP ROLE "sluice_0000000000000001"$/);
  assert.equal(admin.closed, true);
});

test('a drop that fails disables the role instead and logs ERR_PG_ROLE_RELEASE_FAILED; close releases roles still live', async () => {
  const admin = new FakeAdmin();
  const { sessionRoles, logs } = roles(admin);
  const first = await sessionRoles.mint(request);
  await sessionRoles.mint({ ...request, sessionId: 's-2' });
  admin.fail = (text) => (text.startsWith('DROP OWNED') ? Object.assign(new pg.DatabaseError('role cannot be dropped because some objects depend on it', 0, 'error'), { code: '2BP01' }) : null);
  sessionRoles.release(first, 'token expired');
  await sessionRoles.close();
  assert.equal(admin.sent.filter((s) => s.text.startsWith('ALTER ROLE') && s.text.includes('NOLOGIN')).length, 2);
  assert.match(logs.text(), /ERR_PG_ROLE_RELEASE_FAILED/);
  assert.match(logs.text(), /2BP01/);
  assert.equal(sessionRoles.liveCount, 0);
  await assert.rejects(sessionRoles.mint(request), mintCode('ERR_PG_ROLE_ADMIN_UNAVAILABLE'));
});

test('the sweep ends this replica\'s leftovers at start and anyone\'s expired ones, never another replica\'s live role or a role it did not mint', async () => {
  const admin = new FakeAdmin();
  const { sessionRoles } = roles(admin);
  const row = (rolname: string, marker: Record<string, unknown> | null, rolcanlogin = true) => ({ rolname, rolcanlogin, comment: marker === null ? null : encodeMarker(marker as never) });
  const base = { session: 's', target: 'orders-db', database: 'orders' };
  admin.minted = [
    row('sluice_own', { ...base, replica: 'proc-a', validUntil: NOW + 60_000 }),
    row('sluice_other_live', { ...base, replica: 'proc-b', validUntil: NOW + 60_000 }),
    row('sluice_other_expired', { ...base, replica: 'proc-b', validUntil: NOW - 1, database: 'reports' }),
    row('sluice_other_target', { ...base, target: 'billing-db', replica: 'proc-a', validUntil: NOW - 1 }),
    row('sluice_hand_made', null),
  ];
  const result = await sessionRoles.sweep({ own: true });
  assert.deepEqual(result, { released: 2, kept: 1 });
  assert.deepEqual(admin.sent[0]!.params, ['sluice!_%']);
  assert.equal(admin.sent[0]!.database, 'postgres');
  const dropped = admin.sent.filter((s) => s.text.startsWith('DROP OWNED')).map((s) => [s.database, s.text.match(/"([^"]+)"/)![1]]);
  assert.deepEqual(dropped, [['orders', 'sluice_own'], ['reports', 'sluice_other_expired']]);
  admin.sent.length = 0;
  assert.deepEqual(await sessionRoles.sweep({ own: false }), { released: 1, kept: 2 });
});

test('with onEnd: disable a role keeps what it owns and is swept only while it can still log in', async () => {
  const admin = new FakeAdmin();
  const { sessionRoles } = roles(admin, { onEnd: 'disable' });
  const role = await sessionRoles.mint(request);
  sessionRoles.release(role, 'done');
  admin.minted = [{ rolname: 'sluice_x', rolcanlogin: false, comment: encodeMarker({ replica: 'proc-a', session: 's', target: 'orders-db', database: 'orders', validUntil: NOW - 1 }) }];
  assert.deepEqual(await sessionRoles.sweep({ own: true }), { released: 0, kept: 1 });
  await sessionRoles.close();
  assert.ok(admin.sent.every((s) => !s.text.includes('DROP')));
  assert.ok(admin.sent.some((s) => s.text === `ALTER ROLE "${role.name}" WITH NOLOGIN VALID UNTIL '-infinity'`));
});
