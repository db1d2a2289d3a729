import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { authorizationService } from '../../common/protos.ts';
import { parseConfig, type SluiceConfig } from '../../common/config.ts';
import { decodePostgresCheckResponse, encodePostgresCheckRequest, type PostgresCheckInput } from '../../common/postgres-check.ts';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { startExtAuthzService, type ExtAuthzService } from '../../ext-authz/service.ts';
import { approvalsCall, pendingFor } from '../harness/approvals-client.ts';
import { capturedLogger } from '../harness/log-capture.ts';
import { waitFor } from '../harness/wait.ts';

const POLICY = `
policies:
  - name: engineers
    targets: [orders-db]
    subjects:
      - groups: [engineering]
    database:
      users: [app, "report_*"]
      databases: [orders]
    rules:
      - name: dml
        effect: allow
        statements: [read, write]
        tables: ["public.*", orders]
      - name: truncate
        effect: approve
        statements: [TRUNCATE]
        approval:
          approvers: [dba]
          hold: 10s
`;

describe('ext-authz decides PostgreSQL logins and statements over real gRPC (port 0)', () => {
  let issuer: DevIssuer;
  let service: ExtAuthzService;
  let client: grpc.Client & { Check: Function };
  let dir: string;
  let token: string;
  const logs = capturedLogger('ext-authz');
  const decisions = capturedLogger('decision');

  before(async () => {
    issuer = await DevIssuer.start();
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-pg-authz-'));
    writeFileSync(path.join(dir, 'db.yaml'), POLICY);
    const config = parseConfig(JSON.stringify({
      targets: [{ name: 'orders-db', protocol: 'postgres', endpoints: ['127.0.0.1:9'], postgres: { port: 15432 } }],
      extAuthz: { policyDir: dir },
    }), path.join(dir, 'sluice.json'));
    service = await startExtAuthzService(config, {
      logger: logs.logger, decisionLog: decisions.logger, port: 0, adminPort: 0,
      extraIssuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
    });
    const Client = authorizationService();
    client = new Client(`127.0.0.1:${service.port}`, grpc.credentials.createInsecure()) as any;
    token = await issuer.mint({ sub: 'eve', groups: ['engineering'] });
  });

  after(async () => {
    client.close();
    await service.close();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (req: object): Promise<any> =>
    new Promise((resolve, reject) => client.Check(req, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))));

  const check = async (overrides: Partial<PostgresCheckInput>) => {
    const response = await call(encodePostgresCheckRequest({
      phase: 'login', target: 'orders-db', user: 'app', database: 'orders', token, sessionId: 'pg-session-1', sourceAddress: '10.9.8.7',
      holdBudgetMs: 0, ...overrides,
    }));
    return { status: response.status.code as number, result: decodePostgresCheckResponse(response) };
  };
  const statement = (text: string, holdBudgetMs = 0) => check({ phase: 'statement', statement: { text, kind: 'simple' }, holdBudgetMs });

  test('login allowed: status 0, identity, the database grant as rule, token expiry', async () => {
    const { status, result } = await check({});
    assert.equal(status, 0);
    assert.ok(result.allowed);
    assert.equal(result.subject, 'eve');
    assert.equal(result.issuer, 'dev');
    assert.deepEqual(result.groups, ['engineering']);
    assert.equal(result.rule, 'engineers/database');
    assert.equal(result.approvalId, null);
    assert.ok(result.expiresAt! > Date.now() && result.expiresAt! <= Date.now() + 3_700_000);
  });

  test('a database user the policy does not grant: 28000', async () => {
    const { status, result } = await check({ user: 'postgres' });
    assert.equal(status, 7);
    assert.ok(!result.allowed);
    assert.equal(result.code, 'ERR_DB_LOGIN_DENIED');
    assert.equal(result.sqlstate, '28000');
    assert.match(result.message, /may not log in as database user "postgres" to database "orders"/);
    assert.equal(result.subject, 'eve');
  });

  test('a bad token: status 16, 28P01, and the message never echoes it', async () => {
    const { status, result } = await check({ token: 'not-a-token-at-all' });
    assert.equal(status, 16);
    assert.ok(!result.allowed);
    assert.match(result.code, /^ERR_TOKEN_/);
    assert.equal(result.sqlstate, '28P01');
    assert.doesNotMatch(result.message, /not-a-token-at-all/);
  });

  test('a read statement is allowed with its analysis in the metadata; the log has the normalized text only', async () => {
    const { status, result } = await statement("SELECT * FROM public.users u JOIN orders o ON o.uid = u.id WHERE u.email = 'eve@example.com'");
    assert.equal(status, 0);
    assert.ok(result.allowed);
    assert.equal(result.rule, 'engineers/dml');
    assert.deepEqual(result.statement, [{ class: 'read', command: 'SELECT', tables: ['public.users', 'orders'] }]);
    const line = decisions.lines.map((l) => JSON.parse(l)).find((l) => l.phase === 'statement' && l.effect === 'allow' && l.commands?.[0] === 'SELECT');
    assert.ok(line, 'a decision line for the statement');
    assert.equal(line.protocol, 'postgres');
    assert.equal(line.session_id, 'pg-session-1');
    assert.equal(line.db_user, 'app');
    assert.equal(line.database, 'orders');
    assert.match(line.statement, /u\.email = \$1/);
    assert.deepEqual(line.classes, ['read']);
    assert.doesNotMatch(decisions.text(), /eve@example\.com/);
    assert.ok(!decisions.text().includes(token), 'never the token');
  });

  test('DDL is denied with 42501 and a message naming the class and command', async () => {
    const { status, result } = await statement('CREATE TABLE public.t (id int)');
    assert.equal(status, 7);
    assert.ok(!result.allowed);
    assert.equal(result.code, 'ERR_STATEMENT_DENIED');
    assert.equal(result.sqlstate, '42501');
    assert.match(result.message, /statement class ddl \(CREATE TABLE\) on public\.t is not allowed for "eve"/);
  });

  test('an unparsable statement: 42601 with the parser\'s message', async () => {
    const { result } = await statement('SELEC * FROM orders');
    assert.ok(!result.allowed);
    assert.equal(result.code, 'ERR_STATEMENT_UNPARSABLE');
    assert.equal(result.sqlstate, '42601');
    assert.match(result.message, /syntax error at or near "SELEC"/);
  });

  test('a statement that needs approval, with no hold budget: denied, saying it needs approval', async () => {
    const { result } = await statement('TRUNCATE orders');
    assert.ok(!result.allowed);
    assert.equal(result.code, 'ERR_APPROVAL_PENDING');
    assert.equal(result.sqlstate, '42501');
    assert.match(result.message, /needs approval/);
    assert.ok(result.approvalId);
  });

  test('a held statement is allowed once an approver approves it; the approval shows the normalized statement', async () => {
    const approver = await issuer.mint({ sub: 'dana', groups: ['dba'] });
    const admin = `http://127.0.0.1:${service.adminPort}`;
    const held = statement('TRUNCATE public.archive', 8000);
    const { value: pending } = await waitFor(async () => {
      const list = await pendingFor(admin, approver, 'eve');
      return list.find((a) => a.database?.statement === 'TRUNCATE public.archive');
    }, 5000);
    assert.equal(pending.method, 'SQL');
    assert.match(pending.path, /^sql:[0-9a-f]{64}$/);
    assert.deepEqual(pending.database, { user: 'app', name: 'orders', statement: 'TRUNCATE public.archive' });
    const vote = await approvalsCall(admin, approver, 'POST', `/approvals/${pending.id}/approve`, { reason: 'maintenance window' });
    assert.equal(vote.status, 200);
    const { status, result } = await held;
    assert.equal(status, 0);
    assert.ok(result.allowed);
    assert.equal(result.rule, 'engineers/truncate');
    assert.equal(result.approvalId, pending.id);
    assert.ok(typeof result.approvalWaitMs === 'number' && result.approvalWaitMs >= 0);
    assert.deepEqual(result.statement, [{ class: 'write', command: 'TRUNCATE', tables: ['public.archive'] }]);
  });
});
