import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PgAllow, PgAuthorizer, PgStatementRequest, PgVerdict } from './authorizer.ts';
import { StatementGate } from './statement-gate.ts';
import { statementShapesReady } from './statement-shape.ts';

const allow = (reuse?: 'shape'): PgAllow => ({ allowed: true, subject: 'a', issuer: 'd', groups: [], rule: 'p/r', masking: null, expiresAt: undefined, approvalId: null, approvalWaitMs: undefined, startedAt: undefined, ...(reuse ? { reuse } : {}) });

function gate(verdict: (text: string) => PgVerdict) {
  const asked: string[] = [];
  const authorizer: PgAuthorizer = { login: async () => allow(), statement: async (r: PgStatementRequest) => { asked.push(r.text); return verdict(r.text); } };
  const g = new StatementGate(authorizer, { ttlMs: 5000, maxEntries: 16 });
  const decide = async (text: string) => g.cached(text, 'simple') ?? g.check({ sessionId: 's', target: 't', user: 'u', database: 'd', token: 'x', sourceAddress: undefined, text, kind: 'simple', holdBudgetMs: 0 });
  return { asked, decide, g };
}

test('a verdict that rests on the shape is reused for the same statement with other constants, not for another table or function', async () => {
  await statementShapesReady();
  const { asked, decide } = gate(() => allow('shape'));
  await decide('SELECT abalance FROM pgbench_accounts WHERE aid = 1');
  await decide('SELECT abalance FROM pgbench_accounts WHERE aid = 2');
  await decide("SELECT abalance FROM pgbench_accounts WHERE aid = 3 AND note = 'x'");
  await decide('SELECT abalance FROM pgbench_secrets WHERE aid = 2');
  await decide("SELECT pg_read_file('/etc/passwd')");
  await decide("SELECT pg_read_file('/etc/shadow')");
  await decide("SELECT lower('/etc/shadow')");
  assert.deepEqual(asked, [
    'SELECT abalance FROM pgbench_accounts WHERE aid = 1',
    "SELECT abalance FROM pgbench_accounts WHERE aid = 3 AND note = 'x'",
    'SELECT abalance FROM pgbench_secrets WHERE aid = 2',
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT lower('/etc/shadow')",
  ]);
});

test('without the shape hint (a guardrail reads the text) every new text is asked; denials and approvals are never remembered', async () => {
  await statementShapesReady();
  const plain = gate(() => allow());
  await plain.decide('SELECT 1 FROM t WHERE a = 1');
  await plain.decide('SELECT 1 FROM t WHERE a = 2');
  await plain.decide('SELECT 1 FROM t WHERE a = 2');
  assert.equal(plain.asked.length, 2);
  const denied = gate(() => ({ allowed: false, code: 'ERR_STATEMENT_DENIED', sqlstate: '42501', message: 'no' }));
  await denied.decide('DROP TABLE t');
  await denied.decide('DROP TABLE t');
  assert.equal(denied.asked.length, 2);
  const approved = gate(() => ({ ...allow('shape'), approvalId: 'ap-1' }));
  await approved.decide('DELETE FROM t WHERE id = 1');
  await approved.decide('DELETE FROM t WHERE id = 1');
  assert.equal(approved.asked.length, 2);
});

test('clear() forgets both kinds', async () => {
  await statementShapesReady();
  const { asked, decide, g } = gate(() => allow('shape'));
  await decide('SELECT 1 FROM t WHERE a = 1');
  g.clear();
  await decide('SELECT 1 FROM t WHERE a = 1');
  assert.equal(asked.length, 2);
});
