import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { explain } from './explain.ts';
import { loadPolicyDir } from './load.ts';
import { identity, request } from './testing.ts';

// The example bundle in policies/ is documentation; this keeps it valid and saying what it claims.
const POLICIES = fileURLToPath(new URL('../../policies/', import.meta.url));

describe('example policies (policies/)', async () => {
  const set = await loadPolicyDir(POLICIES);
  const engineer = identity({ subject: 'dave', groups: ['engineering'], claims: { sub: 'dave', email: 'dave@example.com' } });
  const alice = identity({ subject: 'alice', groups: [], claims: { sub: 'alice', email: 'alice@example.com' } });
  const ci = identity({
    issuerName: 'workloads',
    subject: 'system:serviceaccount:ci:runner',
    claims: { sub: 'system:serviceaccount:ci:runner', 'kubernetes.io': { namespace: 'ci' } },
  });
  const decide = (id: typeof alice, method: string, path: string, extra: Partial<Parameters<typeof request>[0]> = {}) =>
    set.evaluate(request({ identity: id, method, path, ...extra }));

  it('declares demo-api, admin-api, ops-api, sql-api, demo-db and demo-cache', () => {
    assert.deepEqual([...set.targets].sort(), ['admin-api', 'demo-api', 'demo-cache', 'demo-db', 'ops-api', 'sql-api']);
  });

  it('demo-cache: engineers log in with their token (for 8 hours at most) and read and write demo:* keys; others are refused', () => {
    const alice = identity({ subject: 'alice', groups: ['engineering'] });
    const login = set.evaluateRedisLogin({ identity: alice, target: 'demo-cache', username: '' });
    assert.equal(login.decision.rule, 'demo-cache-engineers/redis');
    assert.equal(login.maxSessionMs, 8 * 3600_000);
    assert.equal(set.evaluateRedisLogin({ identity: identity({ subject: 'eve', groups: ['sales'] }), target: 'demo-cache', username: '' }).denial?.code, 'ERR_REDIS_LOGIN_DENIED');
    assert.deepEqual(login.rules.map((r) => [r.commands, r.keys]), [[['read', 'write'], ['demo:*']]]);
    assert.equal(set.routingNeeds('demo-cache').commandChecks, true, 'the key rule turns command checks on');
  });

  it('demo-db: engineers log in as postgres to test, read freely, are refused DDL, and writes need an SRE', () => {
    const alice = identity({ subject: 'alice', groups: ['engineering'] });
    const db = { identity: alice, target: 'demo-db', user: 'postgres', database: 'test' };
    assert.equal(set.evaluateDatabaseLogin(db).decision.rule, 'demo-db-engineers/database');
    assert.equal(set.evaluateDatabaseLogin({ ...db, database: 'postgres' }).denial?.code, 'ERR_DB_LOGIN_DENIED');
    assert.equal(set.evaluateDatabaseLogin({ ...db, identity: identity({ subject: 'eve', groups: ['sales'] }) }).denial?.code, 'ERR_DB_LOGIN_DENIED');
    const statement = (cls: 'read' | 'write' | 'ddl', command: string) => set.evaluateDatabaseStatements({ ...db, statements: [{ class: cls, command, tables: ['t'] }] });
    assert.equal(statement('read', 'SELECT').decision.effect, 'allow');
    assert.equal(statement('ddl', 'CREATE TABLE').decision.rule, 'demo-db-engineers/no-ddl');
    assert.equal(statement('write', 'INSERT').decision.effect, 'approve');
  });

  it('engineering reads /api/**, with identity headers', () => {
    const d = decide(engineer, 'GET', '/api/orders/7');
    assert.equal(d.rule, 'demo-readers/read');
    assert.deepEqual(d.upstreamHeaders, { 'x-sluice-subject': 'dave', 'x-sluice-groups': 'engineering', 'x-sluice-email': 'dave@example.com' });
    assert.equal(decide(engineer, 'POST', '/api/orders').effect, 'deny');
  });

  it('alice posts orders', () => {
    assert.equal(decide(alice, 'POST', '/api/orders').rule, 'demo-order-writers/place-orders');
    assert.equal(decide(alice, 'POST', '/api/users').effect, 'deny');
  });

  it('nobody deletes on demo-api', () => {
    assert.equal(decide(alice, 'DELETE', '/api/orders/1').rule, 'demo-guardrails/no-deletes');
    assert.equal(decide(engineer, 'DELETE', '/api/orders/1').rule, 'demo-guardrails/no-deletes');
  });

  it('CI workloads: health always, test data only against staging', () => {
    assert.equal(decide(ci, 'GET', '/healthz').rule, 'demo-ci/health');
    assert.equal(decide(ci, 'POST', '/api/test-data/users', { headers: { 'x-env': 'staging' } }).rule, 'demo-ci/seed-test-data');
    assert.equal(decide(ci, 'POST', '/api/test-data/users', { headers: { 'x-env': 'prod' } }).effect, 'deny');
    const otherNamespace = identity({ issuerName: 'workloads', subject: 'x', claims: { 'kubernetes.io': { namespace: 'prod' } } });
    assert.equal(decide(otherNamespace, 'GET', '/healthz').effect, 'deny');
  });

  it('admin-api: verified platform admins, contractors cannot export users', () => {
    const admin = (email: string, verified = true) =>
      identity({ subject: 'root', groups: ['platform-admins'], claims: { email, email_verified: verified } });
    const target = { target: 'admin-api' };
    assert.equal(decide(admin('a@example.com'), 'GET', '/admin/users/export', target).rule, 'admin-operators/operate');
    assert.equal(decide(admin('a@example.com', false), 'GET', '/admin/x', target).effect, 'deny');
    assert.equal(decide(admin('c@contractors.example.com'), 'GET', '/admin/users/export', target).rule, 'admin-operators/no-user-export');
    assert.equal(decide(engineer, 'GET', '/admin/x', target).effect, 'deny');
  });

  it('explain names the deciding rule and why others did not match', () => {
    const { decision, trace } = explain(set, request({ identity: alice, method: 'DELETE', path: '/api/orders/1' }));
    assert.equal(decision.rule, 'demo-guardrails/no-deletes');
    const deciding = trace.find((step) => step.policy === 'demo-guardrails' && step.rule === 'no-deletes');
    assert.equal(deciding?.matched, true);
    assert.deepEqual(
      trace.filter((s) => s.rule === undefined).map((s) => [s.policy, s.matched]),
      [
        ['demo-db-engineers', false],
        ['demo-readers', false],
        ['demo-order-writers', true],
        ['demo-ci', false],
        ['demo-guardrails', true],
        ['admin-operators', false],
        ['ops-engineers', false],
        ['demo-cache-engineers', false],
        ['sql-users', false],
      ],
    );
    assert.equal(trace.find((s) => s.policy === 'demo-order-writers' && s.rule === 'place-orders')?.matched, false);
  });

  it('ops-api: engineers read; deploys need one SRE, restarts an SRE and security', () => {
    const engineerOnOps = identity({ subject: 'alice', issuerName: 'dev', groups: ['engineering'] });
    const ops = { target: 'ops-api' };
    assert.equal(decide(engineerOnOps, 'GET', '/ops/status', ops).effect, 'allow');
    const deploy = decide(engineerOnOps, 'POST', '/ops/deploy/web', ops);
    assert.equal(deploy.effect, 'approve');
    assert.deepEqual(deploy.approval?.approverGroups, ['sre']);
    const restart = decide(engineerOnOps, 'POST', '/ops/restart/web', ops);
    assert.equal(restart.approval?.quorum, 'every-group');
    assert.deepEqual(restart.approval?.grant, { scope: 'window', windowMs: 15 * 60_000 });
  });

  it('explain agrees with evaluate for a default deny and an allow', () => {
    const denied = explain(set, request({ identity: alice, method: 'GET', path: '/nowhere' }));
    assert.equal(denied.decision.rule, null);
    assert.ok(denied.trace.every((s) => s.rule === undefined || !s.matched));
    const allowed = explain(set, request({ identity: engineer, method: 'GET', path: '/api/x' }));
    assert.equal(allowed.decision.rule, 'demo-readers/read');
    assert.ok(allowed.trace.some((s) => s.policy === 'demo-readers' && s.rule === 'read' && s.matched));
  });
});
