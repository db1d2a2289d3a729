import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { COMMANDS } from './index.ts';

const CLI = fileURLToPath(new URL('../sluice.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env: { ...process.env, SLUICE_CONFIG: '' } });

test('every command prints its usage for --help and exits 0, without starting anything', () => {
  for (const name of Object.keys(COMMANDS)) {
    const result = run(...name.split(' '), '--help');
    assert.equal(result.status, 0, `${name}: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^usage: sluice ${name}`), name);
  }
});

test('a mistyped option names itself, shows the options and exits 2, with no stack trace', () => {
  for (const name of ['gateway', 'dev', 'ext-authz', 'ext-proc', 'token', 'policy check', 'policy explain', 'envoy render', 'envoy drain']) {
    const result = run(...name.split(' '), '--bogus-option');
    assert.equal(result.status, 2, `${name}: ${result.stderr}`);
    assert.match(result.stderr, /Unknown option '--bogus-option'/, name);
    assert.match(result.stderr, new RegExp(`usage: sluice ${name}`), name);
    assert.doesNotMatch(result.stderr, /\n\s+at /, `${name}: no stack trace`);
  }
});
