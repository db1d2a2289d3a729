import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedLogger } from '../test/harness/log-capture.ts';
import type { CheckInput } from './check-input.ts';
import { logDecision } from './decision-log.ts';

test('the decision line takes protocol, target and the HTTP method and path from the check, never a header', () => {
  const log = capturedLogger('decision');
  const input: CheckInput = {
    protocol: 'http', requestId: 'req-1', target: 'demo-api', credential: { kind: 'bearer', authorization: 'Bearer secret' },
    action: { kind: 'http', method: 'GET', path: '/api/x', query: 'q=1', headers: { authorization: 'Bearer secret' }, body: undefined },
    sourceAddress: undefined, holdBudgetMs: 0, reason: '',
  };
  logDecision(log.logger, input, { kind: 'deny', code: 'ERR_TOKEN_MISSING', message: 'm' }, 1.23456);
  const line = JSON.parse(log.lines[0]!);
  assert.deepEqual(
    { protocol: line.protocol, target: line.target, method: line.method, path: line.path, code: line.code, status: line.status, latency_ms: line.latency_ms },
    { protocol: 'http', target: 'demo-api', method: 'GET', path: '/api/x', code: 'ERR_TOKEN_MISSING', status: 401, latency_ms: 1.235 },
  );
  assert.doesNotMatch(log.text(), /secret|q=1/);
});

test('a PostgreSQL decision line has phase, db user, database, the normalized statement, classes and tables; never the constants or the token', async () => {
  const { postgresAdapter } = await import('./protocols/postgres/adapter.ts');
  const { encodePostgresCheckRequest } = await import('../common/postgres-check.ts');
  const log = capturedLogger('decision');
  const input = postgresAdapter.read(encodePostgresCheckRequest({
    phase: 'statement', target: 'orders-db', user: 'app', database: 'orders', token: 'sekret-token', sessionId: 'pg-7',
    statement: { text: "UPDATE public.users SET email = 'x@y.z' WHERE id = 987654321", kind: 'simple' }, holdBudgetMs: 0,
  }));
  logDecision(log.logger, input, { kind: 'deny', code: 'ERR_STATEMENT_DENIED', message: 'm' }, 1);
  const line = JSON.parse(log.lines[0]!);
  assert.deepEqual(
    { protocol: line.protocol, phase: line.phase, db_user: line.db_user, database: line.database, session_id: line.session_id, statement: line.statement,
      classes: line.classes, tables: line.tables, code: line.code, sqlstate: line.sqlstate },
    { protocol: 'postgres', phase: 'statement', db_user: 'app', database: 'orders', session_id: 'pg-7', statement: 'UPDATE public.users SET email = $1 WHERE id = $2',
      classes: ['write'], tables: ['public.users'], code: 'ERR_STATEMENT_DENIED', sqlstate: '42501' },
  );
  assert.doesNotMatch(log.text(), /x@y\.z|987654321|sekret/);
});

test('a PostgreSQL login decision says which roles the per-session role is granted', async () => {
  const { postgresAdapter } = await import('./protocols/postgres/adapter.ts');
  const { encodePostgresCheckRequest } = await import('../common/postgres-check.ts');
  const { identity } = await import('./policy/testing.ts');
  const log = capturedLogger('decision');
  const input = postgresAdapter.read(encodePostgresCheckRequest({ phase: 'login', target: 'orders-db', user: 'analyst', database: 'orders', token: 'sekret-token', sessionId: 'pg-8', holdBudgetMs: 0 }));
  logDecision(log.logger, input, {
    kind: 'allow', identity: identity(), target: 'orders-db', sessionId: 'pg-8', masking: null,
    decision: { effect: 'allow', rule: 'p/database', reason: '', upstreamHeaders: {}, approval: null, masking: null, databaseRoles: ['readonly', 'reporting'] },
  }, 1);
  const line = JSON.parse(log.lines[0]!);
  assert.deepEqual([line.phase, line.rule, line.db_roles], ['login', 'p/database', ['readonly', 'reporting']]);
  assert.doesNotMatch(log.text(), /sekret/);
});
