import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatementClass, StatementSummary } from '../../common/postgres-check.ts';
import { PolicyError } from './errors.ts';
import { compileYaml, identity } from './testing.ts';

const TARGETS = `targets:
  - name: orders-db
    protocol: postgres
  - name: demo-api
`;

const POLICIES = `${TARGETS}
policies:
  - name: analysts
    targets: [orders-db]
    subjects:
      - groups: [analysts]
    database:
      users: [analyst, "report_*"]
      databases: [orders]
    rules:
      - name: read
        effect: allow
        statements: [read]
        tables: ["public.*", orders, customers]
      - name: no-secrets
        effect: deny
        statements: [read, write]
        tables: ["secrets.*"]
      - name: no-set-role-games
        effect: deny
        statements: [DISCARD]
  - name: engineers
    targets: [orders-db]
    subjects:
      - groups: [engineering]
    database:
      users: [app]
      databases: ["orders*"]
    rules:
      - name: dml
        effect: allow
        statements: [read, write]
      - name: truncate
        effect: approve
        statements: [TRUNCATE]
        approval:
          approvers: [dba]
      - name: create
        effect: allow
        statements: [CREATE]
        tables: ["scratch.*"]
`;

const set = compileYaml({ 'db.yaml': POLICIES });
const analyst = identity({ subject: 'ann', groups: ['analysts'] });
const engineer = identity({ subject: 'eve', groups: ['engineering'] });

const s = (cls: StatementClass, command: string, ...tables: string[]): StatementSummary => ({ class: cls, command, tables });
const statements = (who: typeof analyst, ...list: StatementSummary[]) =>
  set.evaluateDatabaseStatements({ identity: who, target: 'orders-db', user: who === analyst ? 'analyst' : 'app', database: 'orders', statements: list });

test('login: a matching subject may log in as the listed users to the listed databases; the rule is <policy>/database', () => {
  const allowed = set.evaluateDatabaseLogin({ identity: analyst, target: 'orders-db', user: 'report_daily', database: 'orders' });
  assert.equal(allowed.decision.effect, 'allow');
  assert.equal(allowed.decision.rule, 'analysts/database');
  assert.equal(allowed.denial, null);
  assert.equal(set.evaluateDatabaseLogin({ identity: engineer, target: 'orders-db', user: 'app', database: 'orders_archive' }).decision.rule, 'engineers/database');

  const wrongUser = set.evaluateDatabaseLogin({ identity: analyst, target: 'orders-db', user: 'postgres', database: 'orders' });
  assert.equal(wrongUser.decision.effect, 'deny');
  assert.equal(wrongUser.denial?.code, 'ERR_DB_LOGIN_DENIED');
  assert.match(wrongUser.denial!.message, /"ann" \(issuer dev\) may not log in as database user "postgres" to database "orders"/);
  assert.equal(set.evaluateDatabaseLogin({ identity: analyst, target: 'orders-db', user: 'analyst', database: 'billing' }).denial?.code, 'ERR_DB_LOGIN_DENIED');
  assert.equal(set.evaluateDatabaseLogin({ identity: identity({ groups: ['sales'] }), target: 'orders-db', user: 'analyst', database: 'orders' }).denial?.code, 'ERR_DB_LOGIN_DENIED');
  // A grant of another target says nothing here.
  assert.equal(set.evaluateDatabaseLogin({ identity: analyst, target: 'demo-api', user: 'analyst', database: 'orders' }).decision.effect, 'deny');
});

test('statements: by class and by table; an allow rule needs every table to match', () => {
  assert.equal(statements(analyst, s('read', 'SELECT', 'public.users', 'orders')).decision.rule, 'analysts/read');
  const unlisted = statements(analyst, s('read', 'SELECT', 'public.users', 'payroll'));
  assert.equal(unlisted.denial?.code, 'ERR_STATEMENT_DENIED');
  assert.match(unlisted.denial!.message, /statement class read \(SELECT\) on public\.users, payroll is not allowed for "ann"/);
  const write = statements(analyst, s('write', 'INSERT', 'orders'));
  assert.match(write.denial!.message, /statement class write \(INSERT\) on orders is not allowed/);
  const ddl = statements(analyst, s('ddl', 'CREATE TABLE', 't'));
  assert.equal(ddl.denial?.code, 'ERR_STATEMENT_DENIED');
  assert.match(ddl.denial!.message, /statement class ddl \(CREATE TABLE\)/);
});

