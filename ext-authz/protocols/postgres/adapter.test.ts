import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePostgresCheckResponse, encodePostgresCheckRequest } from '../../../common/postgres-check.ts';
import { identity } from '../../policy/testing.ts';
import { adapterFor } from '../index.ts';
import { postgresAdapter } from './adapter.ts';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.payload.signature';
const statement = (text: string) => encodePostgresCheckRequest({
  phase: 'statement', target: 'orders-db', user: 'app', database: 'orders', token: TOKEN, sessionId: 'pg-1',
  sourceAddress: '10.0.0.9', statement: { text, kind: 'simple' }, holdBudgetMs: 3000,
});

test('a PostgreSQL check is recognized before HTTP and read as a statement action with its analysis', () => {
  const request = statement('SELECT * FROM public.users');
  assert.equal(adapterFor(request), postgresAdapter);
  const input = postgresAdapter.read(request);
  assert.equal(input.protocol, 'postgres');
  assert.equal(input.target, 'orders-db');
  assert.deepEqual(input.credential, { kind: 'bearer', authorization: `Bearer ${TOKEN}` });
  assert.equal(input.holdBudgetMs, 3000);
  assert.equal(input.sourceAddress, '10.0.0.9');
  assert.ok(input.action.kind === 'postgres' && input.action.statement?.analysis.ok);
  assert.deepEqual(input.action.kind === 'postgres' && input.action.statement?.analysis.ok && input.action.statement.analysis.statements,
    [{ class: 'read', command: 'SELECT', tables: ['public.users'] }]);
});

test('respond: allow carries identity, rule, expiry and analysis; a token problem is status 16 / 28P01', () => {
  const input = postgresAdapter.read(statement('SELECT 1'));
  const allow = postgresAdapter.respond({
    kind: 'allow', identity: identity({ subject: 'eve', groups: ['eng'] }), target: 'orders-db', sessionId: 'pg-1', masking: null, startedAt: 5,
    decision: { effect: 'allow', rule: 'p/read', reason: '', upstreamHeaders: {}, approval: null, masking: null },
  }, input);
  assert.equal(allow.status.code, 0);
  assert.deepEqual(decodePostgresCheckResponse(allow), {
    allowed: true, subject: 'eve', issuer: 'dev', groups: ['eng'], rule: 'p/read', masking: null, expiresAt: 2_000_000_000_000,
    approvalId: null, startedAt: 5, statement: [{ class: 'read', command: 'SELECT', tables: [] }],
  });
  const expired = postgresAdapter.respond({ kind: 'deny', code: 'ERR_TOKEN_EXPIRED', message: 'the token has expired' }, input);
  assert.equal(expired.status.code, 16);
  assert.deepEqual(decodePostgresCheckResponse(expired), { allowed: false, code: 'ERR_TOKEN_EXPIRED', sqlstate: '28P01', message: 'the token has expired' });
  const denied = postgresAdapter.respond({ kind: 'deny', code: 'ERR_STATEMENT_DENIED', message: 'no', identity: identity(), extra: { approval_id: 'a-1' } }, input);
  assert.equal(denied.status.code, 7);
  assert.deepEqual(decodePostgresCheckResponse(denied), { allowed: false, code: 'ERR_STATEMENT_DENIED', sqlstate: '42501', message: 'no', subject: 'alice', issuer: 'dev', approvalId: 'a-1' });
});

test('a message never carries the token, whatever produced it', () => {
  const input = postgresAdapter.read(statement('SELECT 1'));
  const res = postgresAdapter.respond({ kind: 'deny', code: 'ERR_INTERNAL', message: `oops ${TOKEN}` }, input);
  const result = decodePostgresCheckResponse(res);
  assert.ok(!result.allowed);
  assert.equal(!result.allowed && result.message, 'oops [redacted]');
  assert.equal(!result.allowed && result.sqlstate, '58000');
});

test('respond: a login decision with a grant carries the granted roles; a statement never does', () => {
  const decision = { effect: 'allow' as const, rule: 'p/database', reason: '', upstreamHeaders: {}, approval: null, masking: null, databaseRoles: ['readonly'] };
  const verdict = { kind: 'allow' as const, identity: identity(), target: 'orders-db', sessionId: 'pg-1', masking: null, decision };
  const login = postgresAdapter.read(encodePostgresCheckRequest({ phase: 'login', target: 'orders-db', user: 'app', database: 'orders', token: TOKEN, sessionId: 'pg-1', holdBudgetMs: 0 }));
  const loginResult = decodePostgresCheckResponse(postgresAdapter.respond(verdict, login));
  assert.ok(loginResult.allowed);
  assert.deepEqual(loginResult.allowed && loginResult.grantedRoles, ['readonly']);
  const stmtResult = decodePostgresCheckResponse(postgresAdapter.respond(verdict, postgresAdapter.read(statement('SELECT 1'))));
  assert.ok(stmtResult.allowed && stmtResult.grantedRoles === undefined);
});
