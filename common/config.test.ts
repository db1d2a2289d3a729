import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './config.ts';

test('defaults are applied and the result is frozen', () => {
  const config = parseConfig('extAuthz: { port: 9100 }\n', '/etc/sluice/sluice.yaml');
  assert.equal(config.extAuthz.port, 9100);
  assert.equal(config.extAuthz.policyDir, 'policies');
  assert.equal(config.envoy.listenPort, 10000);
  assert.equal(config.dev.enabled, false, 'the dev issuer is off unless enabled');
  assert.equal(config.baseDir, '/etc/sluice');
  assert.ok(Object.isFrozen(config.extAuthz));
});

test('every schema problem is reported at once, with line and column', () => {
  const text = 'extAuthz:\n  port: "nine"\n  bogus: 1\ndev:\n  enabled: maybe\n';
  assert.throws(() => parseConfig(text, 'sluice.yaml'), (err: any) => {
    assert.equal(err.code, 'ERR_CONFIG_INVALID');
    assert.match(err.message, /sluice\.yaml:2:9: \/extAuthz\/port must be integer/);
    assert.match(err.message, /sluice\.yaml:1:1: \/extAuthz must NOT have additional properties "bogus"|sluice\.yaml:2:3: \/extAuthz must NOT have additional properties "bogus"/);
    assert.match(err.message, /sluice\.yaml:5:12: \/dev\/enabled must be boolean/);
    return true;
  });
});

test('YAML syntax errors name the line', () => {
  assert.throws(() => parseConfig('extAuthz: { port: 1\n', 'bad.yaml'), (err: any) => err.code === 'ERR_CONFIG_INVALID' && /bad\.yaml:\d+:\d+/.test(err.message));
});
