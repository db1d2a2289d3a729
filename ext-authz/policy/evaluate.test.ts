import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileYaml, declaredTargets, identity, request } from './testing.ts';
import { compilePolicySources } from './compile-sources.ts';

const TARGETS = `
targets:
  - name: demo-api
  - name: other-api
`;

/** A bundle with the shared targets plus the given policies document. */
function bundle(policies: string) {
  return compileYaml({ 'targets.yaml': TARGETS, 'policies.yaml': policies });
}

describe('evaluate: decisions', () => {
  const set = bundle(`
policies:
  - name: readers
    targets: [demo-api]
    subjects: [{ groups: [engineering] }]
    rules:
      - { name: read, effect: allow, methods: [GET, head], paths: ["/api/**"] }
      - { name: write, effect: allow, methods: [POST], paths: ["/api/*/items"] }
      - { name: star, effect: allow, methods: ["*"], paths: ["/any-method"] }
`);
  const engineer = identity({ groups: ['engineering'] });

  it('allows a matching rule and names it', () => {
    const d = set.evaluate(request({ identity: engineer, path: '/api/orders' }));
    assert.equal(d.effect, 'allow');
    assert.equal(d.rule, 'readers/read');
    assert.deepEqual(d.upstreamHeaders, {});
  });

  it('denies by default with rule null', () => {
    const d = set.evaluate(request({ identity: engineer, method: 'DELETE', path: '/api/orders' }));
    assert.equal(d.effect, 'deny');
    assert.equal(d.rule, null);
    assert.equal(d.reason, 'no rule allows this request');
  });

  it('denies a subject no policy names', () => {
    assert.equal(set.evaluate(request({ identity: identity({ groups: ['sales'] }), path: '/api/x' })).effect, 'deny');
  });

  it('denies an undeclared target and a declared target without policies', () => {
    assert.equal(set.evaluate(request({ identity: engineer, target: 'nope', path: '/api/x' })).rule, null);
    assert.equal(set.evaluate(request({ identity: engineer, target: 'nope', path: '/api/x' })).effect, 'deny');
    assert.equal(set.evaluate(request({ identity: engineer, target: 'other-api', path: '/api/x' })).effect, 'deny');
  });

  it('upper-cases methods from the policy and the request', () => {
    assert.equal(set.evaluate(request({ identity: engineer, method: 'HEAD', path: '/api/x' })).rule, 'readers/read');
    assert.equal(set.evaluate(request({ identity: engineer, method: 'get', path: '/api/x' })).rule, 'readers/read');
  });

  it('"*" method matches any method', () => {
    assert.equal(set.evaluate(request({ identity: engineer, method: 'PATCH', path: '/any-method' })).rule, 'readers/star');
  });

  it('path globs: * is one segment, ** any depth (including none)', () => {
    const rule = (method: string, path: string) => set.evaluate(request({ identity: engineer, method, path })).rule;
    assert.equal(rule('POST', '/api/v1/items'), 'readers/write');
    assert.equal(rule('POST', '/api/v1/v2/items'), null);
    assert.equal(rule('POST', '/api/items'), null);
    assert.equal(rule('GET', '/api'), 'readers/read');
    assert.equal(rule('GET', '/api/a/b/c/d'), 'readers/read');
    assert.equal(rule('GET', '/api/.well-known/x'), 'readers/read');
    assert.equal(rule('GET', '/apix'), null);
    assert.equal(rule('GET', '/API/x'), null);
  });

  it('ignores the query string', () => {
    assert.equal(set.evaluate(request({ identity: engineer, method: 'POST', path: '/api/v1/items?x=/a/b' })).rule, 'readers/write');
  });

  it('matches percent-encoded paths as sent, without decoding', () => {
    // %2F is not a separator: one segment.
    assert.equal(set.evaluate(request({ identity: engineer, method: 'POST', path: '/api/a%2Fb/items' })).rule, 'readers/write');
    assert.equal(set.evaluate(request({ identity: engineer, method: 'POST', path: '/api/v1/item%73' })).rule, null);
  });

  it('refuses paths with dot or empty segments', () => {
    for (const path of ['/api/../admin', '/api/./x', '/api/%2e%2E/x', '/api//x', '/api/..']) {
      const d = set.evaluate(request({ identity: engineer, path }));
      assert.equal(d.effect, 'deny', path);
      assert.equal(d.rule, null, path);
    }
  });

  it('returns frozen shared decisions', () => {
    const d = set.evaluate(request({ identity: engineer, path: '/api/x' }));
    assert.ok(Object.isFrozen(d));
    assert.ok(Object.isFrozen(d.upstreamHeaders));
    assert.equal(d, set.evaluate(request({ identity: engineer, path: '/api/y' })));
  });
});

