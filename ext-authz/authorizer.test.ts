import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/logger.ts';
import { Authorizer } from './authorizer.ts';
import type { Action, CheckInput } from './check-input.ts';
import type { IdentityVerifier } from './identity/types.ts';
import { compileYaml, declaredTargets, identity } from './policy/testing.ts';

// Allows everything on demo-api to everyone: only the kind of action can make it deny.
const POLICIES = compileYaml({
  'p.yaml': `
policies:
  - name: open
    targets: [demo-api]
    subjects:
      - groups: [engineering]
    rules:
      - name: everything
        effect: allow
`,
}, declaredTargets('demo-api'));

const verifier: IdentityVerifier = {
  verify: async (token) => {
    assert.equal(token, 'tok');
    return identity({ subject: 'alice', groups: ['engineering'] });
  },
};

const authorizer = new Authorizer({ verifier, policies: () => POLICIES, logger: silentLogger(), newSessionId: () => 's-1' });

function input(action: Action): CheckInput {
  return {
    protocol: 'http', requestId: 'req-1', target: 'demo-api', credential: { kind: 'bearer', authorization: 'Bearer tok' },
    action, sourceAddress: undefined, holdBudgetMs: 0, reason: '',
  };
}

test('an HTTP action is evaluated by the policies', async () => {
  const verdict = await authorizer.check(input({ kind: 'http', method: 'GET', path: '/x', query: '', headers: {}, body: undefined }));
  assert.equal(verdict.kind, 'allow');
  assert.equal(verdict.kind === 'allow' && verdict.decision.rule, 'open/everything');
});

test('a database login is decided by database grants only, never by an HTTP allow-everything rule', async () => {
  const login: Action = { kind: 'postgres', phase: 'login', user: 'app', database: 'orders', sessionId: 'pg-1', statement: null, malformed: null };
  const verdict = await authorizer.check({ ...input(login), protocol: 'postgres' });
  assert.equal(verdict.kind === 'deny' && verdict.code, 'ERR_DB_LOGIN_DENIED');
  assert.equal(verdict.identity?.subject, 'alice', 'the identity phase still ran on the presented credential');
});

test('a malformed database check is refused before identity', async () => {
  let verified = 0;
  const counting = new Authorizer({ verifier: { verify: async (t, s) => { verified++; return verifier.verify(t, s); } }, policies: () => POLICIES, logger: silentLogger() });
  const login: Action = { kind: 'postgres', phase: 'login', user: '', database: 'orders', sessionId: 'pg-1', statement: null, malformed: 'sluice_pg_user is missing' };
  const verdict = await counting.check({ ...input(login), protocol: 'postgres' });
  assert.equal(verdict.kind === 'deny' && verdict.code, 'ERR_DB_CHECK_INVALID');
  assert.equal(verified, 0);
});

test('the identity phase reads the bearer credential: a missing one is ERR_TOKEN_MISSING, after the target check', async () => {
  const none = { ...input({ kind: 'http', method: 'GET', path: '/x', query: '', headers: {}, body: undefined }), credential: { kind: 'bearer', authorization: undefined } } as const;
  const missing = await authorizer.check(none);
  assert.equal(missing.kind === 'deny' && missing.code, 'ERR_TOKEN_MISSING');
  const noTarget = await authorizer.check({ ...none, target: undefined });
  assert.equal(noTarget.kind === 'deny' && noTarget.code, 'ERR_TARGET_UNKNOWN');
});

test('an ambiguous path is refused before identity and policy, even under an allow-everything rule', async () => {
  let verified = 0;
  const counting = new Authorizer({ verifier: { verify: async (t, s) => { verified++; return verifier.verify(t, s); } }, policies: () => POLICIES, logger: silentLogger() });
  const verdict = await counting.check(input({ kind: 'http', method: 'GET', path: '/x/%252e%252e/admin', query: '', headers: {}, body: undefined }));
  assert.equal(verdict.kind === 'deny' && verdict.code, 'ERR_PATH_AMBIGUOUS');
  assert.deepEqual(verdict.kind === 'deny' && verdict.extra, { reason: 'double-encoding' });
  assert.equal(verified, 0, 'no token was verified');
  const plain = await counting.check(input({ kind: 'http', method: 'GET', path: '/x/a%20b', query: '', headers: {}, body: undefined }));
  assert.equal(plain.kind, 'allow', 'a legitimately encoded path is not ambiguous');
});
