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

test('the shipped configs load, and their credentials and masking profiles compile', async () => {
  const { loadConfig } = await import('./config.ts');
  const { compileCredentials } = await import('../ext-proc/credentials.ts');
  const { compileMaskingPlans } = await import('../ext-proc/masking-plans.ts');
  const secrets = { get: (name: string) => `value-of-${name}-padded-to-sixteen`, close: async () => {} };
  for (const file of ['deploy/sluice.example.yaml', 'deploy/sluice.dev.yaml']) {
    const config = loadConfig(new URL(`../${file}`, import.meta.url).pathname);
    const credentials = compileCredentials(config.extProc.credentials, secrets);
    assert.ok(credentials.size > 0, file);
    const plans = compileMaskingPlans(config.extProc.masking, secrets);
    assert.ok(plans.profiles.size > 0, file);
  }
});

test('a credential gives exactly one of secret and oauth2', async () => {
  const { compileCredentials } = await import('../ext-proc/credentials.ts');
  const secrets = { get: () => undefined, close: async () => {} };
  const both = parseConfig('extProc:\n  credentials:\n    - { target: a, secret: s, oauth2: { tokenUrl: "https://x/t", clientId: c, clientSecret: cs } }\n', 'x.yaml');
  assert.throws(() => compileCredentials(both.extProc.credentials, secrets), { code: 'ERR_CONFIG_INVALID' });
  const neither = parseConfig('extProc:\n  credentials:\n    - { target: a }\n', 'x.yaml');
  assert.throws(() => compileCredentials(neither.extProc.credentials, secrets), /exactly one of "secret"/);
});