describe('evaluate: deny precedence', () => {
  const set = bundle(`
policies:
  - name: broad
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules:
      - { name: everything, effect: allow }
  - name: guard
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules:
      - { name: no-admin, effect: deny, paths: ["/admin/**"] }
  - name: later-allow
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules:
      - { name: admin, effect: allow, paths: ["/admin/**"] }
`);

  it('an explicit deny in another policy beats an earlier and a later allow', () => {
    const d = set.evaluate(request({ path: '/admin/users' }));
    assert.equal(d.effect, 'deny');
    assert.equal(d.rule, 'guard/no-admin');
  });

  it('otherwise the first allow in load order decides', () => {
    assert.equal(set.evaluate(request({ path: '/public' })).rule, 'broad/everything');
  });

  it('a deny inside the same policy also wins over an earlier allow there', () => {
    const s = bundle(`
policies:
  - name: p
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules:
      - { name: all, effect: allow }
      - { name: not-delete, effect: deny, methods: [DELETE] }
`);
    assert.equal(s.evaluate(request({ method: 'DELETE' })).rule, 'p/not-delete');
    assert.equal(s.evaluate(request({ method: 'GET' })).rule, 'p/all');
  });

  it('a deny in a policy whose subjects do not match does not apply', () => {
    const s = bundle(`
policies:
  - name: allow-all
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules: [{ name: all, effect: allow }]
  - name: deny-bob
    targets: [demo-api]
    subjects: [{ users: [bob] }]
    rules: [{ name: no, effect: deny }]
`);
    assert.equal(s.evaluate(request({ identity: identity({ subject: 'alice' }) })).rule, 'allow-all/all');
    assert.equal(s.evaluate(request({ identity: identity({ subject: 'bob' }) })).rule, 'deny-bob/no');
  });
});

describe('evaluate: subjects', () => {
  const set = bundle(`
policies:
  - name: p
    targets: [demo-api]
    subjects:
      - issuer: dev
        users: [alice, carol]
        groups: [eng]
      - issuer: workloads
        claims:
          kubernetes.io.namespace: ci
          tier: [gold, silver]
      - claims:
          email_verified: true
          level: 3
    rules: [{ name: r, effect: allow }]
  - name: anyone
    targets: [other-api]
    subjects: [{ users: ["*"] }]
    rules: [{ name: r, effect: allow }]
`);
  const allowed = (id: ReturnType<typeof identity>, target = 'demo-api') =>
    set.evaluate(request({ identity: id, target })).effect === 'allow';

  it('ANDs the fields of one entry', () => {
    assert.equal(allowed(identity({ subject: 'alice', groups: ['eng'] })), true);
    assert.equal(allowed(identity({ subject: 'carol', groups: ['ops', 'eng'] })), true);
    assert.equal(allowed(identity({ subject: 'alice', groups: ['ops'] })), false);
    assert.equal(allowed(identity({ subject: 'bob', groups: ['eng'] })), false);
  });

  it('scopes by issuer name', () => {
    assert.equal(allowed(identity({ issuerName: 'other', subject: 'alice', groups: ['eng'] })), false);
  });

  it('ORs the entries; claims match nested dotted paths, lists and typed scalars', () => {
    const ci = (claims: Record<string, unknown>) => identity({ issuerName: 'workloads', subject: 'system:sa:ci:builder', claims });
    assert.equal(allowed(ci({ 'kubernetes.io': { namespace: 'ci' }, tier: 'gold' })), true);
    assert.equal(allowed(ci({ 'kubernetes.io.namespace': 'ci', tier: 'silver' })), true);
    assert.equal(allowed(ci({ 'kubernetes.io': { namespace: 'prod' }, tier: 'gold' })), false);
    assert.equal(allowed(ci({ 'kubernetes.io': { namespace: 'ci' } })), false);
    assert.equal(allowed(ci({ 'kubernetes.io': { namespace: 'ci' }, tier: ['bronze', 'gold'] })), true);
    // Third entry (no issuer): typed equality, "true" is not true.
    assert.equal(allowed(identity({ subject: 'x', claims: { email_verified: true, level: 3 } })), true);
    assert.equal(allowed(identity({ subject: 'x', claims: { email_verified: 'true', level: 3 } })), false);
    assert.equal(allowed(identity({ subject: 'x', claims: { email_verified: true, level: '3' } })), false);
  });

  it('"*" user matches any authenticated subject of any issuer', () => {
    assert.equal(allowed(identity({ subject: 'zed' }), 'other-api'), true);
    assert.equal(allowed(identity({ issuerName: 'workloads', subject: 'w' }), 'other-api'), true);
  });

  it('does not follow inherited properties of claims', () => {
    const s = bundle(`
policies:
  - name: p
    targets: [demo-api]
    subjects: [{ claims: { constructor.name: Object } }]
    rules: [{ name: r, effect: allow }]
`);
    assert.equal(s.evaluate(request({ identity: identity({ claims: {} }) })).effect, 'deny');
  });
});

