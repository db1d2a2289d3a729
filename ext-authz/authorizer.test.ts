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

test('an action the policy rules do not cover is denied, even under an allow-everything rule', async () => {
  // What a database adapter will hand over; no policy rule is written for it yet.
  const statement = { kind: 'postgres', statement: 'DROP TABLE t' } as unknown as Action;
  const verdict = await authorizer.check(input(statement));
  assert.equal(verdict.kind, 'deny');
  assert.equal(verdict.kind === 'deny' && verdict.code, 'ERR_POLICY_DENIED');
  assert.equal(verdict.identity?.subject, 'alice', 'the identity phase still ran on the presented credential');
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