test('a deny rule is triggered by any matching table and names the table and rule', () => {
  const denied = statements(analyst, s('read', 'SELECT', 'public.users', 'secrets.keys'));
  assert.equal(denied.decision.rule, 'analysts/no-secrets');
  assert.match(denied.denial!.message, /on secrets\.keys is denied by policy rule analysts\/no-secrets/);
});

test('session statements pass with the login unless a deny rule names them', () => {
  const session = statements(analyst, s('session', 'SET'), s('session', 'BEGIN'));
  assert.equal(session.decision.effect, 'allow');
  assert.equal(session.decision.rule, 'analysts/database');
  assert.equal(statements(analyst, s('session', 'DISCARD')).decision.rule, 'analysts/no-set-role-games');
  // Without a login grant nothing passes, session statements included.
  const stranger = set.evaluateDatabaseStatements({ identity: analyst, target: 'orders-db', user: 'app', database: 'orders', statements: [s('session', 'SET')] });
  assert.equal(stranger.denial?.code, 'ERR_DB_LOGIN_DENIED');
});

test('commands: TRUNCATE needs approval; CREATE covers CREATE TABLE on the listed tables', () => {
  const truncate = statements(engineer, s('write', 'TRUNCATE', 'orders'));
  assert.equal(truncate.decision.effect, 'approve', 'approve wins over the broader write allow');
  assert.equal(truncate.decision.rule, 'engineers/truncate');
  assert.deepEqual(truncate.decision.approval?.approverGroups, ['dba']);
  assert.equal(statements(engineer, s('ddl', 'CREATE TABLE', 'scratch.t')).decision.rule, 'engineers/create');
  assert.equal(statements(engineer, s('ddl', 'CREATE TABLE', 'public.t')).denial?.code, 'ERR_STATEMENT_DENIED');
});

test('a multi-statement text: the strictest result wins (deny > approve > allow)', () => {
  const mixed = statements(engineer, s('session', 'BEGIN'), s('write', 'DELETE', 'orders'), s('write', 'TRUNCATE', 'orders'), s('session', 'COMMIT'));
  assert.equal(mixed.decision.effect, 'approve');
  const withDdl = statements(engineer, s('write', 'TRUNCATE', 'orders'), s('ddl', 'DROP TABLE', 'orders'));
  assert.equal(withDdl.decision.effect, 'deny');
  assert.match(withDdl.denial!.message, /ddl \(DROP TABLE\)/);
  const allRead = statements(engineer, s('session', 'SET'), s('read', 'SELECT', 'orders'));
  assert.equal(allRead.decision.rule, 'engineers/dml', 'the statement rule, not the login grant, names the decision');
});

test('HTTP requests never match statement rules', () => {
  const http = compileYaml({ 'x.yaml': `${TARGETS}
policies:
  - name: everyone
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules:
      - name: get
        effect: allow
        methods: [GET]
` });
  assert.equal(http.evaluate({ identity: analyst, target: 'demo-api', method: 'GET', path: '/', headers: {} }).effect, 'allow');
  assert.equal(set.evaluate({ identity: engineer, target: 'orders-db', method: 'GET', path: '/', headers: {} }).effect, 'deny');
});

