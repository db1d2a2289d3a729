import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateEnvoyConfig } from './generate.ts';
import { gatewayInput, httpTarget } from './sample-input.ts';
import { blamedTarget, staticEquivalent, validateGenerated } from './validate.ts';

function makeCa(dir: string): string {
  const ca = path.join(dir, 'ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=sluice test CA',
    '-keyout', path.join(dir, 'ca-key.pem'), '-out', ca], { stdio: 'ignore' });
  return ca;
}

test('envoy --mode validate accepts a generated config with a DNS endpoint, TLS with a CA file and a health check', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-gen-validate-'));
  try {
    const caFile = makeCa(dir);
    const generated = generateEnvoyConfig(gatewayInput([
      httpTarget('plain'),
      httpTarget('by-name', { endpoints: [{ host: 'localhost', port: 8081 }], http: { hosts: ['named.example.com'], pathPrefix: '/' } }),
      httpTarget('secure', { endpoints: [{ host: 'localhost', port: 8443 }], tls: { sni: 'localhost', caFile, subjectAltNames: [] }, lbPolicy: 'least_request' }),
      httpTarget('checked', { healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 }, lbPolicy: 'random' }),
    ], {
      xdsDir: dir,
      services: { extAuthz: [{ host: 'localhost', port: 9001 }], extProc: [{ host: '127.0.0.1', port: 9002 }, { host: '127.0.0.2', port: 9002 }] },
      routing: new Map([['plain', { mayHold: true, inspectsBody: true }]]),
    }));
    assert.doesNotThrow(() => validateGenerated(generated));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the static equivalent inlines the route configuration and has no dynamic resources', () => {
  const generated = generateEnvoyConfig(gatewayInput([httpTarget('a')]));
  const config = staticEquivalent(generated) as any;
  assert.equal(config.dynamic_resources, undefined);
  const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  assert.equal(hcm.rds, undefined);
  assert.equal(hcm.route_config.name, 'sluice_http');
  assert.equal(hcm.route_config['@type'], undefined);
  assert.deepEqual(config.static_resources.clusters.map((c: any) => c.name), ['sluice_ext_authz', 'sluice_ext_proc', 'target_a']);
  assert.ok(config.static_resources.clusters.every((c: any) => c['@type'] === undefined));
});

test('a config Envoy rejects is reported with the target it points at', () => {
  const generated = generateEnvoyConfig(gatewayInput([httpTarget('fine'), httpTarget('broken', { tls: { caFile: '/nonexistent/sluice-ca.pem', subjectAltNames: ['x'] } })]));
  assert.throws(() => validateGenerated(generated), (err: any) => err.code === 'ERR_ENVOY_CONFIG_INVALID' && err.details.target === 'broken');
});

test('blame prefers the longest resource name that appears as a whole word', () => {
  const owners = new Map([['target_a', 'a'], ['target_ab', 'ab'], ['route_a', 'a']]);
  assert.equal(blamedTarget("cluster 'target_ab': bad", owners), 'ab');
  assert.equal(blamedTarget("cluster 'target_a': bad", owners), 'a');
  assert.equal(blamedTarget('nothing to see', owners), undefined);
});

test('a short target name inside a random temp path is not blamed; the target holding the file is', () => {
  // Seen in CI: Envoy's message named the validation temp dir "sluice-envoy-validate-nHFaEv",
  // whose "a" between capitals read as target "a".
  assert.equal(blamedTarget("error initializing configuration '/tmp/sluice-envoy-validate-nHFaEv/envoy.yaml'", new Map([['target_a', 'a']])), undefined);
  const generated = generateEnvoyConfig(gatewayInput([httpTarget('a'), httpTarget('c', { tls: { caFile: '/nonexistent/sluice-xds-e2e-nA0RLr/missing-ca.pem', subjectAltNames: ['c'] } })]));
  assert.throws(() => validateGenerated(generated), (err: any) => err.code === 'ERR_ENVOY_CONFIG_INVALID' && err.details.target === 'c');
});