describe('evaluate: when conditions', () => {
  const set = bundle(`
policies:
  - name: p
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules:
      - { name: claim-equals, effect: allow, paths: ["/ce"], when: [{ claim: team, equals: payments }] }
      - { name: claim-in, effect: allow, paths: ["/ci"], when: [{ claim: org.level, in: [1, 2] }] }
      - { name: claim-matches, effect: allow, paths: ["/cm"], when: [{ claim: email, matches: "*@example.com" }] }
      - { name: claim-absent, effect: allow, paths: ["/ca"], when: [{ claim: act, present: false }] }
      - { name: header-equals, effect: allow, paths: ["/he"], when: [{ header: X-Env, equals: 1 }] }
      - { name: header-in, effect: allow, paths: ["/hi"], when: [{ header: x-env, in: [staging, dev] }] }
      - { name: header-matches, effect: allow, paths: ["/hm"], when: [{ header: user-agent, matches: "curl/*" }] }
      - { name: header-present, effect: allow, paths: ["/hp"], when: [{ header: x-trace, present: true }] }
      - { name: source, effect: allow, paths: ["/sa"], when: [{ sourceAddress: true, matches: "10.1.*" }] }
      - { name: both, effect: allow, paths: ["/both"], when: [{ header: x-a, present: true }, { header: x-b, present: true }] }
`);
  const rule = (path: string, opts: { claims?: Record<string, unknown>; headers?: Record<string, string>; sourceAddress?: string } = {}) =>
    set.evaluate(
      request({
        path,
        identity: identity({ claims: opts.claims ?? {} }),
        headers: opts.headers ?? {},
        ...(opts.sourceAddress === undefined ? {} : { sourceAddress: opts.sourceAddress }),
      }),
    ).rule;

  it('claim equals', () => {
    assert.equal(rule('/ce', { claims: { team: 'payments' } }), 'p/claim-equals');
    assert.equal(rule('/ce', { claims: { team: ['ops', 'payments'] } }), 'p/claim-equals');
    assert.equal(rule('/ce', { claims: { team: 'ops' } }), null);
    assert.equal(rule('/ce'), null);
  });

  it('claim in (nested path, typed values)', () => {
    assert.equal(rule('/ci', { claims: { org: { level: 2 } } }), 'p/claim-in');
    assert.equal(rule('/ci', { claims: { org: { level: '2' } } }), null);
    assert.equal(rule('/ci', { claims: { org: { level: 3 } } }), null);
  });

  it('claim matches (value glob: * crosses any character)', () => {
    assert.equal(rule('/cm', { claims: { email: 'a.b@example.com' } }), 'p/claim-matches');
    assert.equal(rule('/cm', { claims: { email: 'a@example.com.evil' } }), null);
    assert.equal(rule('/cm', { claims: { email: 'a@exampleXcom' } }), null);
    assert.equal(rule('/cm', { claims: { email: 42 } }), null);
  });

  it('claim present: false (null counts as absent)', () => {
    assert.equal(rule('/ca'), 'p/claim-absent');
    assert.equal(rule('/ca', { claims: { act: null } }), 'p/claim-absent');
    assert.equal(rule('/ca', { claims: { act: { sub: 'x' } } }), null);
  });

  it('header equals / in / matches / present (names case-insensitive, values as strings)', () => {
    assert.equal(rule('/he', { headers: { 'x-env': '1' } }), 'p/header-equals');
    assert.equal(rule('/he', { headers: { 'x-env': '2' } }), null);
    assert.equal(rule('/hi', { headers: { 'x-env': 'dev' } }), 'p/header-in');
    assert.equal(rule('/hi', { headers: { 'x-env': 'prod' } }), null);
    assert.equal(rule('/hm', { headers: { 'user-agent': 'curl/8.5.0' } }), 'p/header-matches');
    assert.equal(rule('/hm', { headers: { 'user-agent': 'wget/1' } }), null);
    assert.equal(rule('/hp', { headers: { 'x-trace': '' } }), 'p/header-present');
    assert.equal(rule('/hp'), null);
  });

  it('header lookups ignore inherited properties', () => {
    const s = bundle(`
policies:
  - name: p
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules: [{ name: r, effect: allow, when: [{ header: constructor, present: true }] }]
`);
    assert.equal(s.evaluate(request()).effect, 'deny');
  });

  it('sourceAddress matches', () => {
    assert.equal(rule('/sa', { sourceAddress: '10.1.2.3' }), 'p/source');
    assert.equal(rule('/sa', { sourceAddress: '10.2.2.3' }), null);
    assert.equal(rule('/sa'), null);
  });

  it('all conditions must hold', () => {
    assert.equal(rule('/both', { headers: { 'x-a': '1', 'x-b': '1' } }), 'p/both');
    assert.equal(rule('/both', { headers: { 'x-a': '1' } }), null);
  });
});