function loadError(yaml: string): string[] {
  try {
    compileYaml({ 'bad.yaml': yaml });
  } catch (err) {
    assert.ok(err instanceof PolicyError);
    return err.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  assert.fail('expected a load error');
}

test('load errors: HTTP fields mixed with statements; database or statements on an http target; methods on a postgres target', () => {
  const mixed = loadError(`policies:
  - name: p
    targets: [orders-db]
    subjects: [{ users: ["*"] }]
    rules:
      - name: r
        effect: allow
        methods: [GET]
        statements: [read]
`);
  assert.match(mixed.join('\n'), /\/policies\/0\/rules\/0: a rule is for HTTP \(methods, paths\) or for database statements/);
  assert.match(loadError(`policies:
  - name: p
    targets: [orders-db]
    subjects: [{ users: ["*"] }]
    rules:
      - { name: r, effect: allow, tables: [x] }
`).join('\n'), /tables needs statements/);
  assert.match(loadError(`policies:
  - name: p
    targets: [orders-db]
    subjects: [{ users: ["*"] }]
    rules:
      - { name: r, effect: allow, statements: [reads] }
`).join('\n'), /statement class/);
  const wrongTarget = loadError(`${TARGETS}
policies:
  - name: p
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    database: { users: [a], databases: [b] }
    rules:
      - { name: r, effect: allow, statements: [read] }
`).join('\n');
  assert.match(wrongTarget, /\/policies\/0\/database: database applies to postgres targets; "demo-api" is an http target/);
  assert.match(wrongTarget, /\/policies\/0\/rules\/0\/statements: statements apply to postgres targets/);
  assert.match(loadError(`${TARGETS}
policies:
  - name: p
    targets: [orders-db]
    subjects: [{ users: ["*"] }]
    rules:
      - { name: r, effect: allow, methods: [GET] }
`).join('\n'), /\/policies\/0\/rules\/0\/methods: "orders-db" is a postgres target/);
});

test('a load error names file, line and column', () => {
  try {
    compileYaml({ 'bad.yaml': 'policies:\n  - name: p\n    targets: [x]\n    subjects: [{ users: ["*"] }]\n    rules:\n      - name: r\n        effect: allow\n        paths: ["/x"]\n        statements: [read]\n' });
    assert.fail('expected a load error');
  } catch (err) {
    assert.ok(err instanceof PolicyError);
    assert.deepEqual(err.issues.map((i) => [i.file, i.line]), [['bad.yaml', 6]]);
  }
});

const MINTING = `targets:
  - name: minted-db
    protocol: postgres
    grantable: [readonly, reporting]
  - name: orders-db
    protocol: postgres
`;

test('a login grant names the roles of the per-session role; its decision carries them, a statement decision does not add any', () => {
  const minted = compileYaml({ 'db.yaml': `${MINTING}
policies:
  - name: analysts
    targets: [minted-db]
    subjects: [{ groups: [analysts] }]
    database: { users: [analyst], databases: [orders], grant: [readonly] }
    rules:
      - { name: read, effect: allow, statements: [read] }
` });
  const login = minted.evaluateDatabaseLogin({ identity: analyst, target: 'minted-db', user: 'analyst', database: 'orders' });
  assert.deepEqual(login.decision.databaseRoles, ['readonly']);
  assert.ok(Object.isFrozen(login.decision.databaseRoles));
  const statement = minted.evaluateDatabaseStatements({ identity: analyst, target: 'minted-db', user: 'analyst', database: 'orders', statements: [s('read', 'SELECT', 't')] });
  assert.equal(statement.decision.rule, 'analysts/read');
  assert.equal(statement.decision.databaseRoles, undefined);
  // A target without session roles: decisions never carry roles.
  assert.equal(set.evaluateDatabaseLogin({ identity: analyst, target: 'orders-db', user: 'analyst', database: 'orders' }).decision.databaseRoles, undefined);
});

test('a policy may grant only what the target allows, and a minting target needs a grant', () => {
  const policy = (target: string, grant: string) => `${MINTING}
policies:
  - name: p
    targets: [${target}]
    subjects: [{ users: ["*"] }]
    database: { users: [u], databases: [d]${grant} }
    rules:
      - { name: r, effect: allow, statements: [read] }
`;
  assert.match(loadError(policy('minted-db', ', grant: [readonly, admin]')).join('\n'), /\/policies\/0\/database\/grant\/1: role "admin" is not grantable on target "minted-db" \(postgres.sessionRoles.grantable: readonly, reporting\)/);
  assert.match(loadError(policy('minted-db', '')).join('\n'), /\/policies\/0\/database: target "minted-db" mints a role per session/);
  assert.match(loadError(policy('orders-db', ', grant: [readonly]')).join('\n'), /target "orders-db" does not mint a role per session/);
  assert.match(loadError(policy('minted-db', ', grant: ["Read-Only"]')).join('\n'), /grant\/0/);
});
