import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyError } from './errors.ts';
import { parsePolicyFile } from './parse.ts';
import { compileYaml, declaredTargets, request } from './testing.ts';

function issuesOf(text: string) {
  return parsePolicyFile('bad.yaml', text).issues;
}

const VALID_POLICY = `policies:
  - name: p
    targets: [demo-api]
    subjects: [{ users: ["*"] }]
    rules:
      - name: r
        effect: allow
`;

describe('parsePolicyFile', () => {
  it('accepts a valid multi-document file and skips empty documents', () => {
    const parsed = parsePolicyFile('ok.yaml', `guardrails: []\n---\n# only a comment\n---\n${VALID_POLICY}`);
    assert.deepEqual(parsed.issues, []);
    assert.equal(parsed.docs.length, 2);
  });

  it('accepts an empty file', () => {
    assert.deepEqual(parsePolicyFile('empty.yaml', ''), { file: 'empty.yaml', docs: [], issues: [] });
  });

  it('reports a YAML syntax error with its line and column', () => {
    // "a: b" inside a plain scalar value is a nested mapping, which YAML forbids here.
    const issues = issuesOf('targets:\n  - name: demo-api\n    description: Demo: upstream\n');
    assert.equal(issues.length >= 1, true);
    assert.equal(issues[0]!.file, 'bad.yaml');
    assert.equal(issues[0]!.line, 3);
    assert.equal(issues[0]!.column, 18);
  });

  it('reports a bad indentation error where it is', () => {
    const issues = issuesOf('targets:\n  - name: a\n   bogus: [\n');
    assert.ok(issues.length >= 1);
    assert.equal(issues[0]!.line, 3);
  });

  it('reports duplicate keys', () => {
    const issues = issuesOf('targets: []\ntargets: []\n');
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.line, 2);
    assert.equal(issues[0]!.column, 1);
  });

  it('reports an unknown field at the key', () => {
    const issues = issuesOf(VALID_POLICY.replace('effect: allow', 'effect: allow\n        method: [GET]'));
    assert.equal(issues.length, 1);
    assert.deepEqual(
      { line: issues[0]!.line, column: issues[0]!.column, path: issues[0]!.path },
      { line: 8, column: 9, path: '/policies/0/rules/0/method' },
    );
  });

  it('reports an unknown top-level field', () => {
    const issues = issuesOf('guardrails: []\npolicy: []\n');
    assert.deepEqual(issues.map((i) => [i.path, i.line, i.column]), [['/policy', 2, 1]]);
  });

  it('reports wrong types and bad enum values at the value', () => {
    const issues = issuesOf(VALID_POLICY.replace('effect: allow', 'effect: permit').replace('targets: [demo-api]', 'targets: demo-api'));
    assert.deepEqual(
      issues.map((i) => [i.path, i.line, i.column]),
      [
        ['/policies/0/targets', 3, 14],
        ['/policies/0/rules/0/effect', 7, 17],
      ],
    );
  });

  it('reports a missing required field at the object', () => {
    const issues = issuesOf(VALID_POLICY.replace('      - name: r\n', '      - '));
    assert.deepEqual(issues.map((i) => [i.path, i.line, i.column]), [['/policies/0/rules/0', 6, 17]]);
  });

  it('reports bad names, methods, paths, claim keys and identity header values', () => {
    const issues = issuesOf(`policies:
  - name: Bad Name
    targets: [demo-api]
    subjects:
      - claims: { "a..b": x }
    identityHeaders: { x-ok: $nobody, "bad header": $subject }
    rules:
      - { name: r, effect: allow, methods: [G3T], paths: [api/**] }
`);
    assert.deepEqual(
      issues.map((i) => i.path).sort(),
      [
        '/policies/0/identityHeaders/bad header',
        '/policies/0/identityHeaders/x-ok',
        '/policies/0/name',
        '/policies/0/rules/0/methods/0',
        '/policies/0/rules/0/paths/0',
        '/policies/0/subjects/0/claims/a..b',
      ],
    );
  });

  it('requires exactly one source and one operator per condition', () => {
    const issues = issuesOf(
      VALID_POLICY.replace(
        'effect: allow',
        'effect: allow\n        when:\n          - { claim: a, header: b, equals: 1 }\n          - { claim: a }\n          - { equals: 1 }',
      ),
    );
    assert.deepEqual(
      issues.map((i) => [i.path, i.line]),
      [
        ['/policies/0/rules/0/when/0', 9],
        ['/policies/0/rules/0/when/1', 10],
        ['/policies/0/rules/0/when/2', 11],
      ],
    );
  });

  it('refuses reserved identity headers and duplicate rule names', () => {
    const issues = issuesOf(
      VALID_POLICY.replace('    rules:', '    identityHeaders: { Authorization: $subject }\n    rules:') +
        '      - name: r\n        effect: deny\n',
    );
    assert.deepEqual(issues.map((i) => i.path).sort(), ['/policies/0/identityHeaders/Authorization', '/policies/0/rules/1/name']);
  });

  it('locates issues in the second document of a file', () => {
    const issues = issuesOf(`guardrails: []\n---\nguardrails:\n  - name: b\n    extra: 1\n    targets: [a]\n    pattern: x\n`);
    assert.deepEqual(issues.map((i) => [i.path, i.line, i.column]), [['/guardrails/0/extra', 5, 5]]);
  });

  it('a targets block says where targets are declared now (sluice.yaml)', () => {
    const issues = issuesOf(`policies: []\n---\ntargets:\n  - name: b\n`);
    assert.deepEqual(issues.map((i) => [i.path, i.line, i.column]), [['/targets', 3, 1]]);
    assert.match(issues[0]!.message, /declared in sluice\.yaml/);
  });
});

