import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicySources } from './compile-sources.ts';
import { request } from './testing.ts';

const BUNDLE = `targets:
  - name: billing
    masking: pii
  - name: plain
policies:
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
const compile = (text: string, profiles: ReadonlySet<string> | undefined = PROFILES) =>
  compilePolicySources([{ file: 'billing.yaml', text }], profiles === undefined ? {} : { maskingProfiles: profiles });

describe('masking profiles named in policies', () => {
  it('a target declaration sets its profile; a rule overrides it for what it lets through', () => {
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

  it('an unknown profile, in a target or in a rule, is rejected with file and line', () => {
    const text = BUNDLE.replace('masking: pii', 'masking: pi').replace('masking: strict', 'masking: strikt');
    assert.throws(() => compile(text), (err: any) => {
      assert.equal(err.code, 'ERR_POLICY_INVALID');
      const target = err.issues.find((i: any) => i.path === '/targets/0/masking');
      const rule = err.issues.find((i: any) => i.path === '/policies/0/rules/1/masking');
      assert.ok(target && rule, JSON.stringify(err.issues));
      assert.equal(target.line, 3);
      assert.equal(rule.line, 18);
      assert.match(rule.message, /unknown masking profile "strikt" \(extProc\.masking\.profiles has: pii, strict\)/);
      assert.match(err.message, /billing\.yaml:18:/);
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