describe('evaluate: identity headers', () => {
  const set = bundle(`
policies:
  - name: p
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    identityHeaders:
      X-Sluice-Subject: $subject
      x-sluice-issuer: $issuer
      x-sluice-groups: $groups
      x-sluice-email: email
      x-sluice-ns: kubernetes.io.namespace
      x-sluice-level: level
      x-sluice-roles: roles
      x-sluice-missing: not_there
      x-sluice-object: obj
    rules:
      - { name: r, effect: allow, paths: ["/ok"] }
      - { name: d, effect: deny, paths: ["/no"] }
`);
  const id = identity({
    subject: 'alice',
    groups: ['eng', 'ops'],
    claims: {
      sub: 'alice',
      email: 'alice@example.com\r\nx-injected: yes',
      'kubernetes.io': { namespace: 'ci' },
      level: 3,
      roles: ['a', 'b'],
      obj: { a: 1 },
    },
  });

  it('computes headers from the identity for the allowing policy', () => {
    const d = set.evaluate(request({ identity: id, path: '/ok' }));
    assert.equal(d.effect, 'allow');
    assert.deepEqual(d.upstreamHeaders, {
      'x-sluice-subject': 'alice',
      'x-sluice-issuer': 'dev',
      'x-sluice-groups': 'eng,ops',
      'x-sluice-email': 'alice@example.com  x-injected: yes',
      'x-sluice-ns': 'ci',
      'x-sluice-level': '3',
      'x-sluice-roles': 'a,b',
    });
    for (const value of Object.values(d.upstreamHeaders)) assert.doesNotMatch(value, /[\r\n]/);
  });

  it('adds no headers to a deny', () => {
    assert.deepEqual(set.evaluate(request({ identity: id, path: '/no' })).upstreamHeaders, {});
  });

  it('computes a caller\'s headers once per identity and rule, frozen; another identity gets its own', () => {
    const first = set.evaluate(request({ identity: id, path: '/ok' }));
    assert.equal(set.evaluate(request({ identity: id, path: '/ok' })), first, 'the same decision object for the same identity');
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.upstreamHeaders));
    const bob = identity({ subject: 'bob', groups: ['eng'], claims: { sub: 'bob' } });
    const other = set.evaluate(request({ identity: bob, path: '/ok' }));
    assert.notEqual(other, first);
    assert.equal(other.upstreamHeaders['x-sluice-subject'], 'bob');
    assert.equal(first.upstreamHeaders['x-sluice-subject'], 'alice');
  });

  it('uses the headers of the allowing policy only', () => {
    const s = bundle(`
policies:
  - name: first
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    identityHeaders: { x-first: $subject }
    rules: [{ name: r, effect: allow }]
  - name: second
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    identityHeaders: { x-second: $subject }
    rules: [{ name: r, effect: allow }]
`);
    assert.deepEqual(s.evaluate(request()).upstreamHeaders, { 'x-first': 'alice' });
  });
});

