import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicySources } from './compile-sources.ts';
import { request } from './testing.ts';

const BUNDLE = `policies:
  - name: billing-staff
    targets: [billing, plain]
    subjects:
      - users: [alice]
    rules:
      - name: read
        effect: allow
        methods: [GET]
      - name: export
        effect: allow
        methods: [POST]
        paths: ["/export"]
        masking: strict
`;

const PROFILES = new Set(['pii', 'strict']);
/** sluice.yaml's side: billing has the operator default `pii`, plain none. */
const TARGETS = new Map([['billing', { protocol: 'http', masking: 'pii' }], ['plain', { protocol: 'http', masking: null }]]);
const compile = (text: string, profiles: ReadonlySet<string> | undefined = PROFILES) =>
  compilePolicySources([{ file: 'billing.yaml', text }], profiles === undefined ? { targets: TARGETS } : { targets: TARGETS, maskingProfiles: profiles });

describe('masking profiles named in policies', () => {
  it('the operator default of a target (sluice.yaml) applies; a rule overrides it for what it lets through', () => {
    const set = compile(BUNDLE);
    assert.equal(set.maskingFor('billing'), 'pii');
    assert.equal(set.maskingFor('plain'), null);
    const read = set.evaluate(request({ target: 'billing', method: 'GET', path: '/x' }));
    assert.equal(read.effect, 'allow');
    assert.equal(read.masking, null, 'the read rule names none: the target\'s applies');
    const exported = set.evaluate(request({ target: 'plain', method: 'POST', path: '/export' }));
    assert.equal(exported.rule, 'billing-staff/export');
    assert.equal(exported.masking, 'strict');
  });

  it('an unknown profile in a rule is rejected with file and line', () => {
    const text = BUNDLE.replace('masking: strict', 'masking: strikt');
    assert.throws(() => compile(text), (err: any) => {
      assert.equal(err.code, 'ERR_POLICY_INVALID');
      const rule = err.issues.find((i: any) => i.path === '/policies/0/rules/1/masking');
      assert.ok(rule, JSON.stringify(err.issues));
      assert.equal(rule.line, 14);
      assert.match(rule.message, /unknown masking profile "strikt" \(extProc\.masking\.profiles has: pii, strict\)/);
      assert.match(err.message, /billing\.yaml:14:/);
      return true;
    });
  });

  it('with no profiles configured every reference is unknown; a what-if load without a context does not check', () => {
    assert.throws(() => compile(BUNDLE, new Set()), /has: none configured/);
    assert.equal(compile(BUNDLE, undefined).maskingFor('billing'), 'pii');
  });

  it('a profile name must look like one', () => {
    assert.throws(() => compile(BUNDLE.replace('masking: strict', 'masking: "Strict Profile"')), (err: any) =>
      err.issues.some((i: any) => i.path === '/policies/0/rules/1/masking' && /masking profile/.test(i.message)));
  });
});
