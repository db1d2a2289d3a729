import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatementClass, StatementSummary } from '../../common/postgres-check.ts';
import { explainDatabase } from './explain-postgres.ts';
import { compileYaml, identity } from './testing.ts';

const set = compileYaml({
  'db.yaml': `targets:
  - name: orders-db
    protocol: postgres
  - name: demo-api
policies:
  - name: analysts
    targets: [orders-db]
    subjects:
      - groups: [analysts]
    database:
      users: [analyst]
      databases: [orders]
    rules:
      - name: read
        effect: allow
        statements: [read]
        tables: ["public.*"]
      - name: no-secrets
        effect: deny
        statements: [read, write]
        tables: ["secrets.*"]
      - name: late
        effect: allow
        statements: [write]
        when:
          - claim: shift
            equals: night
  - name: web
    targets: [demo-api]
    subjects:
      - users: ["*"]
    rules:
      - { name: all, effect: allow, methods: [GET], paths: ["/**"] }
`,
});
const ann = identity({ subject: 'ann', groups: ['analysts'] });
const s = (cls: StatementClass, command: string, ...tables: string[]): StatementSummary => ({ class: cls, command, tables });
const login = { identity: ann, target: 'orders-db', user: 'analyst', database: 'orders' };

test('a login: the trace names the subject entry and why the database grant does or does not cover it', () => {
  const granted = explainDatabase(set, { ...login, statements: null });
  assert.equal(granted.decision.decision.effect, 'allow');
  assert.deepEqual(granted.trace.map((step) => [step.policy, step.rule, step.matched]), [
    ['analysts', undefined, true],
    ['analysts', 'database', true],
    ['web', undefined, false],
  ]);
  const wrongUser = explainDatabase(set, { ...login, user: 'postgres', statements: null });
  assert.equal(wrongUser.decision.denial?.code, 'ERR_DB_LOGIN_DENIED');
  assert.match(wrongUser.trace[1]!.why, /database user "postgres" is not one of \[analyst\]/);
  const wrongDb = explainDatabase(set, { ...login, database: 'payroll', statements: null });
  assert.match(wrongDb.trace[1]!.why, /database "payroll" is not one of \[orders\]/);
  const stranger = explainDatabase(set, { ...login, identity: identity({ subject: 'sam', groups: ['sales'] }), statements: null });
  assert.match(stranger.trace[0]!.why, /no subject entry matches \(#1: no group in \[analysts\]\)/);
});

test('statements: each rule against each statement, with the part that missed and the rule that decides', () => {
  const result = explainDatabase(set, { ...login, statements: [s('read', 'SELECT', 'public.users'), s('read', 'SELECT', 'secrets.keys')] });
  assert.equal(result.decision.decision.rule, 'analysts/no-secrets');
  const why = Object.fromEntries(result.trace.filter((step) => step.rule && step.rule !== 'database').map((step) => [`${step.rule} ${step.why.slice(0, 11)}`, step]));
  assert.equal(why['read statement 1']!.matched, true);
  assert.match(why['read statement 2']!.why, /not every table is in \[public\.\*\]/);
  assert.match(why['no-secrets statement 1']!.why, /no table is in \[secrets\.\*\]/);
  assert.match(why['no-secrets statement 2']!.why, /matches \(deny\); this rule decides/);
  assert.match(why['late statement 1']!.why, /the rule covers \[write\], not this statement/);

  const write = explainDatabase(set, { ...login, statements: [s('write', 'INSERT', 'public.t')] });
  assert.equal(write.decision.denial?.code, 'ERR_STATEMENT_DENIED');
  assert.match(write.trace.find((step) => step.rule === 'late')!.why, /write \(INSERT\) on public\.t: condition does not hold: claim shift/);
  const night = explainDatabase(set, { ...login, identity: identity({ subject: 'ann', groups: ['analysts'], claims: { shift: 'night' } }), statements: [s('write', 'INSERT', 'public.t')] });
  assert.equal(night.decision.decision.rule, 'analysts/late');
});

test('an unknown target has no trace and is denied', () => {
  const result = explainDatabase(set, { ...login, target: 'nowhere', statements: [s('read', 'SELECT')] });
  assert.notEqual(result.decision.decision.effect, 'allow');
  assert.deepEqual(result.trace, []);
});
