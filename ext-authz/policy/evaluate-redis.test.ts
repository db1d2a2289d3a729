import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyError } from './errors.ts';
import { compileYaml, identity } from './testing.ts';

const POLICIES = `targets:
  - name: cache
    protocol: redis
  - name: plain
    protocol: redis
  - name: demo-api
policies:
  - name: workers
    targets: [cache]
    subjects:
      - groups: [workers]
    redis:
      maxSession: 15m
    rules:
      - name: jobs
        effect: allow
        commands: [GET, SET, DEL]
        keys: ["jobs:*"]
      - name: no-eval
        effect: deny
        commands: [script]
  - name: analysts
    targets: [cache]
    subjects:
      - groups: [analysts]
    redis: {}
    rules:
      - name: read-only
        effect: allow
        commands: [read]
  - name: plain-users
    targets: [plain]
    subjects:
      - groups: [workers]
    redis: {}
    rules:
      - name: all
        effect: allow
        commands: ["*"]
`;

const login = (groups: string[], target = 'cache', username = '') =>
  compileYaml({ 'p.yaml': POLICIES }).evaluateRedisLogin({ identity: identity({ subject: 'w1', groups }), target, username });

test('a login is allowed by the first matching policy with a redis block; it carries the cap and the subject\'s command rules, deny rules first', () => {
  const worker = login(['workers']);
  assert.equal(worker.decision.effect, 'allow');
  assert.equal(worker.decision.rule, 'workers/redis');
  assert.equal(worker.maxSessionMs, 15 * 60_000);
  assert.deepEqual(worker.rules.map((r) => [r.id, r.effect, r.commands, r.keys]), [
    ['workers/no-eval', 'deny', ['script'], null],
    ['workers/jobs', 'allow', ['GET', 'SET', 'DEL'], ['jobs:*']],
  ]);
  const analyst = login(['analysts']);
  assert.equal(analyst.maxSessionMs, null);
  assert.deepEqual(analyst.rules.map((r) => r.id), ['analysts/read-only']);
});

test('no grant for the subject, or an AUTH user name that is not default or the subject, is ERR_REDIS_LOGIN_DENIED', () => {
  const denied = login(['sales']);
  assert.equal(denied.decision.effect, 'deny');
  assert.equal(denied.denial?.code, 'ERR_REDIS_LOGIN_DENIED');
  assert.match(denied.denial!.message, /may not log in to redis target "cache"/);
  assert.equal(login(['workers'], 'cache', 'default').decision.effect, 'allow');
  assert.equal(login(['workers'], 'cache', 'w1').decision.effect, 'allow');
  const other = login(['workers'], 'cache', 'admin');
  assert.equal(other.denial?.code, 'ERR_REDIS_LOGIN_DENIED');
  assert.match(other.denial!.message, /AUTH names user "admin"/);
});

test('routing needs: rules that name commands or keys need per-command checks; allow "*" alone does not', () => {
  const set = compileYaml({ 'p.yaml': POLICIES });
  assert.equal(set.routingNeeds('cache').commandChecks, true);
  assert.equal(set.routingNeeds('plain').commandChecks, false);
});

function loadErrors(text: string): string[] {
  try {
    compileYaml({ 'bad.yaml': text });
  } catch (err) {
    assert.ok(err instanceof PolicyError);
    return err.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  assert.fail('expected a load error');
}

test('load errors: redis blocks and commands on other targets, methods on a redis target, rules a target without command checks cannot enforce', () => {
  const issues = loadErrors(`targets:
  - name: cache
    protocol: redis
  - name: nochecks
    protocol: redis
    redisCommands: "off"
  - name: demo-api
policies:
  - name: mixed
    targets: [demo-api]
    subjects: [{ groups: [x] }]
    redis: {}
    rules:
      - { name: a, effect: allow, commands: [GET] }
  - name: http-on-redis
    targets: [cache]
    subjects: [{ groups: [x] }]
    redis: {}
    rules:
      - { name: b, effect: allow, methods: [GET] }
  - name: off
    targets: [nochecks]
    subjects: [{ groups: [x] }]
    redis: {}
    rules:
      - { name: c, effect: allow, commands: [GET], keys: ["a:*"] }
      - { name: d, effect: allow, commands: ["*"] }
`);
  assert.ok(issues.some((i) => /^\/policies\/0\/redis: redis applies to redis targets; "demo-api"/.test(i)), issues.join('\n'));
  assert.ok(issues.some((i) => /^\/policies\/0\/rules\/0\/commands: commands and keys apply to redis targets/.test(i)), issues.join('\n'));
  assert.ok(issues.some((i) => /^\/policies\/1\/rules\/0\/methods: "cache" is a redis target/.test(i)), issues.join('\n'));
  assert.ok(issues.some((i) => /^\/policies\/2\/rules\/0\/commands: redis target "nochecks" runs without command checks/.test(i)), issues.join('\n'));
  assert.ok(!issues.some((i) => i.startsWith('/policies/2/rules/1')), 'allow "*" is enforceable by redis_proxy alone');
});
