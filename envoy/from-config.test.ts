import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../common/config.ts';
import { serviceEndpoints } from './from-config.ts';

test('services run beside Envoy are reached on their own host:port, a wildcard bind on loopback', () => {
  const config = parseConfig('extAuthz: { host: 0.0.0.0, port: 9101 }\nextProc: { host: 10.0.0.7, port: 9102 }\n', 'sluice.yaml');
  assert.deepEqual(serviceEndpoints(config), { extAuthz: [{ host: '127.0.0.1', port: 9101 }], extProc: [{ host: '10.0.0.7', port: 9102 }] });
});

test('extAuthz.endpoints and extProc.endpoints say where services run apart are reached (Kubernetes Service names)', () => {
  const config = parseConfig([
    'extAuthz: { host: 0.0.0.0, endpoints: ["sluice-ext-authz.sluice.svc.cluster.local:9001"] }',
    'extProc: { host: 0.0.0.0, endpoints: ["ext-proc-a:9002", "[fd00::2]:9002"] }',
  ].join('\n'), 'sluice.yaml');
  assert.deepEqual(serviceEndpoints(config), {
    extAuthz: [{ host: 'sluice-ext-authz.sluice.svc.cluster.local', port: 9001 }],
    extProc: [{ host: 'ext-proc-a', port: 9002 }, { host: 'fd00::2', port: 9002 }],
  });
});

test('an endpoint that is not host:port is a config error naming the field', () => {
  assert.throws(() => parseConfig('extAuthz:\n  endpoints: ["sluice-ext-authz"]\n', 'sluice.yaml'), (err: any) =>
    err.code === 'ERR_CONFIG_INVALID' && err.issues.some((i: any) => i.path === '/extAuthz/endpoints/0' && i.line === 2));
});