describe('approve effect', () => {
  const bundle = `
policies:
  - name: operators
    targets: [ops-api]
    subjects:
      - groups: [engineering]
    identityHeaders: { x-sluice-subject: $subject }
    rules:
      - name: read
        effect: allow
        methods: [GET]
      - name: deploy
        effect: approve
        methods: [POST]
        paths: ["/deploy/**"]
        approval:
          approvers: [sre, security]
          quorum: every-group
          grant: 15m
          hold: 20s
          pendingFor: 2h
      - name: everything-else
        effect: allow
  - name: freeze
    targets: [ops-api]
    subjects:
      - users: [mallory]
    rules:
      - name: no-deploys
        effect: deny
        paths: ["/deploy/**"]
`;

  it('an approve rule beats a broader allow, carries its compiled spec and identity headers', () => {
    const set = compilePolicySources([{ file: 'ops.yaml', text: bundle }], declaredTargets('ops-api'));
    const decision = set.evaluate({ identity: identity({ subject: 'alice', groups: ['engineering'] }), target: 'ops-api', method: 'POST', path: '/deploy/web', headers: {} });
    assert.equal(decision.effect, 'approve');
    assert.equal(decision.rule, 'operators/deploy');
    assert.deepEqual(decision.upstreamHeaders, { 'x-sluice-subject': 'alice' });
    assert.deepEqual(decision.approval, {
      approverGroups: ['sre', 'security'],
      quorum: 'every-group',
      grant: { scope: 'window', windowMs: 15 * 60_000 },
      holdMs: 20_000,
      pendingTtlMs: 2 * 3_600_000,
    });
    const read = set.evaluate({ identity: identity({ subject: 'alice', groups: ['engineering'] }), target: 'ops-api', method: 'GET', path: '/deploy/web', headers: {} });
    assert.equal(read.effect, 'allow');
    assert.equal(read.approval, null);
  });

  it('an explicit deny still wins over approve', () => {
    const set = compilePolicySources([{ file: 'ops.yaml', text: bundle }], declaredTargets('ops-api'));
    const decision = set.evaluate({ identity: identity({ subject: 'mallory', groups: ['engineering'] }), target: 'ops-api', method: 'POST', path: '/deploy/web', headers: {} });
    assert.equal(decision.effect, 'deny');
    assert.equal(decision.rule, 'freeze/no-deploys');
  });

  it('defaults: quorum any, grant this request only, hold 25 s, pending 1 h', () => {
    const set = compilePolicySources([{ file: 'ops.yaml', text: bundle.replace(/          quorum: every-group\n          grant: 15m\n          hold: 20s\n          pendingFor: 2h\n/, '') }], declaredTargets('ops-api'));
    const decision = set.evaluate({ identity: identity({ subject: 'alice', groups: ['engineering'] }), target: 'ops-api', method: 'POST', path: '/deploy/x', headers: {} });
    assert.deepEqual(decision.approval, { approverGroups: ['sre', 'security'], quorum: 'any', grant: { scope: 'request' }, holdMs: 25_000, pendingTtlMs: 3_600_000 });
  });

  it('rejects an approve rule without an approval block, and an approval block on an allow rule', () => {
    assert.throws(() => compilePolicySources([{ file: 'ops.yaml', text: bundle.replace(/        approval:\n(          .*\n)+/, '') }], declaredTargets('ops-api')), (err: any) => {
      assert.equal(err.code, 'ERR_POLICY_INVALID');
      assert.ok(err.issues.some((i: any) => i.path === '/policies/0/rules/1' && /needs an approval block/.test(i.message)));
      return true;
    });
    assert.throws(() => compilePolicySources([{ file: 'ops.yaml', text: bundle.replace('effect: approve', 'effect: allow') }], declaredTargets('ops-api')), { code: 'ERR_POLICY_INVALID' });
  });

  it('rejects a hold longer than pendingFor and bad durations, with line numbers', () => {
    assert.throws(() => compilePolicySources([{ file: 'ops.yaml', text: bundle.replace('hold: 20s', 'hold: 3h') }], declaredTargets('ops-api')), (err: any) => {
      assert.ok(err.issues.some((i: any) => i.path.endsWith('/approval/hold') && i.line > 0));
      return true;
    });
    assert.throws(() => compilePolicySources([{ file: 'ops.yaml', text: bundle.replace('grant: 15m', 'grant: forever') }], declaredTargets('ops-api')), (err: any) => {
      assert.ok(err.issues.some((i: any) => i.path.endsWith('/approval/grant') && i.line === 19 && i.column === 18));
      return true;
    });
  });
});
