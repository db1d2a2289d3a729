import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../config.ts';
import { drainSettings } from './drain.ts';
import { drainFor } from '../../cli/commands/common.ts';
import { UsageError } from '../../cli/commands/usage-error.ts';

test('drain defaults: 5 s delay for both, 35 s for in-flight checks (above the 30 s approval timeout), 30 s for exchanges', () => {
  const config = parseConfig('{}', '/tmp/sluice.yaml');
  assert.deepEqual(drainSettings(config.extAuthz.drain), { delayMs: 5000, timeoutMs: 35000 });
  assert.deepEqual(drainSettings(config.extProc.drain), { delayMs: 5000, timeoutMs: 30000 });
  assert.deepEqual(drainSettings({ delay: '0.25s', timeout: '2s' }), { delayMs: 250, timeoutMs: 2000 });
});

test('a bad drain duration is reported where it is', () => {
  try {
    parseConfig('extAuthz:\n  drain: { delay: 5 }\nextProc:\n  drain: { timeout: 30 }\n', '/tmp/sluice.yaml');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.issues.map((i) => i.path), ['/extAuthz/drain/delay', '/extProc/drain/timeout']);
  }
});

test('--drain-delay overrides the delay only; a malformed one is a usage error', () => {
  assert.deepEqual(drainFor({ delay: '5s', timeout: '35s' }, '0s'), { delayMs: 0, timeoutMs: 35000 });
  assert.deepEqual(drainFor({ delay: '5s', timeout: '35s' }, undefined), { delayMs: 5000, timeoutMs: 35000 });
  assert.throws(() => drainFor({ delay: '5s', timeout: '35s' }, '5'), UsageError);
});
