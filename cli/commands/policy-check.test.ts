import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

const CLI = fileURLToPath(new URL('../sluice.ts', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-policy-check-'));
const config = path.join(dir, 'sluice.yaml');
const policies = path.join(dir, 'policies');

function check(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'policy', 'check', policies, ...args], { encoding: 'utf8', env: { ...process.env, SLUICE_CONFIG: '' } });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe('sluice policy check', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(config, 'targets:\n  - { name: billing, endpoints: ["127.0.0.1:8080"] }\nextProc:\n  masking:\n    profiles:\n      - { name: pii, recognizers: [{ use: email, strategy: redact }] }\n');
  const policy = (target: string, masking: string) =>
    `policies:\n  - name: p\n    targets: [${target}]\n    subjects: [{ users: ["*"] }]\n    rules:\n      - name: r\n        effect: allow\n        masking: ${masking}\n`;
  mkdirSync(policies, { recursive: true });

  test('with --config, a target or masking profile the config lacks fails with file and line; known ones pass', () => {
    writeFileSync(path.join(policies, 't.yaml'), policy('billing', 'pii-strict'));
    const bad = check('--config', config);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /t\.yaml:8:\d+ \/policies\/0\/rules\/0\/masking: unknown masking profile "pii-strict" \(extProc\.masking\.profiles has: pii\)/);
    writeFileSync(path.join(policies, 't.yaml'), policy('billing-api', 'pii'));
    const unknown = check('--config', config);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /t\.yaml:3:\d+ \/policies\/0\/targets\/0: unknown target "billing-api" \(sluice\.yaml targets: billing\)/);
    writeFileSync(path.join(policies, 't.yaml'), policy('billing', 'pii'));
    const good = check('--config', config);
    assert.equal(good.code, 0, good.err);
    assert.match(good.out, /^ok: 1 file\(s\), 1 target\(s\)/);
  });

  test('without a config the names cannot be checked, and it says so', () => {
    writeFileSync(path.join(policies, 't.yaml'), policy('anything-api', 'anything'));
    const run = check();
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /target and masking profile names were not checked/);
  });
});
