import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicySources } from './compile-sources.ts';
import { declaredTargets } from './testing.ts';

// The targets are what sluice.yaml declares; the extra blank line keeps the fixture's line numbers.
const TARGETS = declaredTargets('sql-api', 'other');
const BUNDLE = `

guardrails:
  - name: no-drop
    targets: [sql-api]
    in: [body, query]
    pattern: '\\bdrop\\s+table\\b'
    ignoreCase: true
  - name: no-secret-path
    targets: [sql-api, other]
    in: [path]
    pattern: '/internal/'
`;

describe('content guardrails', () => {
  const set = compilePolicySources([{ file: 'g.yaml', text: BUNDLE }], TARGETS);
  const check = (over: Partial<Parameters<typeof set.checkContent>[0]>) =>
    set.checkContent({ target: 'sql-api', path: '/q', query: '', headers: {}, ...over });

  it('finds a pattern where it is told to look, and only there', () => {
    assert.equal(check({ body: Buffer.from('select 1; DROP\tTABLE t') }), 'no-drop');
    assert.equal(check({ query: 'q=drop%20table' }), 'no-drop', 'percent-encoding does not slip past');
    assert.equal(check({ query: 'q=drop+TABLE' }), 'no-drop', 'nor does + for a space');
    assert.equal(check({ query: 'q=%E0%A4%A' }), null, 'a malformed escape is checked as written, without throwing');
    assert.equal(check({ query: 'q=drop table' }), 'no-drop');
    assert.equal(check({ headers: { 'x-q': 'drop table' } }), null, 'headers are not in this guardrail');
    assert.equal(check({ path: '/internal/x' }), 'no-secret-path');
    assert.equal(set.checkContent({ target: 'other', path: '/q', query: 'drop table', headers: {} }), null, 'targets are respected');
    assert.equal(check({ body: Buffer.from('dropped tables are fine') }), null, 'word boundaries hold');
  });

  it('rejects a bad RE2 pattern and an unknown target, with line numbers', () => {
    assert.throws(() => compilePolicySources([{ file: 'g.yaml', text: BUNDLE.replace("'/internal/'", "'(unclosed'").replace('targets: [sql-api]\n', 'targets: [nope]\n') }], TARGETS), (err: any) => {
      assert.equal(err.code, 'ERR_POLICY_INVALID');
      assert.ok(err.issues.some((i: any) => i.path === '/guardrails/1/pattern' && /invalid RE2 pattern/.test(i.message) && i.line === 12));
      assert.ok(err.issues.some((i: any) => i.path === '/guardrails/0/targets/0' && /unknown target "nope"/.test(i.message)));
      return true;
    });
  });
});
