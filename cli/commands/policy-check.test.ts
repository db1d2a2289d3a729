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
  writeFileSync(config, 'extProc:\n  masking:\n    profiles:\n      - { name: pii, recognizers: [{ use: email, strategy: redact }] }\n');
  mkdirSync(policies, { recursive: true });

  test('with --config, a masking profile the config lacks fails with file and line; a known one passes', () => {
    writeFileSync(path.join(policies, 't.yaml'), 'targets:\n  - name: billing\n    masking: pii-strict\n');
    const bad = check('--config', config);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /t\.yaml:3:\d+ \/targets\/0\/masking: unknown masking profile "pii-strict" \(extProc\.masking\.profiles has: pii\)/);
    writeFileSync(path.join(policies, 't.yaml'), 'targets:\n  - name: billing\n    masking: pii\n');
    const good = check('--config', config);
    assert.equal(good.code, 0, good.err);
    assert.match(good.out, /^ok: 1 file\(s\), 1 target\(s\)/);
  });

  test('without a config the names cannot be checked, and it says so', () => {
    writeFileSync(path.join(policies, 't.yaml'), 'targets:\n  - name: billing\n    masking: anything\n');
    const run = check();
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /masking profile names were not checked/);
  });
});
