import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileYaml, identity } from '../../policy/testing.ts';
import { explainPostgresStatement } from './explain-statement.ts';

const set = compileYaml({
  'db.yaml': `targets:
  - name: orders-db
    protocol: postgres
policies:
  - name: analysts
    targets: [orders-db]
    subjects:
      - groups: [analysts]
    database:
      users: [analyst]
      databases: [orders]
    rules:
      - { name: read, effect: allow, statements: [read] }
      - { name: no-ddl, effect: deny, statements: [ddl] }
      - name: writes
        effect: approve
        statements: [write]
        approval: { approvers: [dba], quorum: any, grant: request, hold: 60s }
guardrails:
  - name: no-pg-sleep
    targets: [orders-db]
    pattern: 'pg_sleep'
`,
});
const ann = identity({ subject: 'ann', groups: ['analysts'] });
const bob = identity({ subject: 'bob', groups: ['sales'] });
const ask = (sql: string | null, who = ann) => explainPostgresStatement(set, { identity: who, target: 'orders-db', user: 'analyst', database: 'orders', sql });

test('a read is allowed by its rule; each statement is named; the normalized text hides constants', () => {
  const read = ask("select * from orders where email = 'jane@example.com'");
  assert.deepEqual(read.decision, { effect: 'allow', rule: 'analysts/read', code: null, message: read.decision.message });
  assert.deepEqual(read.statements, [{ class: 'read', command: 'SELECT', tables: ['orders'] }]);
  assert.equal(read.normalized, 'select * from orders where email = $1');
  assert.ok(read.trace.some((s) => s.rule === 'read' && s.matched));
});

test('DDL is denied with the code the client gets; a write needs approval and says by whom', () => {
  const ddl = ask('drop table orders');
  assert.deepEqual([ddl.decision.effect, ddl.decision.rule, ddl.decision.code], ['deny', 'analysts/no-ddl', 'ERR_STATEMENT_DENIED']);
  const write = ask('begin; update orders set paid = true; commit');
  assert.deepEqual([write.decision.effect, write.decision.rule, write.decision.code], ['approve', 'analysts/writes', null]);
  assert.deepEqual(write.approval?.approverGroups, ['dba']);
  assert.deepEqual(write.statements?.map((s) => s.command), ['BEGIN', 'UPDATE', 'COMMIT']);
});

test('guardrails come first, even before the parser: a blocked text is ERR_GUARDRAIL_BLOCKED with no rule', () => {
  const blocked = ask('select pg_sleep(10)');
  assert.deepEqual([blocked.decision.effect, blocked.decision.rule, blocked.decision.code], ['deny', null, 'ERR_GUARDRAIL_BLOCKED']);
  assert.deepEqual(blocked.trace, []);
  assert.equal(ask('selec pg_sleep(1)').decision.code, 'ERR_GUARDRAIL_BLOCKED');
});

test('an unparsable text is ERR_STATEMENT_UNPARSABLE for a granted login, and the login refusal for anyone else', () => {
  const bad = ask('selec 1');
  assert.deepEqual([bad.decision.effect, bad.decision.rule, bad.decision.code], ['deny', null, 'ERR_STATEMENT_UNPARSABLE']);
  assert.match(bad.decision.message, /syntax error at or near "selec"/);
  assert.equal(bad.statements, null);
  assert.equal(bad.normalized, null);
  assert.ok(bad.trace.some((s) => s.rule === 'database' && s.matched), 'the login part is still traced');
  assert.equal(ask('selec 1', bob).decision.code, 'ERR_DB_LOGIN_DENIED');
});

test('a login alone (sql null): the grant decides', () => {
  const granted = ask(null);
  assert.deepEqual([granted.decision.effect, granted.decision.rule, granted.statements], ['allow', 'analysts/database', null]);
  const refused = ask(null, bob);
  assert.deepEqual([refused.decision.effect, refused.decision.code], ['deny', 'ERR_DB_LOGIN_DENIED']);
});