function compileError(files: Record<string, string>): PolicyError {
  try {
    compileYaml(files);
  } catch (e) {
    assert.ok(e instanceof PolicyError);
    return e;
  }
  assert.fail('expected a PolicyError');
}

describe('compile: cross-file checks', () => {
  it('reports an unknown target at the reference', () => {
    const error = compileError({
      'a.yaml': 'targets: [{ name: demo-api }]\n',
      'b.yaml':
        'policies:\n  - name: p\n    targets: [demo-api,\n      demo-apx]\n    subjects: [{ users: ["*"] }]\n    rules: [{ name: r, effect: allow }]\n',
    });
    assert.equal(error.code, 'ERR_POLICY_INVALID');
    assert.deepEqual(
      error.issues.map((i) => [i.file, i.line, i.column, i.path]),
      [['b.yaml', 4, 7, '/policies/0/targets/1']],
    );
    assert.match(error.message, /b\.yaml:4:7 /);
  });

  it('knows every target sluice.yaml declares, named by a policy or not', () => {
    const set = compileYaml({ 'a.yaml': VALID_POLICY }, declaredTargets('demo-api', 'unused-api'));
    assert.deepEqual([...set.targets].sort(), ['demo-api', 'unused-api']);
    assert.equal(set.evaluate(request({ target: 'unused-api' })).effect, 'deny');
  });

  it('reports duplicate policy names across files, at the second declaration', () => {
    const error = compileError({ 'a.yaml': `guardrails: []\n---\n${VALID_POLICY}`, 'b.yaml': `\n\n${VALID_POLICY}` });
    assert.equal(error.code, 'ERR_POLICY_INVALID');
    assert.deepEqual(error.issues.map((i) => [i.file, i.line, i.column, i.path]), [['b.yaml', 4, 11, '/policies/0/name']]);
    // The message points at both places.
    assert.match(error.message, /b\.yaml:4:11/);
    assert.match(error.message, /a\.yaml:4:11/);
  });

  it('reports the syntax issues of all files together', () => {
    const error = compileError({ 'a.yaml': 'targets: [\n', 'b.yaml': 'nope: 1\n' });
    assert.deepEqual(error.issues.map((i) => i.file), ['a.yaml', 'b.yaml']);
    assert.match(error.message, /b\.yaml:1:1 \/nope: /);
  });

  it('accepts a bundle with no targets (it denies everything)', () => {
    const set = compileYaml({});
    assert.equal(set.targets.size, 0);
    assert.equal(set.evaluate({ identity: { issuerName: 'dev', issuer: '', subject: 'a', groups: [], claims: {}, expiresAt: 0 }, target: 't', method: 'GET', path: '/', headers: {} }).effect, 'deny');
  });
});
